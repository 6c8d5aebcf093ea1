"""The rep's export page in a real browser while ConnectWise does not answer: the page shows at once with colcw's
own checks, its ConnectWise part saying it is checking (Export now disabled), then what came of it — here that
ConnectWise cannot be reached — without a reload and within the checklist's own wait, not ConnectWise's 30 s."""

from __future__ import annotations

import time

import pytest
from quote_support import line, make_world

from helpers import browser_sign_in

pytestmark = pytest.mark.browser
# ConnectWise's delay on every read in the second test: the page's own load, on a machine busy with other tests,
# must come in well under it for the test to say whether the page waited for ConnectWise (it had 1.5 s).
SLOW = 3.0


def test_the_export_page_shows_before_connectwise_answers_then_says_it_cannot_be_reached(
        app, connected, box, live_server, page):
    world = make_world(connected, box)
    quote = world.quote([line("OPT-7010"), line("LAT-5440")], name="Hanging deal")
    browser_sign_in(page, live_server.url, "riley@demo.example")
    connected.add_fault(status="hang", seconds=25, method="GET")  # every read ConnectWise gets hangs

    asked = time.monotonic()
    page.goto(f"{live_server.url}/colcw/documents/{quote.id}/export", timeout=5_000)
    shown = time.monotonic() - asked
    assert shown < 3, f"the page took {shown:.1f} s"
    connection = page.locator("#colcw-check-connection")
    assert "Checking with ConnectWise…" in connection.inner_text()
    assert "✓" not in page.locator("#colcw-check-lines").inner_text()
    assert "Customer Acme Dental in ConnectWise" in page.locator("#colcw-preflight").inner_text()  # colcw's own
    assert page.locator("#colcw-export-submit").is_disabled()
    assert "once ConnectWise has answered" in page.locator("#colcw-export-blocked").inner_text()

    page.locator("#colcw-check-connection.error").wait_for(timeout=20_000)
    assert time.monotonic() - asked < 15
    assert "ConnectWise cannot be reached right now: try again later." in connection.inner_text()
    assert "Not checked" in page.locator("#colcw-check-lines").inner_text()
    assert page.locator("#colcw-export-submit").is_disabled()
    connected.clear_faults()
    assert world.opportunities() == []


def test_a_slow_connectwise_is_shown_checking_then_its_answers_replace_it(app, connected, box, live_server, page):
    world = make_world(connected, box)
    quote = world.quote([line("OPT-7010"), line("LAT-5440")], name="Answered deal")
    browser_sign_in(page, live_server.url, "riley@demo.example")
    connected.add_fault(latency_ms=int(SLOW * 1000), method="GET")  # ConnectWise answers, slowly

    asked = time.monotonic()
    page.goto(f"{live_server.url}/colcw/documents/{quote.id}/export")
    assert time.monotonic() - asked < SLOW  # shown before ConnectWise could have answered
    assert "Checking with ConnectWise…" in page.locator("#colcw-check-connection").inner_text()
    page.locator("#colcw-check-lines.ok").wait_for(timeout=20_000)
    assert "Each of its 2 lines can be exported." in page.locator("#colcw-check-lines").inner_text()
    assert "✓" in page.locator("#colcw-check-connection").inner_text()
    assert "Creates a new opportunity “Answered deal”" in page.locator("#colcw-check-opportunity").inner_text()
    assert page.locator("#colcw-export-submit").is_enabled()
    assert page.locator("#colcw-export-blocked").count() == 0
