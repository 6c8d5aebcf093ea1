"""Admin → Integration → ConnectWise: a site URL with an internationalised host name (``https://bücher.example``)
was refused as "not a web address". It is accepted, used for requests in punycode (the ``idna`` codec), stored so,
and the page says what colcw connects to; a host name that is not one is still refused."""

from __future__ import annotations

import html as html_lib
import socket
from urllib.parse import urlsplit

import pytest
from admin_support import BASE, connection_form

from colcw_plugin.setup.connection import get_settings
from host_stub.extensions import db

IDN, PUNY = "bücher.example", "xn--bcher-kva.example"


@pytest.fixture()
def idn_resolves_to_sandbox(monkeypatch):
    """The punycode name resolves to this machine (only it: the Unicode name would fail to resolve)."""
    real = socket.getaddrinfo
    asked = []

    def getaddrinfo(host, *args, **kwargs):
        asked.append(host)
        return real("127.0.0.1" if host == PUNY else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def _idn_url(sandbox) -> str:
    return f"http://{IDN}:{urlsplit(sandbox.base_url).port}"


def test_test_connection_reaches_an_idn_site_through_its_punycode_name(admin_client, cw_sandbox,
                                                                        idn_resolves_to_sandbox):
    resp = admin_client.post(BASE + "/test", data=connection_form(admin_client, cw_sandbox,
                                                                  site_url=_idn_url(cw_sandbox)))
    report = resp.get_json()
    assert resp.status_code == 200 and report["ok"] is True, report
    assert PUNY in idn_resolves_to_sandbox and IDN not in idn_resolves_to_sandbox


def test_saving_an_idn_site_stores_its_punycode_and_the_page_says_so(admin_client, cw_sandbox,
                                                                     idn_resolves_to_sandbox):
    port = urlsplit(cw_sandbox.base_url).port
    resp = admin_client.post(BASE + "/connection", data=connection_form(admin_client, cw_sandbox,
                                                                        site_url=_idn_url(cw_sandbox)))
    assert resp.status_code == 302
    assert get_settings(db.session).site_url == f"http://{PUNY}:{port}"
    page = html_lib.unescape(admin_client.get(BASE + "/").get_data(as_text=True))
    assert "ConnectWise accepted it" in page
    assert f"Requests go to {PUNY}" not in page  # (the whole URL is named)
    assert f"Requests go to http://{PUNY}:{port}: {IDN} written in punycode" in page.replace("<strong>", "").replace(
        "</strong>", "")
    # Typed again as the admin reads it, it is the same site: the stored key is kept.
    db.session.expire_all()
    resp = admin_client.post(BASE + "/connection", data=connection_form(
        admin_client, cw_sandbox, site_url=_idn_url(cw_sandbox), private_key=""))
    assert resp.status_code == 302


@pytest.mark.parametrize("url", ["https://bü cher.example", "https://-bücher.example", "https://bücher..example",
                                 "https://bü_cher.example", "https://bücher"])
def test_a_host_name_that_is_not_one_is_still_refused(admin_client, cw_sandbox, url):
    resp = admin_client.post(BASE + "/connection", data=connection_form(admin_client, cw_sandbox, site_url=url))
    page = html_lib.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 400
    assert f"“{url}” is not a web address" in page
    assert get_settings(db.session).site_url == ""
