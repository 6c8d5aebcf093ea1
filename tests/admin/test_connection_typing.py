"""What an admin types in the Connection card is taken as they meant it: a private key pasted with a space around
it is the key (as every other field is trimmed), and an address without http:// or https:// that was tried as
https:// against a server speaking plain http says so."""

from __future__ import annotations

from admin_support import connection_form

from colcw_plugin.setup.connection import build_client, get_settings
from host_stub.extensions import db

URL = "/admin/integration/connectwise/"


_form = connection_form


def test_a_private_key_with_spaces_around_it_is_the_key(admin_client, cw_sandbox, box):
    padded = f" {cw_sandbox.private_key} "
    report = admin_client.post(URL + "test", data=_form(admin_client, cw_sandbox, private_key=padded)).get_json()
    assert report["ok"] is True, report  # Test Connection signs in with it

    resp = admin_client.post(URL + "connection", data=_form(admin_client, cw_sandbox, private_key=padded))
    assert resp.status_code == 302
    card = admin_client.get(URL).get_data(as_text=True).split('id="connection"')[1].split("</section>")[0]
    assert "space" not in card.lower()  # nothing is said of them
    db.session.expire_all()
    assert box.decrypt(get_settings(db.session).secret_encrypted) == cw_sandbox.private_key
    with build_client(db.session, box) as client:  # ConnectWise accepts the stored key
        assert client.request("GET", "system/info", retry=False).status_code == 200


def _reach_step(report: dict) -> dict:
    return next(s for s in report["steps"] if s["name"].startswith("Reach "))


def test_an_address_without_a_scheme_on_a_plain_http_server_says_to_write_http(admin_client, cw_sandbox):
    bare = cw_sandbox.base_url.removeprefix("http://")  # e.g. 127.0.0.1:5402, Allow http ticked
    resp = admin_client.post(URL + "test", data=_form(admin_client, cw_sandbox, site_url=bare),
                             headers={"HX-Request": "true"})
    shown = " ".join(resp.get_data(as_text=True).split())
    assert f"TLS failed talking to https://{bare}" in shown
    assert ("What to do: The address has no http:// or https://; it was tried as https://. If the server speaks plain "
            "http, write http:// in front (needs COLCW_ALLOW_HTTP).") in shown
    assert "certificate could not be verified" not in shown


def test_an_https_address_on_a_plain_http_server_keeps_the_tls_advice(admin_client, cw_sandbox):
    """The admin wrote https:// themselves: nothing is said of an address without a scheme."""
    https_url = cw_sandbox.base_url.replace("http://", "https://")
    step = _reach_step(admin_client.post(URL + "test", data=_form(admin_client, cw_sandbox, site_url=https_url))
                       .get_json())
    assert step["problem"] == "tls" and "certificate" in step["fix"]
    assert "no http:// or https://" not in step["fix"]
