"""Import From ConnectWise of a company whose Company ID is the account number of a customer linked to nothing, when
only ConnectWise changed the company since the customer was last saved in ChannelOnline: the values that differ are
ConnectWise's newer ones, taking them loses nothing of the rep's, so the popup imports without asking (it said the
customer "holds values edited in ChannelOnline", and after Keep mine, that it "was edited in ChannelOnline since its
last sync": QA walkthrough of `make demo`, Aurora Dental). A customer linked without a sync is not said to be
"edited since its last sync" either. Against the sandbox's demo tenant over HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
from customer_support import import_popup, text_of, update_customer
from sqlalchemy import select, update

from colcw_plugin.models import CUSTOMER, get_link
from colcw_plugin.sync.customers import links as customer_links
from host_stub.extensions import db
from host_stub.models import Contact, Customer, utcnow
from host_stub.seed import seed_demo

AURORA = "DEMO00016"  # Aurora Dental: in the demo tenant with the same identifier, linked to nothing here


@pytest.fixture()
def demo(connected_demo):
    seed_demo(db.session, customers=22, quotes=0)
    # Saved in ChannelOnline a while ago (as the demo's customers were), never touched since.
    customer = _customer(AURORA)
    earlier = utcnow() - dt.timedelta(hours=2)
    db.session.execute(update(Customer).where(Customer.id == customer.id).values(updated_at=earlier))
    db.session.execute(update(Contact).where(Contact.customer_id == customer.id).values(updated_at=earlier))
    db.session.commit()
    return connected_demo


def _customer(account: str) -> Customer:
    db.session.expire_all()
    return db.session.execute(select(Customer).where(Customer.account_number == account)).scalar_one()


def _company(sandbox, identifier: str) -> dict:
    (row,) = [c for c in sandbox.api("GET", "company/companies", params={"pageSize": 1000}).json()
              if c["identifier"] == identifier]
    return row


def _change_in_cw(sandbox) -> dict:
    company = _company(sandbox, AURORA)
    resp = sandbox.api("PATCH", f"company/companies/{company['id']}", json=[
        {"op": "replace", "path": "city", "value": "Boulder"},
        {"op": "replace", "path": "phoneNumber", "value": "303-555-0100"}])
    assert resp.status_code == 200, resp.text
    return _company(sandbox, AURORA)


def test_values_only_connectwise_changed_are_imported_without_saying_the_rep_edited_them(demo, rep_client):
    customer = _customer(AURORA)
    assert (customer.city, customer.phone) != ("Boulder", "303-555-0100")
    _change_in_cw(demo)

    answer = import_popup(rep_client, company=AURORA)
    html = text_of(answer)
    assert "edited in ChannelOnline" not in html, html
    assert 'id="colcw-import-overwrite"' not in html, html
    assert answer.headers.get("HX-Redirect", "").endswith(f"/customers/{customer.id}"), html
    after = _customer(AURORA)
    assert (after.city, after.phone) == ("Boulder", "303-555-0100")
    assert get_link(db.session, CUSTOMER, customer.id) is not None
    assert not customer_links.status(db.session, after).changed


def test_a_rep_edit_saved_after_connectwise_changed_the_company_is_still_asked_about(demo, rep_client):
    customer = _customer(AURORA)
    _change_in_cw(demo)
    db.session.execute(update(Customer).where(Customer.id == customer.id)
                       .values(updated_at=utcnow() + dt.timedelta(seconds=2)))
    db.session.commit()
    update_customer(customer.id, phone="999-555-0000")

    html = text_of(import_popup(rep_client, company=AURORA))
    assert 'id="colcw-import-overwrite"' in html, html
    assert "not linked to ConnectWise yet" in html and "saved in ChannelOnline after ConnectWise last changed" in html
    rows = html.split('id="colcw-import-overwrites"')[1].split("</table>")[0]
    assert "<td>Company Phone</td><td>999-555-0000</td><td>303-555-0100</td>" in rows, rows


def test_a_customer_linked_without_a_sync_is_not_said_to_be_edited_since_its_last_sync(demo, rep_client):
    customer = _customer(AURORA)
    update_customer(customer.id, phone="999-555-0000")
    company = _company(demo, AURORA)
    kept = import_popup(rep_client, company=AURORA, choice="keep", customer=str(customer.id), cw_id=str(company["id"]))
    assert kept.headers.get("HX-Redirect", ""), text_of(kept)

    html = text_of(import_popup(rep_client, company=AURORA))
    assert 'id="colcw-import-overwrite"' in html, html
    assert "since its last sync" not in html, html
    assert "linked to it without importing and not synced since" in html, html
