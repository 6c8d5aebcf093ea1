"""A contact an export into the old company left out of ConnectWise (it failed there, so it never had a link) does not
keep the customer "Failed" once the customer is linked to another company: its failure was about the company the
customer is no longer linked to, and is ended with the other contacts' links (recorded as the contact's latest
result, saying so). The same when the customer's link is cleared: its page no longer lists the old failure. Against
the sandbox."""

from __future__ import annotations

from htmx_loads import loaded
from inbound_support import export_customer
from sqlalchemy import select
from test_failed_contact_outlives_safety_net import _add_bad_contact, _listed, _run
from test_relink_clears_old_notes import _text

from colcw_plugin.models import SyncItem, get_link
from colcw_plugin.sync.customers.list_status import row_states
from helpers import csrf_from
from host_stub.extensions import db
from host_stub.models import Customer


def _with_failed_contact(sandbox, account: str) -> tuple[Customer, int, object]:
    customer, company, _ = export_customer(sandbox, account_number=account, name=f"Vega Dental {account}")
    _add_bad_contact(customer.id)
    assert _run("customer_export", {"customer_id": customer.id}).status != "succeeded"
    customer = db.session.get(Customer, customer.id)
    quinn = next(c for c in customer.contacts if c.first_name == "Quinn")
    assert get_link(db.session, "contact", quinn.id) is None
    return customer, company, quinn


def _latest(contact_id: int) -> SyncItem:
    db.session.rollback()
    return db.session.execute(select(SyncItem).where(SyncItem.entity == "contact", SyncItem.host_id == contact_id)
                              .order_by(SyncItem.id.desc()).limit(1)).scalar_one()


def test_relinked_to_another_company_the_old_companys_contact_failure_no_longer_fails_the_customer(
        app, fast_callbacks, rep_client):
    sandbox = fast_callbacks
    customer, old, quinn = _with_failed_contact(sandbox, "VEGA1")
    assert _listed(app, customer) == "Failed"
    new = sandbox.api("POST", "company/companies", json={
        "identifier": "VEGA1B", "name": customer.name, "addressLine1": "1 Main St", "city": "Austin", "state": "TX",
        "zip": "73301"}).json()

    token = csrf_from(loaded(rep_client, f"/customers/{customer.id}"))
    resp = rep_client.post(f"/colcw/customers/{customer.id}/relink",
                           data={"company": "VEGA1B", "confirm": str(new["id"]), "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:800]

    assert get_link(db.session, "customer", customer.id).cw_id == new["id"]
    latest = _latest(quinn.id)
    assert latest.action == "cleared" and latest.run_id is None
    assert latest.message.startswith(f"{quinn.name}'s last result, which failed, was about ConnectWise company VEGA1 "
                                     f"(id {old}), which {customer.name} is no longer linked to: the next export "
                                     "links it"), latest.message
    assert _listed(app, customer) == "Linked, not synced yet"
    assert row_states(db.session, [customer.id])[customer.id].label == "Linked, not synced yet"
    assert _listed(app, customer, "?cw=failed") is None
    page = loaded(rep_client, f"/customers/{customer.id}")
    assert 'id="colcw-contact-status"' not in page
    assert "was about ConnectWise company VEGA1" not in _text(page)  # not the customer's latest result


def test_a_cleared_link_ends_the_contacts_old_failure_too(app, fast_callbacks, rep_client):
    customer, old, quinn = _with_failed_contact(fast_callbacks, "VEGA2")
    token = csrf_from(loaded(rep_client, f"/customers/{customer.id}"))
    assert rep_client.post(f"/colcw/customers/{customer.id}/clear-link", data={"csrf_token": token}).status_code == 302
    assert _latest(quinn.id).action == "cleared"
    assert _listed(app, customer) == "Not linked"
    assert 'id="colcw-contact-status"' not in loaded(rep_client, f"/customers/{customer.id}")
