"""The Live updates public URL is refused unless ConnectWise can call it: http(s), a valid host name (letters, digits,
hyphens, dots; no empty label) or IP address, a port from 1 to 65535 if given, no spaces or markup. Such URLs were
saved, Live updates switched on and callbacks registered in ConnectWise with them, with only a warning that this
server could not reach it itself (InvalidURL). One rule for the Connection page and ``colcw live-updates``."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from colcw_plugin.errors import FieldErrors
from colcw_plugin.models import CallbackRegistration
from colcw_plugin.setup.live_updates import normalize_base_url, read_live
from helpers import csrf_from, sign_in
from host_stub.extensions import db

BAD = ["http://<b>x</b>", "http://a b.example:99999", "http://exa_mple..com:99999", "http://quotes.example.com:0",
       "http://quotes.example.com:65536", "https://quotes.example.com:8x", "http://-quotes.example.com",
       "https://quotes.example.com/a b", "https://quotes.example.com/<script>", "http://999.1.1.1", "http://[::1",
       "https://quotes.example.com.", "http://\tquotes.example.com"]
REFUSED = "Enter the address ConnectWise reaches this server at"


def _nothing_registered(sandbox) -> None:
    db.session.rollback()
    assert not read_live(db.session).enabled and read_live(db.session).public_base_url == ""
    assert db.session.execute(select(CallbackRegistration)).first() is None
    assert sandbox.api("GET", "system/callbacks", params={"pageSize": 1000}).json() == []


@pytest.mark.parametrize("url", BAD)
def test_the_rule_refuses_an_address_connectwise_cannot_call(url):
    with pytest.raises(FieldErrors) as refused:
        normalize_base_url(url)
    assert refused.value.errors["public_base_url"].startswith(REFUSED)


@pytest.mark.parametrize("url", ["https://quotes.example.com", "http://127.0.0.1:5000", "https://[2001:db8::1]:8443/x",
                                 "http://localhost:65535", "https://my-host.example.co.uk/colcw", "https://10.0.0.1:1"])
def test_addresses_connectwise_can_call_are_still_accepted(url):
    assert normalize_base_url(url + "/") == url


@pytest.mark.parametrize("url", ["http://<b>x</b>", "http://exa_mple..com:99999"])
def test_the_connection_page_refuses_it_and_registers_nothing(app, connected, url):
    client = sign_in(app.test_client(), "admin@demo.example")
    page = client.get("/admin/integration/connectwise/").get_data(as_text=True)
    resp = client.post("/admin/integration/connectwise/live-updates", data={
        "csrf_token": csrf_from(page), "public_base_url": url, "customer_master": "host", "live_enabled": "on"})
    text = html.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 400 and REFUSED in text
    assert "Live updates are on" not in text
    _nothing_registered(connected)


@pytest.mark.parametrize("url", ["http://a b.example:99999", "http://exa_mple..com:99999"])
def test_colcw_live_updates_refuses_it_and_registers_nothing(app, connected, url):
    result = app.test_cli_runner().invoke(args=["colcw", "live-updates", "--on", "--public-url", url])
    assert result.exit_code == 2, result.output
    assert "--public-url" in result.output and REFUSED in result.output
    assert "Live updates are on" not in result.output
    _nothing_registered(connected)
