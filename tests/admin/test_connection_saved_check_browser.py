"""In the browser: an admin setting up the connection for the first time types a wrong private key and saves; the
Connection card says ConnectWise refused it (and the New opportunities section does not repeat the error). They type
the right key and save: the card says it is connected. Then Test Connection of the saved connection, once ConnectWise
took a permission away, updates the card in place."""

from __future__ import annotations

import pytest

from helpers import browser_sign_in

pytestmark = pytest.mark.browser

BASE = "/admin/integration/connectwise"


def _type_connection(page, sandbox, private_key: str) -> None:
    page.fill("input[name=site_url]", sandbox.base_url)
    page.fill("input[name=company_id]", sandbox.company_id)
    page.fill("input[name=public_key]", sandbox.public_key)
    page.fill("input[name=private_key]", private_key)
    page.fill("input[name=client_id]", "colcw-browser")
    page.check("input[name=allow_http]")


def test_an_admin_saves_a_wrong_key_sees_the_refusal_then_saves_the_right_one_and_sees_connected(
        app, live_server, page, cw_sandbox, box):
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(live_server.url + BASE + "/")
    assert page.locator("#not-configured").is_visible()

    _type_connection(page, cw_sandbox, "not-the-key")
    page.click("#save-connection")
    card = page.locator("#connection #connection-state")
    assert card.inner_text().startswith("Saved, but ConnectWise refused the API keys")
    assert "Check the API member's public and private keys" in card.inner_text()
    assert "Connection saved, but ConnectWise refused the API keys" in page.locator(".flash.warning").inner_text()
    assert page.locator(".flash.success").count() == 0
    unavailable = page.locator("#new-opportunities-unavailable")  # loaded after the page
    unavailable.wait_for()
    assert unavailable.inner_text() == "ConnectWise's lists will appear once the connection works."
    assert "not-the-key" not in page.content()

    page.fill("input[name=private_key]", cw_sandbox.private_key)
    page.click("#save-connection")
    card = page.locator("#connection #connection-state")
    assert card.inner_text().startswith(f"Connected to {cw_sandbox.base_url} as company sandbox (checked ")
    assert card.inner_text().endswith(" UTC).")
    assert "ConnectWise accepted it" in page.locator(".flash.success").inner_text()
    page.locator("#new-opportunities-form select[name=type_id] option", has_text="Renewal").wait_for(state="attached")
    assert page.locator("#new-opportunities-unavailable").count() == 0

    # ConnectWise takes a permission away; Test Connection of the saved connection says so on the card at once.
    cw_sandbox.deny(["procurement/manufacturers"])
    page.click("#test-connection")
    page.locator("#test-result li.failed").first.wait_for()
    refused = page.locator("#connection-state[data-state=failed]")
    refused.wait_for()
    assert "ConnectWise denied access to procurement/manufacturers" in refused.inner_text()
    assert page.locator("#connection-state").count() == 1
