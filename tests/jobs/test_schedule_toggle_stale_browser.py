"""Disable and Enable on Scheduled jobs from two tabs (two pages of one admin in a real browser, a second admin's
page alike): each button posts the state it asks for, so the tab still showing Disable after the other tab disabled
the schedule leaves it disabled and says it already is (who disabled it, and when) — it used to flip it back on. The
state is read from the database as committed, so it holds whichever web process serves each click."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from colcw_plugin.models import ConfigChange, Schedule
from colcw_plugin.sync.jobs.schedules import create_schedule, parse_timing
from helpers import LiveServer, browser_sign_in, csrf_from, http_sign_in, post_at_once
from host_stub.extensions import db

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
ADMIN = "admin@demo.example"


def _state() -> tuple[bool, bool]:
    """(enabled, has a next run) of the one schedule, as the database holds it."""
    db.session.expire_all()
    [s] = db.session.execute(select(Schedule)).scalars().all()
    return s.enabled, s.next_run_at is not None


def _toggles() -> list[str]:
    db.session.expire_all()
    return [c.summary.split(" ", 1)[0] for c in db.session.execute(
        select(ConfigChange).where(ConfigChange.area == "schedules").order_by(ConfigChange.id)).scalars()]


def _click(tab, label: str) -> str:
    tab.locator('tr[data-schedule="Nightly import"]').get_by_role("button", name=label).click()
    tab.wait_for_url(re.compile(r".*tab=schedules.*"))
    return tab.locator(".flash").first.inner_text()


def test_a_stale_tab_does_not_undo_the_other_tabs_click(app, live_server, page):
    create_schedule(db.session, name="Nightly import", kind="customer_import", params={"mode": "all"},
                    timing=parse_timing({"frequency": "daily", "time": "02:30", "timezone": "UTC"}), actor=ADMIN)
    db.session.commit()
    browser_sign_in(page, live_server.url, ADMIN)
    first, second = page, page.context.new_page()
    for tab in (first, second):
        tab.goto(f"{live_server.url}{JOBS}?tab=schedules")

    assert _click(first, "Disable") == "Schedule “Nightly import” disabled."
    assert _state() == (False, False)
    # The second tab still shows Disable: its click leaves the schedule disabled, and says so.
    said = _click(second, "Disable")
    assert said.startswith(f"Schedule “Nightly import” is already disabled (by Alex Admin <{ADMIN}> at "), said
    assert said.endswith("). Nothing was changed."), said
    assert _state() == (False, False)
    assert second.locator('tr[data-schedule="Nightly import"]').get_by_role("button", name="Enable").is_visible()

    # Enabled in the second tab; the first, still showing Enable, is told it already is.
    assert _click(second, "Enable").startswith("Schedule “Nightly import” enabled; next run ")
    assert _state() == (True, True)
    said = _click(first, "Enable")
    assert said.startswith(f"Schedule “Nightly import” is already enabled (by Alex Admin <{ADMIN}> at "), said
    assert "; next run " in said and said.endswith("Nothing was changed.")
    assert _state() == (True, True)
    assert _toggles() == ["Added", "Disabled", "Enabled"]  # the stale clicks changed nothing, and recorded nothing


def test_a_post_without_the_state_it_asks_for_changes_nothing(admin_client, app):
    """A page from before the button said which state it asks for (or a hand-made request) changes nothing."""
    s = create_schedule(db.session, name="Nightly import", kind="customer_import", params={"mode": "all"},
                        timing=parse_timing({"frequency": "daily", "time": "02:30", "timezone": "UTC"}), actor=ADMIN)
    db.session.commit()
    token = csrf_from(admin_client.get(f"{JOBS}?tab=schedules").get_data(as_text=True))
    resp = admin_client.post(f"{JOBS}/schedules/{s.id}/toggle", data={"csrf_token": token}, follow_redirects=True)
    assert "Nothing was changed: that page did not say whether to enable or disable the schedule." in \
        resp.get_data(as_text=True)
    assert _state() == (True, True)


def test_disable_clicked_in_many_places_at_once_disables_once(app):
    """Eight Disable clicks at once (real HTTP, a threaded server: as from several web processes, each deciding on
    the database's committed state, held while it decides): one disables, the others are told it already is."""
    s = create_schedule(db.session, name="Nightly import", kind="customer_import", params={"mode": "all"},
                        timing=parse_timing({"frequency": "daily", "time": "02:30", "timezone": "UTC"}), actor=ADMIN)
    db.session.commit()
    server = LiveServer(app)
    try:
        cookies, token = http_sign_in(server.url, f"{JOBS}?tab=schedules", ADMIN)
        answers = post_at_once(8, f"{server.url}{JOBS}/schedules/{s.id}/toggle", cookies,
                               {"csrf_token": token, "enabled": "0"})
    finally:
        server.stop()
    assert [a.status_code for a in answers] == [200] * 8
    assert sum("Schedule “Nightly import” disabled." in a.text for a in answers) == 1
    assert sum("is already disabled" in a.text for a in answers) == 7
    assert _state() == (False, False)
    assert _toggles() == ["Added", "Disabled"]
