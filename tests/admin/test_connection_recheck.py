"""Fixing the connection rechecks the callbacks, from the Connection page and from ``colcw configure`` alike;
a save that shows the connection does not work says so, and the callbacks are not shown as freshly checked."""

from __future__ import annotations

import html
import socket

from sqlalchemy import select

from colcw_plugin.models import HOST_MASTER, CallbackRegistration
from colcw_plugin.setup.connection import get_settings
from colcw_plugin.setup.live_updates import LiveInput, get_live
from colcw_plugin.sync.inbound.switch import apply_live, recheck_callbacks
from helpers import csrf_from, runtime
from host_stub.extensions import db

URL = "/admin/integration/connectwise/"


def _live_on() -> None:
    rt = runtime()
    messages = apply_live(db.session, rt.box, rt.client, LiveInput(True, "https://quotes.example.com", HOST_MASTER),
                          "tests", check=lambda url: "")
    assert ("info", "Callbacks: registered company, contact, opportunity.") in messages


def _save_on_page(admin_client, sandbox, private_key: str) -> str:
    token = csrf_from(admin_client.get(URL).get_data(as_text=True))
    resp = admin_client.post(URL + "connection", data={
        "csrf_token": token, "site_url": sandbox.base_url, "company_id": sandbox.company_id, "auth_mode": "api_keys",
        "public_key": sandbox.public_key, "private_key": private_key, "client_id": "colcw-tests", "allow_http": "on"},
        follow_redirects=True)
    assert resp.status_code == 200
    return html.unescape(resp.get_data(as_text=True))


def _configure(app, sandbox, private_key: str):
    return app.test_cli_runner().invoke(args=[
        "colcw", "configure", "--site", sandbox.base_url, "--company-id", sandbox.company_id, "--public-key",
        sandbox.public_key, "--private-key", private_key, "--client-id", "colcw-cli", "--allow-http"])


def _last_error() -> str:
    db.session.rollback()
    db.session.expire_all()
    return get_live(db.session).last_error


def test_a_wrong_key_saved_on_the_page_warns_that_the_connection_does_not_work(app, admin_client, connected):
    _live_on()
    page = _save_on_page(admin_client, connected, "not-the-key")
    assert 'class="flash success"' not in page and "Connection saved." not in page
    # Said once, by the check saving runs (Test Connection's), not again by the callbacks' registration.
    assert "Connection saved, but ConnectWise refused the API keys" in page
    assert "when colcw registered the callbacks" not in page
    assert "The callbacks could not be registered: GET system/callbacks: HTTP 401" in _last_error()
    assert "The callbacks could not be registered: GET system/callbacks: HTTP 401" in page  # Live updates' card
    # The table keeps what it last knew, but does not claim the callbacks were just checked.
    rows = db.session.execute(select(CallbackRegistration)).scalars().all()
    assert len(rows) == 3
    table = page[page.index('id="live-callbacks"'):page.index('id="live-last"')]
    assert table.count("not confirmed (the last attempt failed); active when last checked") == 3
    assert "active, checked" not in table

    # Saving the right key again: saved, callbacks checked, the error gone.
    page = _save_on_page(admin_client, connected, connected.private_key)
    assert "Connection saved." in page and "Callbacks: already registered company, contact, opportunity." in page
    assert "The callbacks' earlier error is cleared." in page
    assert _last_error() == ""
    table = page[page.index('id="live-callbacks"'):page.index('id="live-last"')]
    assert table.count("active, checked") == 3 and "not confirmed" not in table


def test_fixing_the_key_from_the_command_line_rechecks_the_callbacks_and_clears_the_error(app, admin_client,
                                                                                         connected):
    _live_on()
    _save_on_page(admin_client, connected, "not-the-key")
    assert "HTTP 401" in _last_error()
    before = app.test_cli_runner().invoke(args=["colcw", "live-updates"])
    assert before.exit_code == 1 and "HTTP 401" in before.output
    assert "callback company: id" in before.output and "not confirmed (the last attempt failed)" in before.output

    result = _configure(app, connected, connected.private_key)
    assert result.exit_code == 0, result.output
    assert "Saved the ConnectWise connection to" in result.output
    assert "Callbacks: already registered company, contact, opportunity." in result.output
    assert "The callbacks' earlier error is cleared." in result.output
    assert _last_error() == ""

    after = app.test_cli_runner().invoke(args=["colcw", "live-updates"])
    assert after.exit_code == 0, after.output
    assert "could not be registered" not in after.output and "HTTP 401" not in after.output
    assert after.output.count(", active, checked") == 3
    page = html.unescape(admin_client.get(URL).get_data(as_text=True))
    assert 'id="live-error"' not in page and "HTTP 401" not in page


def test_configure_with_a_wrong_key_says_the_connection_does_not_work_and_exits_1(app, connected):
    _live_on()
    result = _configure(app, connected, "not-the-key")
    assert result.exit_code == 1
    assert "Saved the ConnectWise connection to" in result.output
    # Checked as the page checks it (once: the callbacks' failure says nothing more), the card told the same.
    assert "Warning: saved, but ConnectWise refused the API keys" in result.output
    assert "when colcw registered the callbacks" not in result.output
    assert get_settings(db.session).check_ok is False
    assert "HTTP 401" in _last_error()
    assert "not-the-key" not in result.output


def test_configure_with_a_site_nothing_answers_at_says_it_was_not_reached_not_refused(app, connected):
    _live_on()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{s.getsockname()[1]}"
    result = app.test_cli_runner().invoke(args=[
        "colcw", "configure", "--site", nowhere, "--company-id", connected.company_id, "--public-key",
        connected.public_key, "--private-key", connected.private_key, "--client-id", "colcw-cli", "--allow-http"])
    assert result.exit_code == 1
    assert "Warning: saved, but ConnectWise could not be reached: cannot reach " in result.output
    assert "ConnectWise refused" not in result.output
    # Registering the callbacks says it alike (what it says where no check was said before it).
    rt = runtime()
    done = recheck_callbacks(db.session, rt.box, rt.client)
    assert done.connection_fails
    [(category, text)] = done.messages
    assert text.startswith("The connection was saved, but it does not work: colcw could not reach ConnectWise when "
                           "colcw registered the callbacks (")


def test_configure_with_live_updates_off_says_there_are_no_callbacks(app, connected):
    result = _configure(app, connected, connected.private_key)
    assert result.exit_code == 0, result.output
    assert "Live updates are off: no callbacks to register." in result.output
