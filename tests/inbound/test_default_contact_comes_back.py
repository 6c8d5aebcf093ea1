"""The company's default (primary) contact changed in ConnectWise comes back like any other field (Appendix B:
Default ← Primary), through live updates and the safety net, under the master rules: taken with ConnectWise the
master ("default contact now Charles Babbage, was Ada Lovelace", the import's words), noted as not taken with
ChannelOnline the master, a conflict when both sides changed it. Before, ``PATCH company {"defaultContact": …}`` read
as "unchanged": only an import took it."""

from __future__ import annotations

import html as html_lib

from htmx_loads import loaded
from inbound_support import edit_host, enable, export_customer, run_items, settle, wait_for
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, HOST_MASTER, RecordDrift, SyncRun, get_link
from colcw_plugin.sync.jobs.runs import create_run
from helpers import csrf_from, runtime, sign_in
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Contact, Customer


def _run(kind: str, params: dict) -> SyncRun:
    run = create_run(db.session, runtime().kinds, kind, params)
    db.session.commit()
    return runtime().execute(db.session, run.id)


def _host_default(customer_id: int) -> list[str]:
    db.session.expire_all()
    return [c.first_name for c in db.session.execute(select(Contact).where(
        Contact.customer_id == customer_id, Contact.is_default.is_(True))).scalars()]


def _cw_default(sandbox, company: int) -> int | None:
    return (sandbox.api("GET", f"company/companies/{company}").json().get("defaultContact") or {}).get("id")


def _notes(customer_id: int) -> list[tuple]:
    return [(d.field, d.kind, d.host_value, d.cw_value, d.kept) for d in db.session.execute(
        select(RecordDrift).where(RecordDrift.customer_id == customer_id).order_by(RecordDrift.id)).scalars()]


def _with_grace(sandbox, **fields) -> tuple[Customer, int, dict]:
    """A customer (Acme, or as ``fields`` say) with Ada (default), Charles and Grace, all exported."""
    customer, company, contacts = export_customer(sandbox, **fields)
    current = db.session.get(Customer, customer.id)
    rows = [{"id": c.id, **{k: getattr(c, k) for k in services.CONTACT_EDITABLE}} for c in current.contacts]
    services.save_customer({f: getattr(current, f) for f in services.CUSTOMER_EDITABLE},
                           [*rows, {"first_name": "Grace", "last_name": "Hopper", "email": "grace@acme.example"}],
                           customer_id=customer.id)
    assert _run("customer_export", {"customer_id": customer.id}).status == "succeeded"
    grace = db.session.execute(select(Contact).where(Contact.customer_id == customer.id,
                                                     Contact.first_name == "Grace")).scalar_one()
    return customer, company, {**contacts, "Grace": get_link(db.session, "contact", grace.id).cw_id}


def test_connectwise_master_a_new_primary_contact_comes_back_through_a_callback(app, fast_callbacks, live_server,
                                                                                  worker_thread):
    sandbox = fast_callbacks
    customer, company, contacts = export_customer(sandbox)
    enable(live_server.url, CW_MASTER)
    settle(sandbox)
    sandbox.edit_company(company, {"defaultContact": {"id": contacts["Charles"]}})
    wait_for(lambda: _host_default(customer.id) == ["Charles"], what="Charles to become the default contact")
    settle(sandbox)
    assert _host_default(customer.id) == ["Charles"]
    assert _cw_default(sandbox, company) == contacts["Charles"]
    assert _notes(customer.id) == []  # taken: nothing to show
    said = [i.message for i in run_items("cw_live_update") if i.entity == "customer"]
    assert any("default contact now Charles Babbage, was Ada Lovelace" in m for m in said), said
    # Both sides agree now: an export changes nothing in ConnectWise, and ConnectWise keeps Charles.
    before = len([r for r in sandbox.requests() if r["method"] in ("PATCH", "POST", "PUT")])
    assert _run("customer_export", {"customer_id": customer.id}).status == "succeeded"
    assert [r for r in sandbox.requests() if r["method"] in ("PATCH", "POST", "PUT")][before:] == []
    assert _cw_default(sandbox, company) == contacts["Charles"]


