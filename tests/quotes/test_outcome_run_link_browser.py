"""The export page's outcome names its run ("Run #N: …") as a link to the run's log for whoever may open that run (the
rep who clicked Export now, an admin: views/support.may_open_run, as every page that links a run decides); another rep
shown the same outcome gets the run's number without a link (the log would answer 404)."""

from __future__ import annotations

import re

import pytest
from quote_support import line

from helpers import browser_sign_in, close_context

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]


def test_the_rep_clicks_the_run_of_the_outcome_and_lands_on_its_log(world, live_server, page, browser, worker_thread):
    doc = world.quote([line("OPT-7010", qty=3, price=919)], name="Linked run deal")
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/colcw/documents/{doc.id}/export")
    page.locator("#colcw-export-submit:not([disabled])").wait_for(timeout=20_000)
    page.click("#colcw-export-submit")
    page.wait_for_url(re.compile(r".*/export\?run=\d+$"))
    run_id = int(page.url.rsplit("run=", 1)[1])
    page.locator("#colcw-outcome[data-action=created]").wait_for(timeout=20_000)
    [opp] = world.opportunities()

    link = page.locator("#colcw-outcome-run")
    assert link.inner_text() == f"Run #{run_id}"
    link.click()
    page.wait_for_url(re.compile(rf".*/colcw/runs/{run_id}$"))
    assert page.locator("h1").inner_text().startswith(f"Run #{run_id}")
    log = page.locator("main").inner_text()
    assert doc.number in log and f"opportunity {opp['id']}" in log.lower(), log  # its status log: what the run did

    # Another rep opening the same outcome: the run is named, not linked (its log is not theirs to open).
    other = browser.new_context().new_page()
    try:
        browser_sign_in(other, live_server.url, "sam@demo.example")
        other.goto(f"{live_server.url}/colcw/documents/{doc.id}/export?run={run_id}")
        other.locator("#colcw-outcome").wait_for(timeout=20_000)
        assert other.locator("#colcw-outcome-run").count() == 0
        assert f"Run #{run_id}:" in other.locator("main").inner_text()
    finally:
        close_context(other.context)
