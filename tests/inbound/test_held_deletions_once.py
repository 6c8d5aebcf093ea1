"""Deletions the mass-delete guard holds back are reported once, by the pass that held them, and stay held until an
admin decides: later live updates and safety-net passes leave them waiting without logging them as failed again.
Dismiss (admins only, with the form's CSRF token) leaves their links as they are, and no later pass raises them again
(nor the alert); a dismissed deletion whose record is read back present is forgotten, so deleted once more it is a
new deletion."""

from __future__ import annotations

from inbound_support import enable
from sqlalchemy import func, select

from colcw_plugin.models import HOST_MASTER, Link, SyncItem, SyncRun
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.inbound.hints import Hint, pending_count, record_hint
from colcw_plugin.sync.inbound.reconcile import DELETION, deletion_state
from colcw_plugin.sync.jobs.runs import create_run
from helpers import csrf_from, runtime, sign_in
from host_stub.extensions import db

BASE = "/admin/integration/connectwise"


def _run(kind: str, params: dict) -> SyncRun:
    run = create_run(db.session, runtime().kinds, kind, params)
    db.session.commit()
    return runtime().execute(db.session, run.id)


def _held_pass(sandbox, prefix: str) -> tuple[list[dict], SyncRun]:
    """Five linked companies (10 % lets one deletion through), two deleted in ConnectWise and announced: the live
    update holds both back. (The companies, the run.)"""
    for n in range(5):
        assert sandbox.api("POST", "company/companies", json={
            "identifier": f"{prefix}{n}", "name": f"Once {prefix} {n}", "addressLine1": "1 Way", "city": "Austin",
            "state": "TX", "phoneNumber": f"512-555-06{n:02d}"}).status_code == 201
    assert _run("customer_import", {"mode": "all"}).status == "succeeded"
    companies = [c for c in sandbox.api("GET", "company/companies", params={"orderBy": "id asc"}).json()
                 if c["identifier"].startswith(prefix)]
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    for c in companies[:2]:
        sandbox.delete_company(c["id"])
        record_hint(db.session, Hint("company", c["id"], "deleted"))
    held = _run("cw_live_update", {"wave": "held"})
    assert held.status == "failed", held.message  # (nothing else in it)
    assert "Deletions held back by the mass-delete guard" in held.message
    return companies, held


def _failed_for(ids: list[int]) -> list[tuple[int, int]]:
    """(run, ConnectWise id) of every failed result for these companies, in every run."""
    db.session.expire_all()
    return [tuple(r) for r in db.session.execute(select(SyncItem.run_id, SyncItem.cw_id).where(
        SyncItem.entity == "customer", SyncItem.action == "failed", SyncItem.cw_id.in_(ids)).order_by(SyncItem.id))]


def _statuses(ids: list[int]) -> list[str]:
    db.session.expire_all()
    return list(db.session.execute(select(Link.status).where(Link.entity == "customer", Link.cw_id.in_(ids))
                                   .order_by(Link.cw_id)).scalars())


