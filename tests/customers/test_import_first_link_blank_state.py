"""ConnectWise the master, an import linking a customer's contact to the same person in ConnectWise for the first time
keeps the host contact's value where ConnectWise's is blank (e14a7d2): the link agrees on ConnectWise's blank, so the
next export fills it in. Until then the customer holds a change of its own to export, and must say so ("Changed since
export"); the import moved the link's time as if everything was settled, so the customer showed "Synced" although its
export still had a value to send. Against the sandbox over HTTP."""

from __future__ import annotations

from customer_support import (
    CONTACTS,
    acme_with_a_bare_ada,
    contacts_of,
    export,
    items,
    link_of,
    make_customer,
    run,
)

from colcw_plugin.models import CW_MASTER
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.customers import links as customer_links
from helpers import csrf_from
from host_stub.extensions import db
from host_stub.models import Customer
from host_stub.services import save_customer

GRACE = {"first_name": "Grace", "last_name": "Hopper", "title": "COO", "email": "grace@acme.example",
         "work_phone": "512-555-0130", "is_default": False}


def _customer(customer_id: int) -> Customer:
    db.session.expire_all()
    return db.session.get(Customer, customer_id)


def test_a_host_value_kept_over_a_blank_at_a_contacts_first_link_leaves_the_customer_changed(sync_ready):
    # ACME1 exported with Charles only (Ada left out: one contact is enough), then ConnectWise the master.
    customer = make_customer(contacts=[CONTACTS[1]])
    assert export(customer.id).status == "succeeded"
    get_live(db.session).customer_master = CW_MASTER
    db.session.commit()
    company_id = link_of("customer", customer.id).cw_id
    # Grace typed in ConnectWise with her e-mail and work phone but no title; added in ChannelOnline with her title.
    grace = sync_ready.api("POST", "company/contacts", json={
        "firstName": "Grace", "lastName": "Hopper", "company": {"id": company_id},
        "communicationItems": [{"type": {"name": "Email"}, "value": GRACE["email"], "defaultFlag": True},
                               {"type": {"name": "Direct"}, "value": GRACE["work_phone"], "defaultFlag": True}]})
    assert grace.status_code == 201, grace.text
    save_customer({}, [GRACE], customer_id=customer.id)
    # And someone changed the company's phone in ConnectWise: the import takes it, so it writes the customer's link.
    assert sync_ready.api("PATCH", f"company/companies/{company_id}", json=[
        {"op": "replace", "path": "phoneNumber", "value": "512-555-0777"}]).status_code == 200
    assert customer_links.status(db.session, _customer(customer.id)).changed  # (Grace waits for an export)

    done = run("customer_import", {"mode": "all"})
    assert done.status == "succeeded", done.message
    after = _customer(customer.id)
    host_grace = next(c for c in after.contacts if c.first_name == "Grace")
    said = [i.message for i in items(done)]
    assert host_grace.title == "COO", said  # ConnectWise's blank erased nothing (e14a7d2)
    assert after.phone == "512-555-0777", said  # ConnectWise's change taken (the master)
    link = link_of("contact", host_grace.id)
    assert link is not None and link.cw_id == grace.json()["id"], said
    assert link.synced_values.get("title") in ("", None)  # agreed on ConnectWise's blank: the export sends COO
    # The title is still to export: the customer is not in sync.
    assert customer_links.status(db.session, after).changed, said

    sent = export(customer.id)
    assert sent.status == "succeeded", sent.message
    there = next(c for c in contacts_of(sync_ready, company_id) if c["id"] == grace.json()["id"])
    assert there.get("title") == "COO", [i.message for i in items(sent)]
    assert not customer_links.status(db.session, _customer(customer.id)).changed  # sent: in sync now


def test_the_same_for_a_customer_not_edited_since_its_link(sync_ready, admin_client):
    # ACME1 in both, the same on every company field, linked by Map customers' scan (nothing synced since, nothing
    # edited since); Ada typed in ConnectWise with another direct phone but no title.
    customer = make_customer(contacts=[CONTACTS[0]])  # Ada: CFO
    ada_cw = acme_with_a_bare_ada(sync_ready)
    token = csrf_from(admin_client.get("/admin/integration/connectwise/").get_data(as_text=True))
    assert admin_client.post("/admin/integration/connectwise/customers/scan", data={"csrf_token": token}).status_code \
        == 302
    company_id = link_of("customer", customer.id).cw_id
    get_live(db.session).customer_master = CW_MASTER
    db.session.commit()
    assert sync_ready.api("PATCH", f"company/companies/{company_id}", json=[
        {"op": "replace", "path": "phoneNumber", "value": "512-555-0777"}]).status_code == 200

    done = run("customer_import", {"mode": "all"})
    assert done.status == "succeeded", done.message
    after = _customer(customer.id)
    ada = next(c for c in after.contacts if c.first_name == "Ada")
    said = [i.message for i in items(done)]
    assert (after.phone, ada.title, ada.work_phone) == ("512-555-0777", "CFO", "512-555-0777"), said
    assert link_of("contact", ada.id).cw_id == ada_cw
    assert customer_links.status(db.session, after).changed, said  # CFO is still to export

    sent = export(customer.id)
    assert sent.status == "succeeded", sent.message
    assert sync_ready.api("GET", f"company/contacts/{ada_cw}").json().get("title") == "CFO"
    assert not customer_links.status(db.session, _customer(customer.id)).changed
