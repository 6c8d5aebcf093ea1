"""In a real browser: "Schedule this job" with a copy of an existing schedule comes back with the form as it was
typed ("Schedule this job" still ticked, the schedule's fields shown) and the refusal, naming the schedule it copies,
visible under its Time and Time zone fields; a zone such as EST comes back refused beside the zone's field, naming the
city zone."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from colcw_plugin.models import Schedule
from helpers import browser_sign_in
from host_stub.extensions import db

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"


def _schedule(page, url: str, name: str, zone: str) -> None:
    page.goto(url)
    form = page.locator("#customer-job form")
    form.locator("input[name=source][value=connectwise]").check()
    form.locator("input[name=import_scope][value=all]").check()
    form.locator("input[name=schedule]").check()
    form.locator("input[name=schedule_name]").fill(name)
    form.locator("input[name=time]").fill("02:30")
    form.locator("input[name=timezone]").fill(zone)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def test_a_copy_and_a_legacy_zone_come_back_refused_with_the_form_as_typed(app, live_server, page):
    browser_sign_in(page, live_server.url, "admin@demo.example")
    _schedule(page, f"{live_server.url}{JOBS}", "Nightly import", "America/New_York")
    page.wait_for_url(re.compile(r".*tab=schedules.*"))
    [nightly] = db.session.execute(select(Schedule)).scalars().all()

    _schedule(page, f"{live_server.url}{JOBS}", "Nightly import again", "America/New_York")
    form = page.locator("#customer-job form")
    said = form.locator("p.error").first
    assert said.is_visible()
    assert said.inner_text().startswith(f"Schedule #{nightly.id} “Nightly import” (Daily at 02:30 (America/New_York)) "
                                        "already runs this job with the same settings at the same times")
    assert form.locator("input[name=schedule]").is_checked()
    assert form.locator("input[name=schedule_name]").is_visible()
    assert form.locator("input[name=schedule_name]").input_value() == "Nightly import again"

    _schedule(page, f"{live_server.url}{JOBS}", "Eastern import", "EST")
    error = page.locator("#customer-job form #error-timezone")
    assert error.is_visible()
    assert error.inner_text() == "EST has no daylight saving: choose America/New_York (Eastern Time) or another city zone."
    db.session.expire_all()
    assert [s.name for s in db.session.execute(select(Schedule)).scalars()] == ["Nightly import"]
