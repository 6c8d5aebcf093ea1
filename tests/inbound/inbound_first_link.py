"""Helpers for the tests of links made without a sync (Map customers' scan) and what live updates find then: a host
customer and a ConnectWise company with the same Company ID, holding the same values, contacts included."""

from __future__ import annotations

import time

from sqlalchemy import select

from colcw_plugin.models import RepMapping, SyncItem, SyncRun, get_link
from colcw_plugin.sync.jobs.runs import create_run
from helpers import csrf_from, runtime
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Customer, StoreSite

SCAN = "/admin/integration/connectwise/customers/scan"
COMPANY = {"name": "Summit Dental Care", "account_number": "SUMMIT1", "active": True, "address1": "12 Peak Rd",
           "city": "Denver", "state": "CO", "zip": "80202", "country": "United States", "phone": "625-555-0100",
           "location_code": ""}
PEOPLE = [{"first_name": "Ethan", "last_name": "Müller", "title": "IT Director", "email": "ethan@summit.example",
           "work_phone": "625-555-0101"},
          {"first_name": "Nora", "last_name": "Quinn", "title": "Office Manager", "email": "nora@summit.example",
           "work_phone": "625-555-0102"}]


def run(kind: str, params: dict) -> SyncRun:
    made = create_run(db.session, runtime().kinds, kind, params)
    db.session.commit()
    return runtime().execute(db.session, made.id)


def messages(made: SyncRun) -> list[str]:
    return list(db.session.execute(select(SyncItem.message).where(SyncItem.run_id == made.id)
                                   .order_by(SyncItem.id)).scalars())


def summit_company(sandbox) -> int:
    """Summit Dental Care made in ConnectWise as :data:`COMPANY` has it (no contacts), the store's rep mapped to a
    member (the rep's export goes to a member); the company's id."""
    member = next(m for m in sandbox.api("GET", "system/members").json() if m["identifier"] == "admin1")
    store = db.session.execute(select(StoreSite)).scalars().first()
    db.session.add(RepMapping(user_id=store.default_rep_id, member_id=member["id"], member_identifier="admin1"))
    db.session.commit()
    company = sandbox.api("POST", "company/companies", json={
        "identifier": COMPANY["account_number"], "name": COMPANY["name"], "addressLine1": COMPANY["address1"],
        "city": COMPANY["city"], "state": COMPANY["state"], "zip": COMPANY["zip"],
        "country": {"name": COMPANY["country"]}, "phoneNumber": COMPANY["phone"]})
    assert company.status_code == 201, company.text
    return company.json()["id"]


def summit(sandbox, admin_client) -> tuple[Customer, int, dict[str, int]]:
    """Summit Dental Care in both, the same on every mapped field, its two contacts too (entered in ConnectWise before
    the link), linked by Map customers' scan (Company ID = account number); none of its contacts linked. (the customer,
    the company's id, {first name: ConnectWise contact id})"""
    company_id = summit_company(sandbox)
    contacts = {}
    for p in PEOPLE:
        made = sandbox.api("POST", "company/contacts", json={
            "firstName": p["first_name"], "lastName": p["last_name"], "title": p["title"],
            "company": {"id": company_id},
            "communicationItems": [{"type": {"name": "Email"}, "value": p["email"], "defaultFlag": True},
                                   {"type": {"name": "Direct"}, "value": p["work_phone"], "defaultFlag": True}]})
        assert made.status_code == 201, made.text
        contacts[p["first_name"]] = made.json()["id"]
    customer = services.save_customer(dict(COMPANY), [dict(p) for p in PEOPLE])
    time.sleep(1.05)  # ConnectWise dates records in whole seconds: the link is made a second later
    token = csrf_from(admin_client.get("/admin/integration/connectwise/").get_data(as_text=True))
    resp = admin_client.post(SCAN, data={"csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    db.session.expire_all()
    link = get_link(db.session, "customer", customer.id)
    assert link is not None and link.cw_id == company_id
    said = db.session.execute(select(SyncItem.message).where(SyncItem.direction == "scan",
                                                             SyncItem.host_id == customer.id)).scalar_one()
    assert "Both sides agree on every mapped field" in said, said
    assert not [get_link(db.session, "contact", c.id) for c in customer.contacts if get_link(db.session, "contact",
                                                                                                 c.id)]
    return customer, company_id, contacts
