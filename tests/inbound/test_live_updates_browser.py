"""A rep watching a quote sees "Won in ConnectWise" appear when a sales manager sets the opportunity Won
in ConnectWise, without reloading the page."""

from __future__ import annotations

import pytest
from inbound_support import watched_quote

pytestmark = pytest.mark.browser


def test_the_quote_page_shows_won_in_connectwise_without_a_reload(app, connected, box, live_server, page,
                                                                 worker_thread):
    world, quote, opp = watched_quote(connected, box, live_server.url, page, "Watched deal")
    assert page.locator("#colcw-cw-status").count() == 0
    page.evaluate("window.__colcwNoReload = true")  # gone if the page reloads

    connected.set_opportunity_status(opp["id"], "Won", member="admin1")
    status = page.locator("#colcw-cw-status")
    status.wait_for(timeout=15_000)
    assert status.inner_text().startswith("Won in ConnectWise on ")
    assert "by Sandbox Admin" in status.inner_text()
    assert page.evaluate("window.__colcwNoReload") is True
    assert page.locator("#colcw-unlock").is_visible()  # the refreshed panel still works
