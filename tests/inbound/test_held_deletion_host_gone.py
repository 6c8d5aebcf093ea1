"""A deletion the mass-delete guard holds back whose host record is then deleted in the host (a host may delete a
customer or a quote; colcw never does) no longer keeps the alert up for good: no pass plans anything for a record the
host no longer holds, so Apply anyway could never mark it, and the alert stayed until someone dismissed it."""

from __future__ import annotations

from inbound_support import enable, line
from sqlalchemy import delete, select

from colcw_plugin.models import HOST_MASTER, Link, SyncRun
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.inbound.hints import Hint, record_hint
from colcw_plugin.sync.inbound.reconcile import deletion_state
from colcw_plugin.sync.jobs.runs import create_run
from helpers import csrf_from, runtime, sign_in
from host_stub.extensions import db
from host_stub.models import Contact, Customer, Document, DocumentLine

BASE = "/admin/integration/connectwise"


def _run(kind: str, params: dict) -> SyncRun:
    run = create_run(db.session, runtime().kinds, kind, params)
    db.session.commit()
    return runtime().execute(db.session, run.id)


def test_a_held_deletion_whose_customer_the_host_deleted_does_not_keep_the_alert(app, fast_callbacks):
    sandbox = fast_callbacks
    for n in range(5):
        assert sandbox.api("POST", "company/companies", json={
            "identifier": f"GONE{n}", "name": f"Gone Host {n}", "addressLine1": "1 Way", "city": "Austin",
            "state": "TX", "phoneNumber": f"512-555-07{n:02d}"}).status_code == 201
    assert _run("customer_import", {"mode": "all"}).status == "succeeded"
    companies = [c for c in sandbox.api("GET", "company/companies", params={"orderBy": "id asc"}).json()
                 if c["identifier"].startswith("GONE")]
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    for c in companies[:2]:
        sandbox.delete_company(c["id"])
        record_hint(db.session, Hint("company", c["id"], "deleted"))
    held = _run("cw_live_update", {"wave": "held"})
    assert "Deletions held back by the mass-delete guard" in held.message
    links = {ln.cw_id: ln for ln in db.session.execute(select(Link).where(
        Link.entity == "customer", Link.cw_id.in_([c["id"] for c in companies[:2]]))).scalars()}
    assert [deletion_state(ln) for ln in links.values()] == ["held", "held"]

    # The host deletes the first customer (with its contacts), as a host may.
    host_id = links[companies[0]["id"]].host_id
    db.session.execute(delete(Contact).where(Contact.customer_id == host_id))
    db.session.execute(delete(Customer).where(Customer.id == host_id))
    db.session.commit()

    client = sign_in(app.test_client(), "admin@demo.example")
    page = client.get(BASE + "/").get_data(as_text=True)
    assert client.post(BASE + "/live-updates/alert", data={"csrf_token": csrf_from(page), "action": "apply"}
                       ).status_code == 302
    forced = db.session.execute(select(SyncRun).where(SyncRun.kind == "cw_reconcile").order_by(SyncRun.id.desc())
                                ).scalars().first()
    assert runtime().execute(db.session, forced.id).status in ("succeeded", "partial")
    db.session.expire_all()
    assert db.session.get(Link, links[companies[1]["id"]].id).status == "missing_in_cw"
    assert deletion_state(db.session.get(Link, links[companies[0]["id"]].id)) == ""
    assert get_live(db.session).alert == ""


def test_a_held_deletion_whose_quote_the_host_deleted_does_not_keep_the_alert(app, world):
    sandbox = world.sandbox
    quotes = [world.quote([line("OPT-7010")], name=f"Held deal {n}") for n in range(2)]
    for quote in quotes:
        assert world.export(quote.id).status == "succeeded"
    opps = {o["name"]: o["id"] for o in world.opportunities()}
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    for quote in quotes:
        opp_id = opps[f"Held deal {quotes.index(quote)}"]
        assert sandbox.api("DELETE", f"sales/opportunities/{opp_id}").status_code == 204
        record_hint(db.session, Hint("opportunity", opp_id, "deleted"))
    held = _run("cw_live_update", {"wave": "held"})
    assert "Deletions held back by the mass-delete guard" in held.message, held.message
    link_ids = {q.id: db.session.execute(select(Link.id).where(Link.entity == "document", Link.host_id == q.id))
                .scalar_one() for q in quotes}
    assert [deletion_state(db.session.get(Link, i)) for i in link_ids.values()] == ["held", "held"]

    # The host deletes the first quote, as a host may.
    gone = quotes[0].id
    db.session.execute(delete(DocumentLine).where(DocumentLine.document_id == gone))
    db.session.execute(delete(Document).where(Document.id == gone))
    db.session.commit()

    client = sign_in(app.test_client(), "admin@demo.example")
    page = client.get(BASE + "/").get_data(as_text=True)
    assert client.post(BASE + "/live-updates/alert", data={"csrf_token": csrf_from(page), "action": "apply"}
                       ).status_code == 302
    forced = db.session.execute(select(SyncRun).where(SyncRun.kind == "cw_reconcile").order_by(SyncRun.id.desc())
                                ).scalars().first()
    runtime().execute(db.session, forced.id)
    db.session.expire_all()
    assert db.session.get(Link, link_ids[quotes[1].id]).status == "missing_in_cw"
    assert deletion_state(db.session.get(Link, link_ids[gone])) == ""
    assert get_live(db.session).alert == ""
