"""The safety net's check of the callbacks clears an earlier error registering them once it finds them all
colcw's, active and at the URL the settings name — and only then — so the Connection page stops showing an old
failure as current."""

from __future__ import annotations

import html

from inbound_support import disable, enable
from sqlalchemy import select

from colcw_plugin.models import HOST_MASTER, CallbackRegistration
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db

URL = "/admin/integration/connectwise/"
NO_CHECK = {"check": lambda url: ""}
FAILED = "The callbacks could not be registered: "
CLEARED = "The callbacks' earlier error is cleared: ConnectWise holds them, active."


def _safety_net():
    run = create_run(db.session, runtime().kinds, "cw_reconcile", {"mode": "changes"})
    db.session.commit()
    result = runtime().execute(db.session, run.id)
    assert result.status == "succeeded", result.message
    return result


def _last_error() -> str:
    db.session.rollback()
    db.session.expire_all()
    return get_live(db.session).last_error


def _refused_save(sandbox, public_url: str = "https://quotes.example.com") -> None:
    """Saving Live updates while ConnectWise refuses the callbacks (a security role without them, say)."""
    sandbox.deny(["system/callbacks"])
    enable(public_url, HOST_MASTER, **NO_CHECK)
    sandbox.deny([])
    assert _last_error().startswith(FAILED + "GET system/callbacks: HTTP 403")


def test_a_pass_that_finds_the_callbacks_active_clears_the_old_error_from_the_connection_page(app, admin_client,
                                                                                            connected):
    enable("https://quotes.example.com", HOST_MASTER, **NO_CHECK)
    _refused_save(connected)
    page = html.unescape(admin_client.get(URL).get_data(as_text=True))
    assert 'id="live-error"' in page and page.count("not confirmed (the last attempt failed)") == 3

    result = _safety_net()

    assert _last_error() == ""
    assert CLEARED in result.message
    page = html.unescape(admin_client.get(URL).get_data(as_text=True))
    assert 'id="live-error"' not in page and FAILED not in page
    table = page[page.index('id="live-callbacks"'):page.index('id="live-last"')]
    assert table.count("active, checked") == 3 and "not confirmed" not in table


def test_a_switched_off_callback_switched_on_again_counts_as_confirmed(app, connected):
    enable("https://quotes.example.com", HOST_MASTER, **NO_CHECK)
    first = connected.api("GET", "system/callbacks").json()[0]
    connected.api("PATCH", f"system/callbacks/{first['id']}",
                  json=[{"op": "replace", "path": "inactiveFlag", "value": True}])
    _refused_save(connected)

    result = _safety_net()

    assert _last_error() == ""
    assert "it was switched on again" in result.message and CLEARED in result.message


def test_the_error_stays_while_a_callback_is_missing(app, connected):
    enable("https://quotes.example.com", HOST_MASTER, **NO_CHECK)
    gone = connected.api("GET", "system/callbacks").json()[0]
    connected.api("DELETE", f"system/callbacks/{gone['id']}")
    _refused_save(connected)

    result = _safety_net()

    assert f"callback (id {gone['id']}) was deleted in ConnectWise" in result.message
    assert CLEARED not in result.message and _last_error().startswith(FAILED)


def test_the_error_stays_while_the_callbacks_point_at_an_earlier_public_url(app, connected):
    """Registering for a new public URL failed: the callbacks for the old one are there and active, but they are
    not what the settings ask for."""
    enable("https://quotes.example.com", HOST_MASTER, **NO_CHECK)
    _refused_save(connected, "https://quotes2.example.com")

    result = _safety_net()

    assert CLEARED not in result.message and _last_error().startswith(FAILED)
    assert {r.url_shown for r in db.session.execute(select(CallbackRegistration)).scalars()} == {
        "https://quotes.example.com/colcw/cw-callback/••••••"}


def test_an_error_removing_the_callbacks_stays_after_live_updates_were_switched_off(app, connected):
    enable("https://quotes.example.com", HOST_MASTER, **NO_CHECK)
    connected.deny(["system/callbacks"])
    disable()
    connected.deny([])
    assert "could not be removed from ConnectWise" in _last_error()

    result = _safety_net()

    assert CLEARED not in result.message and "could not be removed from ConnectWise" in _last_error()


def test_with_live_updates_off_a_callback_left_behind_is_not_switched_on_again(app, connected):
    """Switched off while ConnectWise refused the removal: the callbacks stay registered (to be removed later), and
    one that ConnectWise switched off since must stay off — colcw no longer wants its deliveries."""
    from colcw_plugin.setup import callbacks as registrations

    enable("https://quotes.example.com", HOST_MASTER, **NO_CHECK)
    connected.deny(["system/callbacks"])
    disable()
    connected.deny([])
    db.session.expire_all()
    rows = db.session.execute(select(CallbackRegistration)).scalars().all()
    assert len(rows) == 3 and not get_live(db.session).enabled  # left behind for a later removal
    off = rows[0].cw_id
    assert connected.api("PATCH", f"system/callbacks/{off}", json=[
        {"op": "replace", "path": "inactiveFlag", "value": True}]).status_code == 200

    with runtime().client(db.session) as client:
        notes = registrations.check(db.session, client)
    db.session.commit()

    assert connected.api("GET", f"system/callbacks/{off}").json()["inactiveFlag"] is True
    assert not any("switched on again" in note for note in notes)
