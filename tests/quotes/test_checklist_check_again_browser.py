"""The rep's export page in a real browser when ConnectWise cannot be asked for a moment (a server error, busy,
unreachable): the connection row says so and offers Check again, which asks ConnectWise again in place (no reload);
Export now says it waits for ConnectWise's answer, not that something must be fixed. A refusal an admin must fix
(the API member denied an area) offers no Check again. Export now clicked on a page drawn before ConnectWise went
away sends nothing and says why in those terms."""

from __future__ import annotations

import pytest
from quote_support import line, make_world

from helpers import browser_sign_in

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


def test_export_now_on_a_page_drawn_before_connectwise_went_away_sends_nothing(app, connected, box, live_server,
                                                                                page):
    world = make_world(connected, box)
    quote = world.quote([line("OPT-7010")], name="Gone deal")
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/colcw/documents/{quote.id}/export")
    page.locator("#colcw-check-lines.ok").wait_for(timeout=20_000)
    submit = page.locator("#colcw-export-submit")
    assert submit.is_enabled()

    connected.add_fault(status=503)  # ConnectWise fails every request from now on
    submit.click()
    page.wait_for_load_state()
    flashed = page.locator(".flash.error").inner_text()
    assert "Not exported: ConnectWise cannot be reached right now, so nothing was checked or sent to it." in flashed
    assert "must be fixed first" not in flashed
    connected.clear_faults()
    assert world.opportunities() == []
