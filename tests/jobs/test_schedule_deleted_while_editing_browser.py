"""A schedule deleted while its Edit page is open in another tab (real Chromium, two tabs): Save says the schedule was
deleted, by whom and when, that nothing was saved, and links back to Scheduled jobs — not a bare "Not Found". Nothing
comes back: the schedule stays deleted. Disable or Delete clicked on a page still listing it say so too."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from colcw_plugin.models import Schedule
from colcw_plugin.sync.jobs.schedules import create_schedule, parse_timing
from helpers import browser_sign_in
from host_stub.extensions import db

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
ADMIN = "admin@demo.example"


def _count() -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(Schedule)).scalar_one()


def test_saving_a_schedule_deleted_in_another_tab_says_so_and_links_back(app, live_server, page):
    s = create_schedule(db.session, name="Nightly import", kind="customer_import", params={"mode": "all"},
                        timing=parse_timing({"frequency": "daily", "time": "02:30", "timezone": "UTC"}), actor=ADMIN)
    db.session.commit()
    browser_sign_in(page, live_server.url, ADMIN)
    editing, listing = page, page.context.new_page()
    editing.goto(f"{live_server.url}{JOBS}/schedules/{s.id}/edit")
    listing.goto(f"{live_server.url}{JOBS}?tab=schedules")

    listing.once("dialog", lambda dialog: dialog.accept())
    listing.locator('tr[data-schedule="Nightly import"]').get_by_role("button", name="Delete").click()
    listing.wait_for_url(re.compile(r".*tab=schedules.*"))
    assert _count() == 0

    editing.locator("#schedule-form input[name=time]").fill("04:00")
    editing.locator("#schedule-form button[type=submit]").click()
    editing.wait_for_load_state()
    said = editing.locator("#schedule-gone")
    assert said.is_visible()
    text = said.inner_text()
    assert re.fullmatch(rf"This schedule was deleted \(by Alex Admin <{ADMIN}> at \d{{4}}-\d\d-\d\d \d\d:\d\d UTC\); "
                        r"nothing was saved\.", text), text
    assert "Not Found" not in editing.content()
    assert _count() == 0  # the save made no schedule of it again

    editing.locator("#back-to-schedules").click()
    editing.wait_for_url(re.compile(r".*/jobs\?tab=schedules$"))
    assert editing.locator("#schedules").inner_text().find("No scheduled jobs yet") >= 0


def test_disable_or_delete_on_a_page_still_listing_a_deleted_schedule_say_it_was_deleted(app, live_server, page):
    s = create_schedule(db.session, name="Nightly import", kind="customer_import", params={"mode": "all"},
                        timing=parse_timing({"frequency": "daily", "time": "02:30", "timezone": "UTC"}), actor=ADMIN)
    db.session.commit()
    schedule_id = s.id
    browser_sign_in(page, live_server.url, ADMIN)
    stale, other = page, page.context.new_page()
    for tab in (stale, other):
        tab.goto(f"{live_server.url}{JOBS}?tab=schedules")
    other.once("dialog", lambda dialog: dialog.accept())
    other.locator('tr[data-schedule="Nightly import"]').get_by_role("button", name="Delete").click()
    other.wait_for_url(re.compile(r".*tab=schedules.*"))

    stale.locator('tr[data-schedule="Nightly import"]').get_by_role("button", name="Disable").click()
    stale.wait_for_url(re.compile(r".*tab=schedules.*"))
    said = stale.locator(".flash").first.inner_text()
    assert said.startswith(f"Schedule #{schedule_id} “Nightly import” was deleted (by Alex Admin <{ADMIN}> at "), said
    assert said.endswith("); nothing was changed."), said
    assert _count() == 0
