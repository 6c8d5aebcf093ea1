"""A company linked by hand (Link to Company ID → Link anyway) is taken as it was at that moment, contacts too: the
safety net and live updates create in ChannelOnline only the contacts added in ConnectWise after the link, never the
ones the company already held (they were copied into the wrong customer: "Lucas Kim (Blue Ridge Dental): added in
ConnectWise; created in ChannelOnline" for every contact of the company linked by mistake)."""

from __future__ import annotations

import time

from inbound_support import enable, export_customer
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, HOST_MASTER, SyncItem, SyncRun
from colcw_plugin.sync.inbound import LIVE_KIND
from colcw_plugin.sync.jobs.runs import create_run
from helpers import csrf_from, runtime
from host_stub.extensions import db
from host_stub.models import Contact, Customer

HARBOR_PEOPLE = [("Lucas", "Kim"), ("Maya", "Ortiz"), ("Noah", "Reed"), ("Iris", "Stone")]


def _run(kind: str, params: dict) -> SyncRun:
    run = create_run(db.session, runtime().kinds, kind, params)
    db.session.commit()
    return runtime().execute(db.session, run.id)


def _contact(sandbox, company_id: int, first: str, last: str) -> dict:
    resp = sandbox.api("POST", "company/contacts", json={
        "firstName": first, "lastName": last, "company": {"id": company_id},
        "communicationItems": [{"type": {"name": "Email"}, "value": f"{first.lower()}@harbor.example",
                                "defaultFlag": True}]})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _linked_to_harbor(sandbox, rep_client, master: str = CW_MASTER) -> tuple[Customer, dict, list[dict]]:
    """Blue Ridge Dental (exported, two contacts) linked by hand, confirmed, to Harbor Law Group and its four
    contacts, entered in ConnectWise before the link."""
    customer, _, _ = export_customer(sandbox, account_number="BRD2", name="Blue Ridge Dental")
    harbor = sandbox.api("POST", "company/companies", json={
        "identifier": "HARBOR43", "name": "Harbor Law Group", "addressLine1": "43 Pier Rd", "city": "Boston",
        "state": "MA", "zip": "02110", "phoneNumber": "617-555-0143"}).json()
    people = [_contact(sandbox, harbor["id"], first, last) for first, last in HARBOR_PEOPLE]
    time.sleep(1.05)  # ConnectWise dates records in whole seconds: the link is made a second later
    token = csrf_from(rep_client.get("/customers/").get_data(as_text=True))
    resp = rep_client.post(f"/colcw/customers/{customer.id}/relink",
                           data={"company": "HARBOR43", "confirm": str(harbor["id"]), "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    enable("http://127.0.0.1:1", master, check=lambda url: "")
    return customer, harbor, people


def _names(customer_id: int) -> set[str]:
    db.session.expire_all()
    return {f"{c.first_name} {c.last_name}" for c in
            db.session.execute(select(Contact).where(Contact.customer_id == customer_id)).scalars()}


def _messages(run: SyncRun) -> list[str]:
    return list(db.session.execute(select(SyncItem.message).where(SyncItem.run_id == run.id)).scalars())


def test_the_safety_net_does_not_copy_the_contacts_the_company_held_when_it_was_linked(app, fast_callbacks,
                                                                                      rep_client):
    sandbox = fast_callbacks
    customer, harbor, people = _linked_to_harbor(sandbox, rep_client)
    run = _run("cw_reconcile", {"mode": "changes"})  # the first pass: every linked record
    assert run.status == "succeeded", run.message
    assert _names(customer.id) == {"Ada Lovelace", "Charles Babbage"}, _messages(run)
    assert not [m for m in _messages(run) if "created in ChannelOnline" in m]
    # Edited in ConnectWise after the link, they are still the company's old contacts: nothing comes in.
    sandbox.edit_contact(people[0]["id"], {"title": "Partner"})
    run = _run(LIVE_KIND, {"records": {"contact": [people[0]["id"]]}})
    assert run.status == "succeeded", run.message
    assert _names(customer.id) == {"Ada Lovelace", "Charles Babbage"}, _messages(run)
    # A contact added in ConnectWise after the link is created, as live updates promise.
    added = _contact(sandbox, harbor["id"], "Zoe", "Park")
    run = _run("cw_reconcile", {"mode": "changes"})
    assert run.status == "succeeded", run.message
    assert _names(customer.id) == {"Ada Lovelace", "Charles Babbage", "Zoe Park"}, _messages(run)
    assert any("Zoe Park (Blue Ridge Dental): added in ConnectWise; created in ChannelOnline." in m
               for m in _messages(run)), added


def test_with_channelonline_the_master_the_old_contacts_are_not_reported_as_new(app, fast_callbacks, rep_client):
    sandbox = fast_callbacks
    customer, _, _ = _linked_to_harbor(sandbox, rep_client, HOST_MASTER)
    run = _run("cw_reconcile", {"mode": "changes"})
    assert run.status == "succeeded", run.message
    assert not [m for m in _messages(run) if "added in ConnectWise" in m], _messages(run)
    assert _names(customer.id) == {"Ada Lovelace", "Charles Babbage"}