def test_channelonline_master_a_new_primary_contact_is_noted_not_taken(app, fast_callbacks):
    sandbox = fast_callbacks
    customer, company, contacts = export_customer(sandbox)
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"  # the first pass sets the watermark
    sandbox.edit_company(company, {"defaultContact": {"id": contacts["Charles"]}})
    run = _run("cw_reconcile", {"mode": "changes"})  # the safety net, the callback missed
    assert run.status == "succeeded", run.message
    assert _host_default(customer.id) == ["Ada"]
    assert _notes(customer.id) == [("default_contact", "drift", "Ada Lovelace", "Charles Babbage", "host")]
    said = [i.message for i in run_items("cw_reconcile") if i.entity == "customer" and i.run_id == run.id]
    assert any("Default contact “Charles Babbage” (ChannelOnline: “Ada Lovelace”)" in m for m in said), said
    # A pass that reads the company again keeps the note; exporting sends ChannelOnline's default back.
    sandbox.edit_company(company, {"city": "Dallas"})
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"
    assert sorted(n[0] for n in _notes(customer.id)) == ["city", "default_contact"]
    assert _run("customer_export", {"customer_id": customer.id}).status == "succeeded"
    assert _cw_default(sandbox, company) == contacts["Ada"]
    assert _host_default(customer.id) == ["Ada"]


def test_connectwise_master_the_safety_net_takes_it_and_a_conflict_is_noted(app, fast_callbacks):
    sandbox = fast_callbacks
    customer, company, contacts = _with_grace(sandbox)
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"
    edit_host(customer.id, {"Ada": {"is_default": False}, "Charles": {"is_default": True}})  # not exported
    sandbox.edit_company(company, {"defaultContact": {"id": contacts["Grace"]}})
    run = _run("cw_reconcile", {"mode": "changes"})
    assert run.status == "succeeded", run.message
    assert _host_default(customer.id) == ["Grace"]  # the master's
    assert _notes(customer.id) == [("default_contact", "conflict", "Charles Babbage", "Grace Hopper", "connectwise")]
    said = [i.message for i in run_items("cw_reconcile") if i.entity == "customer" and i.run_id == run.id]
    assert any("Default contact changed on both sides: kept ConnectWise's “Grace Hopper” (the master); ChannelOnline "
               "had “Charles Babbage”" in m for m in said), said
    # An unchanged pass keeps the note and the default.
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"
    assert _host_default(customer.id) == ["Grace"]
    assert [n[1] for n in _notes(customer.id)] == ["conflict"]
    assert _cw_default(sandbox, company) == contacts["Grace"]


def test_channelonline_master_a_conflict_keeps_the_hosts_default(app, fast_callbacks):
    sandbox = fast_callbacks
    customer, company, contacts = _with_grace(sandbox)
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"
    edit_host(customer.id, {"Ada": {"is_default": False}, "Charles": {"is_default": True}})
    sandbox.edit_company(company, {"defaultContact": {"id": contacts["Grace"]}})
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"
    assert _host_default(customer.id) == ["Charles"]
    assert _notes(customer.id) == [("default_contact", "conflict", "Charles Babbage", "Grace Hopper", "host")]
    assert _cw_default(sandbox, company) == contacts["Grace"]


def test_keep_channelonlines_default_on_the_customer_page_stays_until_connectwise_changes_it_again(app,
                                                                                                  fast_callbacks):
    sandbox = fast_callbacks
    customer, company, contacts = _with_grace(sandbox)
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"
    sandbox.edit_company(company, {"defaultContact": {"id": contacts["Charles"]}})
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"
    assert _notes(customer.id) == [("default_contact", "drift", "Ada Lovelace", "Charles Babbage", "host")]
    with app.app_context():
        client = sign_in(app.test_client(), "riley@demo.example")
        page = html_lib.unescape(loaded(client, f"/customers/{customer.id}"))
        assert "Default contact" in page and "Charles Babbage" in page
        resp = client.post(f"/colcw/customers/{customer.id}/notes/dismiss", data={
            "note": [f"customer:{customer.id}:default_contact"], "seen": ["Charles Babbage"],
            "csrf_token": csrf_from(page)})
        assert resp.status_code == 302
    assert _notes(customer.id) == []
    sandbox.edit_company(company, {"city": "Dallas"})  # read again, its default unchanged: the note stays gone
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"
    assert [n[0] for n in _notes(customer.id)] == ["city"]
    assert _host_default(customer.id) == ["Ada"]
    sandbox.edit_company(company, {"defaultContact": {"id": contacts["Grace"]}})  # a new change: noted again
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"
    assert ("default_contact", "drift", "Ada Lovelace", "Grace Hopper", "host") in _notes(customer.id)
