"""An admin schedules a daily customer import, runs a quote job now, watches the progress bar reach
100 % without a reload, and opens the run's log."""

from __future__ import annotations

import re

import pytest
from quotes.quote_support import line, make_world
from sqlalchemy import select

from colcw_plugin.models import Schedule
from helpers import browser_sign_in
from host_stub.extensions import db

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.postgres]


def test_admin_schedules_an_import_runs_a_quote_export_and_follows_it_to_its_log(
        request, connected, box, redis_conn, live_server, page):
    world = make_world(connected, box)
    doc = world.quote([line("OPT-7010", qty=3), line("LAT-5440")], name="Browser export")
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.click("text=Admin")
    page.click("#integration-menu >> text=ConnectWise Synchronization Jobs")
    assert page.locator("h1").inner_text().startswith("Synchronization Jobs")

    # Schedule a daily customer import.
    form = page.locator("#customer-job form")
    form.locator("input[name=source][value=connectwise]").check()
    form.locator("input[name=import_scope][value=all]").check()
    form.locator("input[name=schedule]").check()
    form.locator("input[name=schedule_name]").fill("Nightly import")
    form.locator("input[name=time]").fill("02:30")
    form.locator("input[name=timezone]").fill("America/New_York")
    form.locator("select[name=frequency]").select_option("daily")
    assert form.locator("button[type=submit]").inner_text() == "Save schedule"
    form.locator("button[type=submit]").click()
    row = page.locator('#schedules tr[data-schedule="Nightly import"]')
    assert "Daily at 02:30 (America/New_York)" in row.inner_text()
    schedule = db.session.execute(select(Schedule)).scalar_one()
    assert (schedule.kind, schedule.params, schedule.enabled) == ("customer_import", {"mode": "all"}, True)

    # Run a quote export now: the run page shows it queued (no worker yet) ...
    page.click("#tab-run")
    quote = page.locator("#quote-job form")
    quote.locator("input[name=quote_scope][value=one]").check()
    quote.locator("input[name=document_number]").fill(doc.number)
    quote.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/jobs/runs/\d+$"))
    assert page.locator(".colcw-progress-status").inner_text() == "Queued"
    page.evaluate("window.__sameDocument = true")

    # ... then a worker picks it up and the bar follows it to 100 % without a reload.
    request.getfixturevalue("worker_thread")
    page.wait_for_function("document.querySelector('.colcw-progress progress').value === 100 "
                           "&& window.__sameDocument === true", timeout=30_000)
    # (A running copy of the bar can be full already: the run's end is the copy that polls no more.)
    page.locator(".colcw-progress[data-final=true]").wait_for(timeout=10_000)
    assert page.locator(".colcw-progress-status").inner_text() == "Succeeded"
    assert "created" in page.locator(".colcw-progress-message").inner_text()

    # The finished run's details and log fetch themselves again: counts and records, still no reload.
    page.wait_for_function("document.querySelector('#run-log tbody tr.item-created') !== null", timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True
    assert "none yet" not in page.locator("#run-details").inner_text()

    # The log: from the history (a tab of its own, linkable) to the run's per-record results.
    page.goto(f"{live_server.url}/admin/integration/connectwise/jobs?tab=history")
    assert page.locator("#tab-history").get_attribute("aria-current") == "page"
    page.locator("#history tbody tr").first.locator("a").click()
    page.wait_for_url(re.compile(r".*/jobs/runs/\d+$"))
    log = page.locator("#run-log tbody")
    assert doc.number in log.inner_text()
    assert page.locator("#run-log tbody tr.item-created").count() >= 1
    assert world.opportunities()[0]["name"] == "Browser export"
