"""An established reseller installs colcw, ConnectWise already holding their customers: a bulk import of all
companies meets customers mapped by hand (Map customers). With ChannelOnline the master for customer data it keeps
their values (account number, name, address, default contact) and notes ConnectWise's as live updates do ("not
taken"); with ConnectWise the master it takes them, its run log saying old → new and where the default contact went."""

from __future__ import annotations

from html import unescape

from customer_support import company, contacts_of, export, items, make_customer, run
from htmx_loads import loaded
from sqlalchemy import select

from colcw_plugin.models import CUSTOMER, CW_MASTER, Link, RecordDrift, SyncRun, set_link
from colcw_plugin.setup.live_updates import get_live
from helpers import sign_in
from host_stub.extensions import db
from host_stub.models import Contact, Customer

HOST = {"name": "Bayview Law Group", "account_number": "DEMO00057", "address1": "12 Harbour Rd", "address2": "",
        "city": "Halifax", "state": "NS", "zip": "B3H 1A1", "country": "Canada", "phone": "902-555-0100",
        "fax": "", "website": "", "location_code": ""}
LUCAS = {"first_name": "Lucas", "last_name": "O'Brien", "email": "lucas@bayview.example", "title": "Partner",
         "work_phone": "902-555-0111", "is_default": True}
ANA = {"first_name": "Ana", "last_name": "Ruiz", "email": "ana@bayview.example", "title": "Paralegal",
       "is_default": False}


def _bayview(sandbox) -> tuple[Customer, dict]:
    """The host's customer DEMO00057 and ConnectWise's BayviewLawGroup (other address, no state, the tenant's default
    country, a bare default contact "Reception", Lucas with another title), linked as Map customers links them."""
    canada = sandbox.api("GET", "company/countries", params={"conditions": 'name = "Canada"'}).json()[0]
    sandbox.api("POST", "company/states", json={"identifier": "NS", "name": "Nova Scotia", "country": {"id": canada["id"]}})
    customer = make_customer(contacts=[LUCAS, ANA], **HOST)
    made = sandbox.api("POST", "company/companies", json={
        "identifier": "BayviewLawGroup", "name": "Bayview Law Group, LLP", "addressLine1": "500 Congress St",
        "city": "Portland", "zip": "04101", "phoneNumber": "207-555-0199"})
    assert made.status_code == 201, made.text
    cw = made.json()
    for body in ({"firstName": "Reception", "lastName": "Desk", "defaultFlag": True},
                 {"firstName": "Lucas", "lastName": "O'Brien", "title": "Managing Partner", "communicationItems": [
                     {"type": {"name": "Email"}, "value": "lucas@bayview.example", "defaultFlag": True}]}):
        assert sandbox.api("POST", "company/contacts", json={**body, "company": {"id": cw["id"]}}).status_code == 201
    set_link(db.session, CUSTOMER, customer.id, cw["id"], cw_identifier="BayviewLawGroup")  # as Map customers does
    db.session.commit()
    return customer, company(sandbox, cw["id"])


def _host(customer_id: int) -> tuple[Customer, dict[str, Contact]]:
    db.session.expire_all()
    customer = db.session.get(Customer, customer_id)
    return customer, {f"{c.first_name} {c.last_name}": c for c in customer.contacts}


def _drift(customer_id: int) -> dict[tuple[str, str], tuple[str, str, str, str]]:
    return {(d.entity, d.field): (d.kind, d.host_value, d.cw_value, d.kept) for d in db.session.execute(
        select(RecordDrift).where(RecordDrift.customer_id == customer_id)).scalars()}


