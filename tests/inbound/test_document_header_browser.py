"""The document page's header follows its ConnectWise panel without a reload (F7b/c): the host draws the header
(Edit, the Locked badge, the ConnectWise status row), colcw's panel refreshes itself; when the panel says the
document is now locked, or Won, Lost or reopened in ConnectWise, the header says so too."""

from __future__ import annotations

import re

import pytest
from inbound_support import line, make_world, watched_quote

from helpers import browser_sign_in

pytestmark = pytest.mark.browser


def _header(page) -> dict:
    row = page.locator("#external-status-connectwise")
    return {"locked": page.locator("h1 #locked-badge").count() == 1,
            "edit": page.locator("h1 + .toolbar a", has_text="Edit").count() == 1,
            "status": row.get_attribute("data-status") if row.count() else None,
            "text": row.inner_text() if row.count() else ""}


def test_after_converting_the_sales_orders_header_shows_it_locked_and_won_without_a_reload(
        app, connected, box, live_server, page, worker_thread):
    world = make_world(connected, box)
    quote = world.quote([line("OPT-7010", qty=2)], name="Converted deal")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/documents/{quote.id}")
    connected.add_fault(latency_ms=1500, path="apis/3.0/")  # the order's export ends after its page is shown
    page.click("#convert")
    page.wait_for_url(re.compile(r".*/documents/\d+$"))
    assert "Sales order" in page.locator("h1").inner_text()
    assert _header(page)["edit"] and not _header(page)["locked"]  # as the host drew it: not exported yet
    page.evaluate("window.__colcwNoReload = true")  # gone if the page reloads
    # The order's export (queued by the conversion) locks it and sets the opportunity Won; the panel follows ...
    page.locator("#colcw-export-note", has_text="set to Won").wait_for(timeout=20_000)
    # ... and so does the header the host drew before that.
    page.locator("h1 #locked-badge").wait_for(timeout=10_000)
    header = _header(page)
    assert header["locked"] and not header["edit"], header
    assert "Unlock" in page.locator("#colcw-document-panel").inner_text()
    assert page.evaluate("window.__colcwNoReload") is True
    assert world.status_of(opp["id"])["wonFlag"]


def test_a_reopened_opportunity_leaves_the_header_without_lost_without_a_reload(
        app, connected, box, live_server, page, worker_thread):
    world, _, opp = watched_quote(connected, box, live_server.url, page, "Reopened deal")
    page.evaluate("window.__colcwNoReload = true")

    connected.set_opportunity_status(opp["id"], "Lost", member="admin1")
    page.locator("#colcw-cw-status[data-status=lost]").wait_for(timeout=15_000)
    page.locator("#external-status-connectwise[data-status=lost]").wait_for(timeout=10_000)
    assert "by Sandbox Admin" in _header(page)["text"]

    connected.set_opportunity_status(opp["id"], "Open", member="admin1")
    page.locator("#colcw-cw-status").wait_for(state="detached", timeout=15_000)  # the panel drops "Lost"
    page.locator("#external-status-connectwise[data-status=lost]").wait_for(state="detached", timeout=10_000)
    assert "Lost" not in page.locator("dl.details").inner_text()
    assert page.evaluate("window.__colcwNoReload") is True
    assert not world.status_of(opp["id"])["lostFlag"]
