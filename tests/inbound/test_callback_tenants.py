"""Callback ids are a tenant's: after colcw is pointed at another ConnectWise tenant, the ids it registered in the
old one may be another integration's callbacks in the new one. colcw never deletes or switches on a callback
because of its id alone: only one the tenant holds as colcw's (its type, colcw's callback path and URL)."""

from __future__ import annotations

import html

from inbound_support import disable, enable
from sqlalchemy import select

from colcw_plugin.models import HOST_MASTER, CallbackRegistration
from colcw_plugin.sync.jobs.runs import create_run
from cw_sandbox.testing import SandboxServer
from helpers import configure_sandbox_connection, csrf_from, runtime
from host_stub.extensions import db

URL = "/admin/integration/connectwise/"
NO_CHECK = {"check": lambda url: ""}


def _callbacks(sandbox) -> list[dict]:
    return sandbox.api("GET", "system/callbacks", params={"pageSize": 1000, "orderBy": "id asc"}).json()


def _theirs(sandbox, covering: list[dict], *, inactive: bool = False) -> list[dict]:
    """Another integration's callbacks in ``sandbox``, registered until they hold every id of ``covering``."""
    made: list[dict] = []
    while not made or made[-1]["id"] < max(c["id"] for c in covering):
        made.append(sandbox.api("POST", "system/callbacks", json={
            "url": f"https://psa-tools.example/hook/{len(made)}", "type": "company", "level": "owner", "objectId": 1,
            "description": "PSA Tools", "inactiveFlag": inactive}).json())
    assert {c["id"] for c in covering} <= {c["id"] for c in made}
    return _callbacks(sandbox)


def _save_connection(admin_client, sandbox) -> str:
    token = csrf_from(admin_client.get(URL).get_data(as_text=True))
    resp = admin_client.post(URL + "connection", data={
        "csrf_token": token, "site_url": sandbox.base_url, "company_id": sandbox.company_id, "auth_mode": "api_keys",
        "public_key": sandbox.public_key, "private_key": sandbox.private_key, "client_id": "colcw-tests",
        "allow_http": "on"}, follow_redirects=True)
    assert resp.status_code == 200
    return html.unescape(resp.get_data(as_text=True))


def test_pointing_colcw_at_another_tenant_never_deletes_that_tenants_callbacks_that_share_ids(app, admin_client,
                                                                                            connected):
    enable("https://quotes.example.com", HOST_MASTER, **NO_CHECK)
    old = _callbacks(connected)
    assert len(old) == 3
    with SandboxServer(company_id="othertenant") as other:
        theirs = _theirs(other, old)

        page = _save_connection(admin_client, other)

        # The other integration's callbacks are all there, as they were; colcw's three are added beside them.
        now = _callbacks(other)
        assert [c for c in now if c["id"] in {t["id"] for t in theirs}] == theirs
        mine = [c for c in now if c["id"] not in {t["id"] for t in theirs}]
        assert sorted(c["type"] for c in mine) == ["company", "contact", "opportunity"]
        assert all(c["url"].startswith("https://quotes.example.com/colcw/cw-callback/") for c in mine)
        assert sorted(r.cw_id for r in db.session.execute(select(CallbackRegistration)).scalars()) == \
            sorted(c["id"] for c in mine)
        # colcw said what it forgot; the old tenant was not touched through the new one.
        ids = ", ".join(str(c["id"]) for c in old)
        assert f"This ConnectWise tenant holds no callback of colcw's with id {ids}, so colcw forgot them" in page
        assert "remove its callbacks in that tenant" in page
        assert _callbacks(connected) == old

        # Switching off removes colcw's, and only colcw's.
        disable()
        assert _callbacks(other) == theirs
        assert db.session.execute(select(CallbackRegistration)).first() is None


def test_the_safety_net_never_switches_on_another_tenants_callback_with_a_registered_id(app, connected):
    """The connection was pointed at another tenant without registering there (Live updates saved later): the
    safety net's check finds another integration's switched-off callbacks under colcw's ids and leaves them off."""
    enable("https://quotes.example.com", HOST_MASTER, **NO_CHECK)
    old = _callbacks(connected)
    with SandboxServer(company_id="othertenant") as other:
        theirs = _theirs(other, old, inactive=True)
        configure_sandbox_connection(other, runtime().box)  # stored as the admin typed it; no re-registration

        run = create_run(db.session, runtime().kinds, "cw_reconcile", {"mode": "changes"})
        db.session.commit()
        result = runtime().execute(db.session, run.id)

        assert result.status == "succeeded", result.message
        assert _callbacks(other) == theirs  # still switched off, nothing else changed
        assert f"This ConnectWise tenant's callback {old[0]['id']} is not colcw's {old[0]['type']} callback" \
            in result.message
        db.session.expire_all()
        assert all(r.inactive for r in db.session.execute(select(CallbackRegistration)).scalars())
