"""The Scheduled jobs page at a tablet's width (768px, real Chromium): the table fits the window (nothing scrolls
sideways) and each row's Edit, Disable and Delete are on the screen — with long zone names, long job descriptions and
a row's warnings in it. And a timing refused because another schedule runs the job at the same minutes says so at
the timing's fields (under Time and Time zone, which point at it), not atop the form under "Export which customers"."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from colcw_plugin.models import Schedule
from colcw_plugin.sync.jobs.schedules import create_schedule, parse_timing
from helpers import browser_sign_in
from host_stub.extensions import db

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
ADMIN = "admin@demo.example"


def _add(name: str, kind: str, params: dict, timing: dict) -> Schedule:
    return create_schedule(db.session, name=name, kind=kind, params=params, timing=parse_timing(timing), actor=ADMIN)


def test_the_schedules_table_fits_a_768px_window_with_every_action_on_screen(app, live_server, page):
    _add("Nightly import", "customer_import", {"mode": "all"},
         {"frequency": "daily", "time": "02:30", "timezone": "America/New_York"})
    _add("Nightly UTC", "customer_import", {"mode": "all"},  # meets the nightly one in winter: a warning in its row
         {"frequency": "daily", "time": "07:30", "timezone": "UTC"})
    _add("Changes import", "customer_import", {"mode": "changed"},
         {"frequency": "every", "every_minutes": "15", "timezone": "UTC"})
    _add("Month-end quotes", "quote_export", {"mode": "all"},
         {"frequency": "monthly", "day_of_month": "31", "time": "06:00",
          "timezone": "America/Argentina/Buenos_Aires"})
    _add("Weekly quotes", "quote_export", {"mode": "modified", "preset": "last7"},
         {"frequency": "weekly", "weekday": "0", "time": "06:00", "timezone": "America/North_Dakota/New_Salem"})
    db.session.commit()
    browser_sign_in(page, live_server.url, ADMIN)
    page.set_viewport_size({"width": 768, "height": 900})
    page.goto(f"{live_server.url}{JOBS}?tab=schedules")
    assert page.locator(".schedule-sometimes").count() == 1  # (the widest cell's content is there)

    scroll, client = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert scroll <= client, (scroll, client)
    table = page.locator("#schedules table")
    right = page.locator("#schedules").evaluate("el => el.getBoundingClientRect().right")
    assert table.evaluate("el => el.getBoundingClientRect().right") <= right
    for name in ("Nightly import", "Nightly UTC", "Changes import", "Month-end quotes", "Weekly quotes"):
        actions = page.locator(f'tr[data-schedule="{name}"] td.schedule-actions')
        for control in (actions.get_by_role("link", name="Edit"), actions.get_by_role("button", name="Disable"),
                        actions.get_by_role("button", name="Delete")):
            box = control.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= client, (name, box)
    # Delete works from there: its confirmation, then the row is gone.
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator('tr[data-schedule="Weekly quotes"]').get_by_role("button", name="Delete").click()
    page.wait_for_url(re.compile(r".*tab=schedules.*"))
    assert page.locator('tr[data-schedule="Weekly quotes"]').count() == 0
    db.session.expire_all()
    assert "Weekly quotes" not in {s.name for s in db.session.execute(select(Schedule)).scalars()}


def _below(upper, lower) -> float:
    """How far ``lower``'s top is below ``upper``'s bottom (px; negative: it is above)."""
    return lower.bounding_box()["y"] - (upper.bounding_box()["y"] + upper.bounding_box()["height"])


def test_a_timing_that_meets_another_schedule_is_refused_at_the_time_and_zone_fields(app, live_server, page):
    nightly = _add("Nightly import", "customer_import", {"mode": "all"},
                   {"frequency": "daily", "time": "02:30", "timezone": "America/New_York"})
    early = _add("Early import", "customer_import", {"mode": "all"},
                 {"frequency": "daily", "time": "01:00", "timezone": "America/New_York"})
    db.session.commit()
    browser_sign_in(page, live_server.url, ADMIN)
    said = f"Schedule #{nightly.id} “Nightly import” (Daily at 02:30 (America/New_York)) already runs this job"

    # "Schedule this job" with the nightly one's job and timing.
    page.goto(f"{live_server.url}{JOBS}")
    form = page.locator("#customer-job form")
    form.locator("input[name=source][value=connectwise]").check()
    form.locator("input[name=import_scope][value=all]").check()
    form.locator("input[name=schedule]").check()
    form.locator("input[name=schedule_name]").fill("Nightly again")
    form.locator("input[name=time]").fill("02:30")
    form.locator("input[name=timezone]").fill("America/New_York")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    form = page.locator("#customer-job form")
    error = form.locator("#customer-error-schedule_timing")
    assert error.is_visible() and error.inner_text().startswith(said)
    # Not atop the form (it was under "Export which customers", above "Schedule this job"): under the time zone.
    assert form.locator("p.error").count() == 1
    assert form.locator("fieldset:has(input[name=timezone])").locator("#customer-error-schedule_timing").count() == 1
    zone, time = form.locator("input[name=timezone]"), form.locator("input[name=time]")
    assert 0 <= _below(form.locator("div.cols:has(input[name=timezone])"), error) <= 30  # right under the timing's fields
    assert 0 <= _below(zone, error) <= 60, _below(zone, error)
    assert _below(form.locator("input[name=schedule]"), error) > 0
    for field in (zone, time):
        assert field.get_attribute("aria-describedby") == "customer-error-schedule_timing"
        assert field.get_attribute("aria-invalid") == "true"

    # The Edit page alike: the early schedule moved to the nightly one's minute.
    page.goto(f"{live_server.url}{JOBS}/schedules/{early.id}/edit")
    page.locator("#schedule-form input[name=time]").fill("02:30")
    page.locator("#schedule-form button[type=submit]").click()
    page.wait_for_load_state()
    error = page.locator("#schedule-form #error-schedule_timing")
    assert error.is_visible() and error.inner_text().startswith(said)
    assert page.locator("#schedule-form p.error").count() == 1
    assert 0 <= _below(page.locator("#schedule-form div.cols:has(input[name=timezone])"), error) <= 30
    assert page.locator("#schedule-form input[name=time]").get_attribute("aria-describedby") == "error-schedule_timing"
    db.session.expire_all()
    assert [(s.name, s.time_of_day) for s in db.session.execute(select(Schedule).order_by(Schedule.id)).scalars()] \
        == [("Nightly import", "02:30"), ("Early import", "01:00")]
