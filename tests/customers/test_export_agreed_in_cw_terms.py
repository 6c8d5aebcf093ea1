"""What an export records as agreed with ConnectWise (``Link.synced_values``) is in ConnectWise's terms: a province
written out is agreed as its code, a country or a site as ConnectWise spells it. With ConnectWise the master for
customer data, a rep's later edit of such a field is the host's change and goes to ConnectWise; it is never taken
for a change made in ConnectWise (the page said "Already up to date … kept ConnectWise's Company State" while
ConnectWise kept NS and the host showed QC)."""

from __future__ import annotations

from customer_support import company, contacts_of, export, items, link_of, make_customer, update_customer

from colcw_plugin.models import CW_MASTER
from colcw_plugin.setup.live_updates import get_live
from host_stub.extensions import db
from host_stub.models import Customer
from host_stub.services import save_customer

PROVINCES = {"NS": "Nova Scotia", "QC": "Quebec", "SK": "Saskatchewan"}
MATEO = {"first_name": "Mateo", "last_name": "Smith", "title": "Partner", "email": "mateo@harbour.example",
         "work_phone": "902-555-0110", "is_default": True, "city": "Halifax", "state": "NS"}


def _canadian_tenant(sandbox) -> None:
    get_live(db.session).customer_master = CW_MASTER
    db.session.commit()
    canada = sandbox.api("GET", "company/countries", params={"conditions": 'name = "Canada"'}).json()[0]
    for code, name in PROVINCES.items():
        resp = sandbox.api("POST", "company/states", json={"identifier": code, "name": name,
                                                           "country": {"id": canada["id"]}})
        assert resp.status_code == 201, resp.text


def _synced(sandbox) -> Customer:
    _canadian_tenant(sandbox)
    customer = make_customer(name="Harbour Law", account_number="HARB1", city="Halifax", state="NS", zip="B3H 1A1",
                             country="Canada", phone="902-555-0100", contacts=[MATEO])
    result = export(customer.id)
    assert [i.action for i in items(result)] == ["created", "created"], [i.message for i in items(result)]
    return customer


def _edit_contact(customer_id: int, **fields) -> None:
    customer = db.session.get(Customer, customer_id)
    contact = customer.contacts[0]
    save_customer({}, [{"id": contact.id, **fields}], customer_id=customer_id)


def _customer_item(run_):
    return items(run_, "customer")[0]


def test_a_state_edited_after_the_same_province_written_out_goes_to_connectwise(sync_ready):
    customer = _synced(sync_ready)
    cw_id = link_of("customer", customer.id).cw_id

    update_customer(customer.id, state="Nova Scotia")  # the same province: nothing to send
    item = _customer_item(export(customer.id))
    assert item.action == "unchanged", item.message
    assert link_of("customer", customer.id).synced_values["state"] == "NS"  # agreed as ConnectWise holds it

    update_customer(customer.id, state="QC")  # the rep's edit: nobody touched ConnectWise
    item = _customer_item(export(customer.id))
    assert item.action == "updated", item.message
    assert "kept ConnectWise's" not in item.message, item.message
    assert company(sync_ready, cw_id)["state"] == "QC"
    assert link_of("customer", customer.id).synced_values["state"] == "QC"


def test_a_state_written_out_then_lower_case_then_blank_reaches_connectwise_each_time(sync_ready):
    customer = _synced(sync_ready)
    cw_id = link_of("customer", customer.id).cw_id
    update_customer(customer.id, state="Saskatchewan")
    assert _customer_item(export(customer.id)).action == "updated"
    assert company(sync_ready, cw_id)["state"] == "SK"
    update_customer(customer.id, state="sk")
    assert _customer_item(export(customer.id)).action == "unchanged"
    update_customer(customer.id, state="")
    item = _customer_item(export(customer.id))
    assert item.action == "updated", item.message
    assert not company(sync_ready, cw_id).get("state")


def test_a_contact_state_edited_after_the_province_written_out_goes_to_connectwise(sync_ready):
    customer = _synced(sync_ready)
    cw_id = link_of("customer", customer.id).cw_id
    _edit_contact(customer.id, state="Nova Scotia")
    contact_item = items(export(customer.id), "contact")[0]
    assert contact_item.action == "unchanged", contact_item.message
    _edit_contact(customer.id, state="QC")
    contact_item = items(export(customer.id), "contact")[0]
    assert contact_item.action == "updated", contact_item.message
    assert "kept ConnectWise's" not in contact_item.message
    assert contacts_of(sync_ready, cw_id)[0]["state"] == "QC"


def test_a_country_spelled_otherwise_is_agreed_as_connectwise_spells_it(sync_ready):
    customer = _synced(sync_ready)
    cw_id = link_of("customer", customer.id).cw_id
    update_customer(customer.id, country="CANADA")  # the same country: ConnectWise resolves it by name
    assert _customer_item(export(customer.id)).action == "unchanged"
    assert link_of("customer", customer.id).synced_values["country"] == "Canada"
    update_customer(customer.id, country="United States", state="TX", city="Austin", zip="73301")
    item = _customer_item(export(customer.id))
    assert item.action == "updated", item.message
    assert "kept ConnectWise's" not in item.message, item.message
    held = company(sync_ready, cw_id)
    assert (held["country"]["name"], held["state"]) == ("United States", "TX")


def test_a_location_code_spelled_otherwise_is_agreed_as_the_site_is_named(sync_ready):
    customer = _synced(sync_ready)
    cw_id = link_of("customer", customer.id).cw_id
    # Each code at an address no site of the company has: its site is created (one site at the customer's address
    # would be taken for the code instead: test_export_site_at_same_address.py).
    update_customer(customer.id, location_code="HQ", address1="2 Harbour Rd")
    assert _customer_item(export(customer.id)).action == "updated"
    update_customer(customer.id, location_code="hq")  # the same site
    assert _customer_item(export(customer.id)).action == "unchanged"
    assert link_of("customer", customer.id).synced_values["location_code"] == "HQ"
    update_customer(customer.id, location_code="Branch", address1="9 Quay St")
    item = _customer_item(export(customer.id))
    assert item.action == "updated", item.message
    assert "kept ConnectWise's" not in item.message, item.message
    assert company(sync_ready, cw_id)["site"]["name"] == "Branch"
