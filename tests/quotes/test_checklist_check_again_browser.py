"""The rep's export page in a real browser when ConnectWise cannot be asked for a moment (a server error, busy,
unreachable): the connection row says so and offers Check again, which asks ConnectWise again in place (no reload);
Export now says it waits for ConnectWise's answer, not that something must be fixed. A refusal an admin must fix
(the API member denied an area) offers no Check again. Export now clicked on a page drawn (all clear) before
ConnectWise went away queues the export at once; the export waits for ConnectWise and finishes by itself."""

from __future__ import annotations

import pytest
from quote_support import line, make_world, wait_until

from helpers import browser_sign_in, runtime, tune_runtime

pytestmark = pytest.mark.browser


def test_check_again_asks_connectwise_again_in_place_once_it_answers(app, connected, box, live_server, page):
    world = make_world(connected, box)
    quote = world.quote([line("OPT-7010")], name="Busy deal")
    browser_sign_in(page, live_server.url, "riley@demo.example")
    connected.add_fault(status=503, method="GET")  # every read ConnectWise gets fails for now

    url = f"{live_server.url}/colcw/documents/{quote.id}/export"
    page.goto(url)
    connection = page.locator("#colcw-check-connection")
    page.locator("#colcw-check-connection.error").wait_for(timeout=20_000)
    assert "ConnectWise cannot be reached right now" in connection.inner_text()
    again = page.locator("#colcw-check-again")
    assert again.is_visible()
    assert page.locator("#colcw-export-submit").is_disabled()
    blocked = page.locator("#colcw-export-blocked").inner_text()
    assert "once ConnectWise answers: check again in a moment" in blocked
    assert "is fixed" not in blocked

    connected.clear_faults()
    again.click()
    page.locator("#colcw-check-connection.ok").wait_for(timeout=20_000)
    assert page.url == url  # asked again in place, not by leaving the page
    assert "Its line can be exported." in page.locator("#colcw-check-lines").inner_text()
    assert page.locator("#colcw-check-again").count() == 0
    assert page.locator("#colcw-export-submit").is_enabled()
    assert world.opportunities() == []


def test_a_refusal_an_admin_must_fix_offers_no_check_again(app, connected, box, live_server, page):
    world = make_world(connected, box)
    quote = world.quote([line("OPT-7010")], name="Denied deal")
    browser_sign_in(page, live_server.url, "riley@demo.example")
    connected.deny(["procurement/catalog"])  # the API member's role lacks the catalog: an admin's fix

    page.goto(f"{live_server.url}/colcw/documents/{quote.id}/export")
    page.locator("#colcw-check-connection.error").wait_for(timeout=20_000)
    assert "denies colcw's API member access" in page.locator("#colcw-check-connection").inner_text()
    assert page.locator("#colcw-check-again").count() == 0
    assert "“ConnectWise connection” is fixed" in page.locator("#colcw-export-blocked").inner_text()


def test_export_now_on_a_page_drawn_before_connectwise_went_away_is_queued_and_finishes_by_itself(
        app, connected, box, live_server, page, monkeypatch, drain_queue):
    tune_runtime(monkeypatch, app, record_retry_intervals=(), retry_intervals=(0.5,))
    world = make_world(connected, box)
    quote = world.quote([line("OPT-7010")], name="Gone deal")
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/colcw/documents/{quote.id}/export")
    page.locator("#colcw-check-lines.ok").wait_for(timeout=20_000)
    submit = page.locator("#colcw-export-submit")
    assert submit.is_enabled()

    connected.clear_requests()
    connected.add_fault(status=503)  # ConnectWise fails every request from now on
    # (The page the click leads to asks ConnectWise its checklist after it: not loaded here, so that what ConnectWise
    # is sent is only what the click itself sends.)
    page.route("**/export/checklist*", lambda route: route.abort())
    submit.click()
    page.wait_for_load_state()
    # The page's clear answer stands for the click (nothing changed in colcw since): the export is queued without
    # asking ConnectWise the same questions again, and it is the export that finds ConnectWise away.
    assert connected.requests() == []
    assert page.locator(".flash.error").count() == 0
    assert page.locator("#colcw-run-body").count() == 1
    assert drain_queue() == 1
    page.unroute("**/export/checklist*")
    page.reload()
    assert "Waiting to try again" in page.locator("#colcw-run-body").inner_text()
    connected.clear_faults()
    assert world.opportunities() == []  # nothing written while ConnectWise failed

    # Once ConnectWise answers, the export's next try exports it: the rep does not click again.
    wait_until(lambda: runtime().queue.release_overdue(grace_seconds=0), timeout=10, message="the next try")
    drain_queue()
    assert [o["name"] for o in world.opportunities()] == ["Gone deal"]
    page.reload()
    assert "Exported." in page.locator("#colcw-outcome").inner_text()