def test_held_deletions_are_reported_once_and_wait_through_later_passes(app, fast_callbacks):
    sandbox = fast_callbacks
    companies, held = _held_pass(sandbox, "ONC")
    gone = [c["id"] for c in companies[:2]]
    assert _failed_for(gone) == [(held.id, gone[0]), (held.id, gone[1])]
    item = db.session.execute(select(SyncItem).where(SyncItem.run_id == held.id, SyncItem.cw_id == gone[0])).scalar()
    assert "deletion held back, not marked deleted" in item.message
    assert "Apply anyway" in item.resolution and "Dismiss" in item.resolution

    # Later passes: a live update for another change, the changes pass, the daily deletions pass.
    sandbox.edit_company(companies[3]["id"], {"city": "Dallas"})
    record_hint(db.session, Hint("company", companies[3]["id"], "updated"))
    later = [_run("cw_live_update", {"wave": "later"}), _run("cw_reconcile", {"mode": "changes"}),
             _run("cw_reconcile", {"mode": "deletions"})]
    assert [r.status for r in later] == ["succeeded"] * 3, [(r.status, r.message) for r in later]
    assert not any("held back" in (r.message or "") for r in later), [r.message for r in later]
    assert _failed_for(gone) == [(held.id, gone[0]), (held.id, gone[1])]  # not logged again
    assert _statuses(gone) == ["ok", "ok"]  # still held: nobody decided
    assert "Deletions held back" in get_live(db.session).alert

    # Apply anyway marks them, whichever pass met them last.
    client = sign_in(app.test_client(), "admin@demo.example")
    page = client.get(BASE + "/").get_data(as_text=True)
    assert client.post(BASE + "/live-updates/alert", data={"csrf_token": csrf_from(page), "action": "apply"}
                       ).status_code == 302
    forced = db.session.execute(select(SyncRun).where(SyncRun.kind == "cw_reconcile").order_by(SyncRun.id.desc())
                                ).scalars().first()
    assert runtime().execute(db.session, forced.id).status == "succeeded"
    assert _statuses(gone) == ["missing_in_cw", "missing_in_cw"]
    assert get_live(db.session).alert == ""


def test_dismissed_deletions_are_not_raised_again(app, fast_callbacks):
    sandbox = fast_callbacks
    companies, held = _held_pass(sandbox, "DSM")
    gone = [c["id"] for c in companies[:2]]
    assert pending_count(db.session) == 2

    with app.app_context():  # (a context of its own for each sign-in: Flask-Login keeps the user in g)
        rep = sign_in(app.test_client(), "riley@demo.example")
        token = csrf_from(rep.get("/customers/").get_data(as_text=True))
        assert rep.post(BASE + "/live-updates/alert", data={"csrf_token": token, "action": "dismiss"}
                        ).status_code == 403
    admin = sign_in(app.test_client(), "admin@demo.example")
    assert admin.post(BASE + "/live-updates/alert", data={"action": "dismiss"}).status_code == 400  # no CSRF token
    assert "Deletions held back" in get_live(db.session).alert
    page = admin.get(BASE + "/").get_data(as_text=True)
    resp = admin.post(BASE + "/live-updates/alert", data={"csrf_token": csrf_from(page), "action": "dismiss"},
                      follow_redirects=True)
    text = resp.get_data(as_text=True)
    assert "Dismissed 2 deletions the mass-delete guard held back" in text, text
    assert "Deletions held back" not in text
    db.session.expire_all()
    assert get_live(db.session).alert == "" and pending_count(db.session) == 0

    # Every later pass meets them again: none holds them back, logs them or raises the alert again.
    record_hint(db.session, Hint("company", gone[0], "deleted"))  # ConnectWise announces one again
    sandbox.edit_company(companies[3]["id"], {"city": "Dallas"})
    record_hint(db.session, Hint("company", companies[3]["id"], "updated"))
    later = [_run("cw_live_update", {"wave": "after"}), _run("cw_reconcile", {"mode": "changes"}),
             _run("cw_reconcile", {"mode": "deletions"})]
    assert [r.status for r in later] == ["succeeded"] * 3, [(r.status, r.message) for r in later]
    assert _failed_for(gone) == [(held.id, gone[0]), (held.id, gone[1])]
    assert _statuses(gone) == ["ok", "ok"]  # Dismiss leaves the links as they are
    assert get_live(db.session).alert == ""
    assert db.session.scalar(select(func.count()).select_from(SyncRun).where(
        SyncRun.status.in_(("partial", "failed")))) == 1  # the pass that held them

    # A dismissed deletion whose record is read back present (it changed again) is forgotten.
    back = db.session.execute(select(Link).where(Link.entity == "customer", Link.cw_id == companies[4]["id"])).scalar()
    back.synced_values = {**(back.synced_values or {}), DELETION: {"state": "dismissed"}}
    db.session.commit()
    record_hint(db.session, Hint("company", companies[4]["id"], "updated"))
    _run("cw_live_update", {"wave": "back"})
    db.session.expire_all()
    assert deletion_state(db.session.get(Link, back.id)) == ""
