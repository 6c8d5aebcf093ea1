"""In the browser: an admin's Test Connection against a ConnectWise whose clock is ten minutes behind the server's
still connects, and its clock step says how far apart the two clocks are, that colcw compares by ConnectWise's clock,
and to set this server's from a time server if it is the wrong one."""

from __future__ import annotations

import pytest

from helpers import browser_sign_in

pytestmark = pytest.mark.browser

BASE = "/admin/integration/connectwise"


def test_test_connection_says_connectwises_clock_is_ten_minutes_behind(app, live_server, page, connected):
    connected.set_options(clock_offset_seconds=-600.5)
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(live_server.url + BASE + "/")
    page.click("#test-connection")
    summary = page.locator("#test-result #test-summary")
    summary.wait_for()
    assert summary.inner_text().startswith("Connected."), summary.inner_text()
    step = page.locator("#test-result li", has_text="Compare clocks")
    text = step.inner_text()
    assert step.get_attribute("class") == "ok", text
    assert text.startswith("✓ Compare clocks: ConnectWise's clock is 10 min behind this server's."), text
    assert "so no change is missed" in text and "set it from a time server (NTP)" in text, text
