"""A bulk export's chunk that holds a customer whose company ConnectWise has by Company ID, with contacts (a
reseller's first export), still refuses the other customers' look-alikes and the companies linked to another
customer: the chunk's read of that company's contacts once took their place (the look-alikes and the owners were
then looked for among those contacts, so none was found: "Harbor Logistics (DEMO00023)" was created beside
ConnectWise's "Harbor Logistics Inc", and a customer was linked to a company another customer is linked to).

The older look-alike tests never had a company found by Company ID in the chunk, so the read of its contacts that
overwrote them never ran. Against the sandbox over HTTP."""

from __future__ import annotations

from customer_support import companies, contacts_of, items, link_of, make_customer, run

from colcw_plugin.models import set_link
from host_stub.extensions import db
from host_stub.models import Customer
from host_stub.seed import seed_demo


def _company(sandbox, **fields) -> dict:
    resp = sandbox.api("POST", "company/companies", json=fields)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _contact(sandbox, company_id: int, first: str, last: str) -> dict:
    resp = sandbox.api("POST", "company/contacts", json={"firstName": first, "lastName": last,
                                                          "company": {"id": company_id}})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_a_chunk_with_a_company_found_by_company_id_still_refuses_look_alikes_and_linked_companies(sync_ready):
    # (a) ConnectWise has the customer's company by Company ID, with contacts: the export links to it.
    has = _company(sync_ready, identifier="HAS1", name="Has Contacts Co", city="Dallas", state="TX")
    _contact(sync_ready, has["id"], "Grace", "Hopper")
    _contact(sync_ready, has["id"], "Alan", "Turing")
    # (b) An unlinked customer with a same-name look-alike, linked to no customer.
    old = _company(sync_ready, identifier="ACMEOLD", name="Acme Corp, Inc.", city="Austin", state="TX")
    # (c) A customer whose Company ID is a company linked to another customer (not in this export).
    taken = _company(sync_ready, identifier="TAKEN1", name="Taken Holdings", city="Houston", state="TX")
    owner = make_customer(name="Owner Co", account_number="OWN1", phone="214-555-0199", contacts=[])
    set_link(db.session, "customer", owner.id, taken["id"], cw_identifier="TAKEN1")
    db.session.commit()

    first = make_customer(name="Has Contacts Co", account_number="HAS1", phone="214-555-0101", contacts=[])
    acme = make_customer(phone="737-555-0102", contacts=[])  # "Acme Corp", ACME1
    second = make_customer(name="Second Taker", account_number="TAKEN1", phone="713-555-0103", contacts=[])
    result = run("customer_export", {"customer_ids": [first.id, acme.id, second.id]})

    outcome = {i.host_id: i for i in items(result, "customer")}
    assert {k: i.action for k, i in outcome.items()} == \
        {first.id: "updated", acme.id: "failed", second.id: "failed"}, {k: i.message for k, i in outcome.items()}
    assert link_of("customer", first.id).cw_id == has["id"]
    assert "ACMEOLD “Acme Corp, Inc.” (Austin, TX; similar name)" in outcome[acme.id].message
    assert outcome[second.id].message == ("Second Taker (TAKEN1): the ConnectWise company TAKEN1 is already linked "
                                          "to another ChannelOnline customer, Owner Co (OWN1).")
    # What ConnectWise holds: no company for Acme Corp beside ACMEOLD, TAKEN1 as it was (nothing exported into it).
    held = {c["identifier"]: c for c in companies(sync_ready)}
    assert sorted(held) == ["ACMEOLD", "HAS1", "TAKEN1"]
    assert held["ACMEOLD"]["name"] == old["name"] and held["TAKEN1"]["name"] == "Taken Holdings"
    assert held["TAKEN1"]["city"] == "Houston"
    assert link_of("customer", acme.id) is None and link_of("customer", second.id) is None
    assert link_of("customer", owner.id).cw_id == taken["id"]
    assert len(contacts_of(sync_ready, has["id"])) == 2


def test_the_demos_first_bulk_export_fails_harbor_logistics_naming_its_look_alike(sync_ready_demo):
    # The demo's first "All customers" export: DEMO00001 (and every third) is in ConnectWise by Company ID with
    # contacts, in the same chunk as DEMO00023 "Harbor Logistics", whose look-alike CW0006 Pre-flight names.
    seed_demo(db.session, customers=24, quotes=0)
    harbor = db.session.query(Customer).filter_by(account_number="DEMO00023").one()
    assert harbor.name == "Harbor Logistics"
    result = run("customer_export", {"all": True})
    outcome = {i.host_id: i for i in items(result, "customer")}
    assert outcome[harbor.id].action == "failed", outcome[harbor.id].message
    assert "CW0006 “Harbor Logistics Inc” (Portland, OR; similar name)" in outcome[harbor.id].message
    names = [c["name"] for c in companies(sync_ready_demo)]
    assert "Harbor Logistics" not in names and names.count("Harbor Logistics Inc") == 1
    assert link_of("customer", harbor.id) is None
    # The customers ConnectWise had by Company ID were linked to those companies, none created twice.
    demo1 = db.session.query(Customer).filter_by(account_number="DEMO00001").one()
    assert outcome[demo1.id].action in {"updated", "unchanged"}
    assert [c["identifier"] for c in companies(sync_ready_demo)].count("DEMO00001") == 1