def test_with_channelonline_the_master_a_bulk_import_keeps_a_mapped_customer_and_notes_connectwises_values(
        sync_ready, app):
    customer, cw = _bayview(sync_ready)

    done = run("customer_import", {"mode": "all"})

    assert done.status == "succeeded", done.message
    kept, contacts = _host(customer.id)
    assert (kept.account_number, kept.name, kept.address1, kept.city, kept.state, kept.zip, kept.country,
            kept.phone) == ("DEMO00057", "Bayview Law Group", "12 Harbour Rd", "Halifax", "NS", "B3H 1A1", "Canada",
                            "902-555-0100")
    # Lucas is the same person (same e-mail): his title stays, and he stays the default contact; the bare
    # "Reception" ConnectWise marks default is added, not made default.
    assert sorted(contacts) == ["Ana Ruiz", "Lucas O'Brien", "Reception Desk"]
    assert contacts["Lucas O'Brien"].title == "Partner"
    assert [n for n, c in contacts.items() if c.is_default] == ["Lucas O'Brien"]
    # ConnectWise's values are notes on the customer's page, as a live update leaves them.
    drift = _drift(customer.id)
    assert drift[("customer", "account_number")] == ("drift", "DEMO00057", "BayviewLawGroup", "host")
    assert drift[("customer", "name")] == ("drift", "Bayview Law Group", "Bayview Law Group, LLP", "host")
    assert drift[("customer", "city")] == ("drift", "Halifax", "Portland", "host")
    assert drift[("contact", "title")] == ("drift", "Partner", "Managing Partner", "host")
    result = next(i for i in items(done, "customer") if i.cw_id == cw["id"])
    assert result.action == "updated" and result.host_id == customer.id  # (Reception added)
    assert "changed in ConnectWise, not taken (ChannelOnline is the master for customer data): Customer Number " \
           "“BayviewLawGroup” (ChannelOnline: “DEMO00057”), Company Name “Bayview Law Group, LLP” (ChannelOnline: " \
           "“Bayview Law Group”)" in result.message, result.message
    assert "Export the customer to put ChannelOnline's values back" in result.resolution
    page = " ".join(unescape(loaded(sign_in(app.test_client(), "riley@demo.example"), f"/customers/{customer.id}"))
                    .split())
    assert "Changed in ConnectWise; not taken (ChannelOnline is the master)" in page
    assert "Bayview Law Group, LLP" in page

    # Imported again: the same, nothing taken, the notes still there.
    again = run("customer_import", {"mode": "all"})
    assert again.status == "succeeded", again.message
    assert _host(customer.id)[0].account_number == "DEMO00057" and _drift(customer.id) == drift
    result = next(i for i in items(again, "customer") if i.cw_id == cw["id"])
    assert result.action == "skipped" and "not taken (ChannelOnline is the master" in result.message, result.message

    # The customer's next export writes its values over the company's, and the notes go.
    exported = export(customer.id)
    assert exported.status == "succeeded", [(i.action, i.message) for i in items(exported)]
    assert company(sync_ready, cw["id"])["name"] == "Bayview Law Group"
    assert _drift(customer.id) == {}
    lucas = next(c for c in contacts_of(sync_ready, cw["id"]) if c["firstName"] == "Lucas")
    assert lucas["title"] == "Partner" and len(contacts_of(sync_ready, cw["id"])) == 3


def test_with_connectwise_the_master_a_bulk_import_takes_its_values_and_says_old_and_new(sync_ready):
    customer, cw = _bayview(sync_ready)
    live = get_live(db.session)
    live.customer_master = CW_MASTER
    db.session.commit()

    done = run("customer_import", {"mode": "all"})

    assert done.status == "succeeded", done.message
    taken, contacts = _host(customer.id)
    assert (taken.account_number, taken.name, taken.city) == ("BayviewLawGroup", "Bayview Law Group, LLP", "Portland")
    assert contacts["Lucas O'Brien"].title == "Managing Partner"
    assert [n for n, c in contacts.items() if c.is_default] == ["Reception Desk"]
    assert _drift(customer.id) == {}
    result = next(i for i in items(done, "customer") if i.cw_id == cw["id"])
    assert result.action == "updated"
    # Old → new for each field, so an admin can see (and undo) what the import changed; and the default contact.
    assert "Customer Number “DEMO00057” → “BayviewLawGroup”" in result.message, result.message
    assert "Company Name “Bayview Law Group” → “Bayview Law Group, LLP”" in result.message
    assert "Company City “Halifax” → “Portland”" in result.message
    assert "default contact now Reception Desk, was Lucas O'Brien" in result.message
    lucas = next(i for i in items(done, "contact") if i.label.startswith("Lucas O'Brien"))
    assert "Title “Partner” → “Managing Partner”" in lucas.message, lucas.message
    assert db.session.get(SyncRun, done.id).status == "succeeded"


def test_the_default_contact_stays_with_channelonline_the_master_and_moves_with_connectwise_the_master(sync_ready):
    customer = make_customer()  # Acme Corp, Ada Lovelace its default contact
    assert export(customer.id).status == "succeeded"
    cw_id = db.session.execute(select(Link.cw_id).where(Link.entity == CUSTOMER, Link.host_id == customer.id)).scalar()
    assert sync_ready.api("POST", "company/contacts", json={"firstName": "Reception", "lastName": "Desk",
                                                            "defaultFlag": True, "company": {"id": cw_id}}).status_code == 201
    assert company(sync_ready, cw_id)["defaultContact"]["name"] == "Reception Desk"

    kept = run("customer_import", {"mode": "all"})

    contacts = _host(customer.id)[1]
    assert sorted(contacts) == ["Ada Lovelace", "Charles Babbage", "Reception Desk"]
    assert [n for n, c in contacts.items() if c.is_default] == ["Ada Lovelace"]
    assert "default contact" not in next(i for i in items(kept, "customer")).message

    live = get_live(db.session)
    live.customer_master = CW_MASTER
    db.session.commit()
    moved = run("customer_import", {"mode": "all"})

    contacts = _host(customer.id)[1]
    assert [n for n, c in contacts.items() if c.is_default] == ["Reception Desk"]
    result = next(i for i in items(moved, "customer"))
    assert result.action == "updated" and "default contact now Reception Desk, was Ada Lovelace" in result.message, \
        result.message
