"""A company or contact ConnectWise refuses with a 400 naming its fields is reported with those fields as the host
labels them and the fix ("ConnectWise requires a Title for Mateo Smith" — "Fill in the contact's Title in
ChannelOnline and export again"), ConnectWise's own answer kept in the message; it read "POST company/contacts: HTTP
400 [InvalidObject] contact object is invalid (title: …). Correct the fields ConnectWise named…"."""

from __future__ import annotations

from customer_support import export, items, make_customer

from colcw_plugin.models import RecordState
from colcw_plugin.sync.customers.list_status import row_states
from host_stub.extensions import db

MATEO = {"first_name": "Mateo", "last_name": "Smith", "title": "", "email": "mateo@granite.example",
         "is_default": True}
ANA = {"first_name": "Ana", "last_name": "Ruiz", "title": "Partner", "email": "ana@granite.example",
       "is_default": False}


def test_a_contact_refused_for_a_required_field_names_the_hosts_field_and_the_fix(sync_ready):
    sync_ready.set_options(required_fields={"contacts": ["title"]})  # the tenant made the title mandatory
    customer = make_customer(name="Granite Law Group", account_number="GRAN1", contacts=[MATEO, ANA])
    result = export(customer.id)
    assert [i.action for i in items(result, "customer")] == ["created"]
    by_name = {i.label: i for i in items(result, "contact")}
    assert by_name["Ana Ruiz (Granite Law Group)"].action == "created"
    mateo = by_name["Mateo Smith (Granite Law Group)"]
    assert mateo.action == "failed"
    assert mateo.message.startswith("Mateo Smith (Granite Law Group): ConnectWise requires a Title for Mateo Smith "
                                    "(ConnectWise's answer: POST company/contacts: HTTP 400 [InvalidObject] "), \
        mateo.message
    assert "The title field is required." in mateo.message  # ConnectWise's own words, as detail
    assert mateo.resolution == "Fill in the contact's Title in ChannelOnline and export again."
    # All Customers says so too: the export left a contact failed.
    state = row_states(db.session, [customer.id])[customer.id]
    assert state.state is RecordState.FAILED and state.reason.startswith(mateo.message)


def test_a_company_refused_for_a_required_field_names_the_customers_field_and_the_fix(sync_ready):
    sync_ready.set_options(required_fields={"companies": ["zip", "phoneNumber"]})
    customer = make_customer(name="Granite Law Group", account_number="GRAN1", zip="", phone="", contacts=[ANA])
    item = items(export(customer.id), "customer")[0]
    assert item.action == "failed"
    assert item.message.startswith("Granite Law Group (GRAN1): ConnectWise requires a Company Zip and a Company Phone "
                                   "for Granite Law Group (ConnectWise's answer: POST company/companies: HTTP 400 "), \
        item.message
    assert item.resolution == ("Fill in the customer's Company Zip and Company Phone in ChannelOnline and export "
                               "again.")


def test_a_refusal_naming_no_mapped_field_keeps_connectwises_answer(sync_ready):
    sync_ready.set_options(required_fields={"contacts": ["department"]})  # a field colcw does not map
    customer = make_customer(name="Granite Law Group", account_number="GRAN1", contacts=[ANA])
    contact = items(export(customer.id), "contact")[0]
    assert contact.action == "failed"
    assert contact.message.startswith("Ana Ruiz (Granite Law Group): POST company/contacts: HTTP 400"), contact.message
    assert contact.resolution == "Correct the fields ConnectWise named in ChannelOnline and export again."
