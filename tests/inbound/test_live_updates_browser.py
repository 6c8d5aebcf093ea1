"""A rep watching a quote sees "Won in ConnectWise" appear when a sales manager sets the opportunity Won
in ConnectWise, without reloading the page."""

from __future__ import annotations

import pytest
from inbound_support import enable, line, make_world, settle

from colcw_plugin.models import HOST_MASTER
from helpers import browser_sign_in

pytestmark = pytest.mark.browser


def test_the_quote_page_shows_won_in_connectwise_without_a_reload(app, connected, box, live_server, page,
                                                                 worker_thread):
    connected.set_callback_settings(retry_delays=[0.2, 0.4])
    world = make_world(connected, box)
    quote = world.quote([line("OPT-7010", qty=2)], name="Watched deal")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    enable(live_server.url, HOST_MASTER)
    settle(connected)

    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/documents/{quote.id}")
    page.locator("#colcw-export-state").wait_for()  # the panel has loaded (after the page)
    assert page.locator("#colcw-cw-status").count() == 0
    page.evaluate("window.__colcwNoReload = true")  # gone if the page reloads

    connected.set_opportunity_status(opp["id"], "Won", member="admin1")
    status = page.locator("#colcw-cw-status")
    status.wait_for(timeout=15_000)
    assert status.inner_text().startswith("Won in ConnectWise on ")
    assert "by Sandbox Admin" in status.inner_text()
    assert page.evaluate("window.__colcwNoReload") is True
    assert page.locator("#colcw-unlock").is_visible()  # the refreshed panel still works
