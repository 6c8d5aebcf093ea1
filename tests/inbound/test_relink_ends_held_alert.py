"""A customer whose company's deletion the mass-delete guard holds back, linked to another company (Link to Company
ID) or its link cleared, takes the hold with its link, and when no other deletion is held the alert ("Deletions held
back") leaves the Connection page in that same save, not at the next pass. While another is still held, the alert
stays. Against the sandbox, the guard holding for real."""

from __future__ import annotations

from htmx_loads import loaded
from inbound_support import enable
from sqlalchemy import select

from colcw_plugin.models import HOST_MASTER, Link, SyncRun, get_link
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.inbound.hints import Hint, record_hint
from colcw_plugin.sync.inbound.reconcile import held_links
from colcw_plugin.sync.jobs.runs import create_run
from helpers import csrf_from, runtime, sign_in
from host_stub.extensions import db

BASE = "/admin/integration/connectwise"


def _run(kind: str, params: dict) -> SyncRun:
    run = create_run(db.session, runtime().kinds, kind, params)
    db.session.commit()
    return runtime().execute(db.session, run.id)


def _two_held(sandbox, prefix: str) -> tuple[int, int]:
    """Five companies imported as customers; two deleted in ConnectWise, their deletions held back by the guard. The
    two customers' ids."""
    for n in range(5):
        assert sandbox.api("POST", "company/companies", json={
            "identifier": f"{prefix}{n}", "name": f"Held Dental {prefix}{n}", "addressLine1": "1 Way",
            "city": "Austin", "state": "TX", "phoneNumber": f"512-555-08{n:02d}"}).status_code == 201
    assert _run("customer_import", {"mode": "all"}).status == "succeeded"
    companies = [c for c in sandbox.api("GET", "company/companies", params={"orderBy": "id asc"}).json()
                 if c["identifier"].startswith(prefix)]
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    for c in companies[:2]:
        sandbox.delete_company(c["id"])
        record_hint(db.session, Hint("company", c["id"], "deleted"))
    held = _run("cw_live_update", {"wave": "held"})
    assert "Deletions held back by the mass-delete guard" in held.message, held.message
    hosts = [db.session.execute(select(Link.host_id).where(Link.entity == "customer", Link.cw_id == c["id"]))
             .scalar_one() for c in companies[:2]]
    assert sorted(ln.host_id for ln in held_links(db.session)) == sorted(hosts)
    return hosts[0], hosts[1]


def _alert(app) -> bool:
    db.session.rollback()
    with app.app_context():  # a request context of its own for the sign-in (Flask-Login keeps the user in g)
        page = sign_in(app.test_client(), "admin@demo.example").get(BASE + "/").get_data(as_text=True)
    return 'id="live-alert"' in page and "Deletions held back" in page


def _relink_elsewhere(sandbox, client, customer_id: int, ident: str) -> None:
    """Link to a new company with the customer's name (confirmed: ConnectWise keeps the deleted one's Company ID)."""
    new = sandbox.api("POST", "company/companies", json={
        "identifier": ident, "name": f"Held Dental {ident[:-1]}", "addressLine1": "1 Way", "city": "Austin",
        "state": "TX"}).json()
    token = csrf_from(loaded(client, f"/customers/{customer_id}"))
    resp = client.post(f"/colcw/customers/{customer_id}/relink",
                       data={"company": ident, "confirm": str(new["id"]), "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:800]
    db.session.rollback()
    assert get_link(db.session, "customer", customer_id).cw_id == new["id"]


def _clear(client, customer_id: int) -> None:
    token = csrf_from(loaded(client, f"/customers/{customer_id}"))
    assert client.post(f"/colcw/customers/{customer_id}/clear-link", data={"csrf_token": token}).status_code == 302
    db.session.rollback()
    assert get_link(db.session, "customer", customer_id) is None


def test_relinking_then_clearing_the_held_ones_takes_the_alert_down_at_once(app, fast_callbacks, rep_client):
    first, second = _two_held(fast_callbacks, "RHA")
    assert _alert(app)

    _relink_elsewhere(fast_callbacks, rep_client, first, "RHA0B")
    assert [ln.host_id for ln in held_links(db.session)] == [second]
    assert _alert(app)  # the other deletion is still held back

    _clear(rep_client, second)
    assert held_links(db.session) == []
    assert not _alert(app)
    assert get_live(db.session).alert == ""


def test_clearing_then_relinking_the_held_ones_takes_the_alert_down_at_once(app, fast_callbacks, rep_client):
    first, second = _two_held(fast_callbacks, "RHB")

    _clear(rep_client, second)
    assert [ln.host_id for ln in held_links(db.session)] == [first]
    assert _alert(app)

    _relink_elsewhere(fast_callbacks, rep_client, first, "RHB0B")
    assert held_links(db.session) == []
    assert not _alert(app)


def test_the_alert_of_a_pass_still_running_stays(app, fast_callbacks, rep_client):
    """A pass that raised the alert marks the links it holds after raising it: while it runs, a relink that finds
    nothing held yet leaves the alert to that pass, which takes it down itself when nothing is left held."""
    first, second = _two_held(fast_callbacks, "RHC")
    live = get_live(db.session)
    running = create_run(db.session, runtime().kinds, "cw_reconcile", {"mode": "changes"})
    running.status = "running"
    live.alert_run_id = running.id
    db.session.commit()

    _clear(rep_client, second)
    _relink_elsewhere(fast_callbacks, rep_client, first, "RHC0B")
    assert held_links(db.session) == []
    assert _alert(app)
