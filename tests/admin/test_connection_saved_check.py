"""Saving the connection says whether ConnectWise accepted it: the save runs Test Connection's check on the saved
connection, its flash says what the check found, and the Connection card keeps it on later visits ("Connected to
<site> as company <id>" with when it was checked, in the reader's zone; or "Saved, but ConnectWise refused the API keys: …").
The New opportunities section does not repeat the connection's error, and speaks of saved choices only when some
were saved."""

from __future__ import annotations

import html
import re
import socket

from admin_support import connection_form
from htmx_loads import loaded

from colcw_plugin.models.runs import in_zone
from colcw_plugin.setup.connection import get_settings
from helpers import csrf_from, runtime
from host_stub.extensions import db

URL = "/admin/integration/connectwise/"
SECTION = URL + "new-opportunities"
ZONE = "America/New_York"


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _card(page: str) -> str:
    """What the Connection card says of the saved connection (its state line)."""
    found = re.search(r'<p id="connection-state"[^>]*>(.*?)</p>', page, re.S)
    return _text(found.group(1)) if found else ""


def _flashes(page: str) -> list[str]:
    return [_text(f) for f in re.findall(r'<div class="flash[^"]*" role="status">(.*?)</div>', page, re.S)]


_form = connection_form


def _save(admin_client, sandbox, **over) -> str:
    resp = admin_client.post(URL + "connection", data=_form(admin_client, sandbox, **over), follow_redirects=True)
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _choose_zone(admin_client, zone: str) -> None:
    token = csrf_from(admin_client.get("/colcw/time-zone").get_data(as_text=True))
    admin_client.post("/colcw/time-zone", data={"zone": zone, "next": URL, "csrf_token": token})


def test_a_wrong_key_is_saved_but_the_card_says_connectwise_refused_it(admin_client, cw_sandbox, box):
    page = _save(admin_client, cw_sandbox, private_key="not-the-key")
    flashes = _flashes(page)
    assert not any("Use Test Connection to check it" in f for f in flashes)
    assert any(f.startswith("Connection saved, but ConnectWise refused the API keys")
               for f in flashes), flashes
    card = _card(page)
    assert card.startswith("Saved, but ConnectWise refused the API keys: the public or "
                           "private key is wrong"), card
    assert "Check the API member's public and private keys" in card and "Checked " in card
    assert "not-the-key" not in page
    assert box.decrypt(get_settings(db.session).secret_encrypted) == "not-the-key"  # saved all the same

    # A later visit still says so.
    assert _card(admin_client.get(URL).get_data(as_text=True)) == card


def test_the_new_opportunities_section_does_not_repeat_the_connections_error(admin_client, cw_sandbox):
    _save(admin_client, cw_sandbox, private_key="not-the-key")
    section = _text(loaded(admin_client, URL).split('id="new-opportunities"')[1].split("</section>")[0])
    assert "ConnectWise's lists will appear once the connection works." in section
    assert "401" not in section and "could not be read" not in section
    assert "saved choices" not in section  # none were saved


def test_lists_unreadable_for_another_reason_say_why_but_not_saved_choices_when_none_were_saved(admin_client,
                                                                                              connected):
    connected.deny(["sales/opportunities/types"])
    section = _text(admin_client.get(SECTION, headers={"HX-Request": "true"}).get_data(as_text=True))
    assert "ConnectWise's lists could not be read: GET sales/opportunities/types: HTTP 403" in section
    assert "saved choices" not in section and "will appear once the connection works" not in section


def test_an_unknown_company_and_a_site_that_does_not_answer_are_said_on_the_card(admin_client, cw_sandbox):
    card = _card(_save(admin_client, cw_sandbox, company_id="nosuchco"))
    assert card.startswith("Saved, but ConnectWise does not know the company id 'nosuchco'. "
                           "Check the company id"), card
    site = f"http://127.0.0.1:{_closed_port()}"
    card = _card(_save(admin_client, cw_sandbox, site_url=site))
    assert card.startswith(f"Saved, but ConnectWise could not be reached: cannot reach {site}"), card


def test_a_working_connection_says_connected_with_when_it_was_checked_in_the_readers_zone(admin_client, cw_sandbox):
    _choose_zone(admin_client, ZONE)
    page = _save(admin_client, cw_sandbox)
    site = cw_sandbox.base_url
    assert f"Connection saved. ConnectWise accepted it: Connected to {site} as company sandbox." in _flashes(page)
    checked = get_settings(db.session).checked_at
    shown = in_zone(checked, ZONE, "%Y-%m-%d %H:%M %Z")
    assert shown.endswith(("EST", "EDT"))
    assert _card(page) == f"Connected to {site} as company sandbox (checked {shown})."
    assert "Times are shown in America/New_York." in _text(page.split('id="connection"')[1].split("</section>")[0])
    assert 'id="not-configured"' not in page


def test_testing_the_saved_connection_updates_the_card_and_testing_another_does_not(admin_client, cw_sandbox):
    cw_sandbox.deny(["procurement/manufacturers"])
    card = _card(_save(admin_client, cw_sandbox))
    assert card.startswith("Saved, but ConnectWise denied access to "
                           "procurement/manufacturers (403)."), card
    cw_sandbox.deny([])  # the admin gives the role its access in ConnectWise, and tests again

    other = admin_client.post(URL + "test", data=_form(admin_client, cw_sandbox, client_id="another-client"),
                              headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Connected. ConnectWise version" in other and 'id="connection-state"' not in other
    assert _card(admin_client.get(URL).get_data(as_text=True)) == card  # a connection not saved: the card stands

    tested = admin_client.post(URL + "test", data=_form(admin_client, cw_sandbox, private_key=""),
                               headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'hx-swap-oob="true"' in tested
    assert _card(tested).startswith(f"Connected to {cw_sandbox.base_url} as company sandbox (checked ")
    assert _card(admin_client.get(URL).get_data(as_text=True)) == _card(tested)


def test_a_connection_saved_or_tested_from_the_command_line_shows_its_check_on_the_card(app, admin_client,
                                                                                        cw_sandbox):
    """`colcw configure` checks what it saved as the page's Save does, and `colcw test-connection` keeps its result:
    the Connection card says what the last check found, whichever way it ran."""
    assert _card(_save(admin_client, cw_sandbox)).startswith("Connected to ")
    result = app.test_cli_runner().invoke(args=[
        "colcw", "configure", "--site", cw_sandbox.base_url, "--company-id", cw_sandbox.company_id, "--public-key",
        cw_sandbox.public_key, "--private-key", "not-the-key", "--client-id", "colcw-cli", "--allow-http"])
    assert result.exit_code == 1, result.output  # saved, as the page saves it, but it does not work (Live updates off)
    assert "Warning: saved, but ConnectWise refused the API keys" in result.output
    db.session.expire_all()
    assert _card(admin_client.get(URL).get_data(as_text=True)).startswith("Saved, but ConnectWise refused the API keys")

    get_settings(db.session).secret_encrypted = runtime().box.encrypt(cw_sandbox.private_key)  # put right elsewhere
    db.session.commit()
    tested = app.test_cli_runner().invoke(args=["colcw", "test-connection"])
    assert tested.exit_code == 0, tested.output
    db.session.expire_all()
    assert _card(admin_client.get(URL).get_data(as_text=True)).startswith("Connected to ")
