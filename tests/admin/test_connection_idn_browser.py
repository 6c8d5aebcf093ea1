"""In the browser: the site URL's help states the http rule this server applies beside an http sandbox, and an admin
who types an internationalised site address (http://bücher.example:<port>) saves it, is connected through its
punycode name, and reads on the page which address colcw connects to."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from helpers import browser_sign_in

pytestmark = pytest.mark.browser

BASE = "/admin/integration/connectwise"
IDN, PUNY = "bücher.example", "xn--bcher-kva.example"


def test_an_admin_saves_an_idn_site_and_sees_what_is_used(app, live_server, page, cw_sandbox, box, monkeypatch):
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo",
                        lambda host, *a, **k: real("127.0.0.1" if host == PUNY else host, *a, **k))
    port = urlsplit(cw_sandbox.base_url).port
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(live_server.url + BASE + "/")
    hint = page.locator("#connection-form input[name=site_url] >> xpath=../following-sibling::p[@class='hint'][1]")
    assert "https is required" not in hint.inner_text()
    assert "or http:// with “Allow http” ticked below" in hint.inner_text()

    page.fill("input[name=site_url]", f"http://{IDN}:{port}")
    page.fill("input[name=company_id]", cw_sandbox.company_id)
    page.fill("input[name=public_key]", cw_sandbox.public_key)
    page.fill("input[name=private_key]", cw_sandbox.private_key)
    page.fill("input[name=client_id]", "colcw-browser")
    page.check("input[name=allow_http]")
    page.click("#save-connection")
    assert "ConnectWise accepted it" in page.locator(".flash.success").inner_text()
    used = page.locator("#site-url-used").inner_text()
    assert used == f"Requests go to http://{PUNY}:{port}: {IDN} written in punycode, as ConnectWise's servers are reached."
    assert page.locator("input[name=site_url]").input_value() == f"http://{PUNY}:{port}"
