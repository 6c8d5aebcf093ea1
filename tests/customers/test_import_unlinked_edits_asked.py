"""Import From ConnectWise of a company whose Company ID is the account number of a ChannelOnline customer linked to
nothing: the import links that customer and writes ConnectWise's values into it, so the rep's values that differ
from ConnectWise's are shown first, field by field, with Replace or Keep mine, as for a linked customer's unexported
edits (QA walkthrough of `make demo`: Riverbend Dental's new phone and address were replaced without a word).
Against the sandbox's demo tenant over HTTP."""

from __future__ import annotations

from html import unescape

import pytest
from customer_support import import_popup, text_of, update_customer
from sqlalchemy import func, select

from colcw_plugin.models import CUSTOMER, RecordState, SyncRun, get_link
from colcw_plugin.sync.customers import links as customer_links
from colcw_plugin.sync.customers.list_status import row_states
from host_stub.extensions import db
from host_stub.models import Contact, Customer
from host_stub.seed import seed_demo

RIVERBEND = "DEMO00019"  # in the demo tenant with the same identifier, linked to nothing in ChannelOnline


@pytest.fixture()
def demo(connected_demo):
    seed_demo(db.session, customers=22, quotes=0)
    return connected_demo






def _runs() -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count(SyncRun.id))).scalar()


def _customer(account: str) -> Customer:
    db.session.expire_all()
    return db.session.execute(select(Customer).where(Customer.account_number == account)).scalar_one()


def _company(sandbox, identifier: str) -> dict:
    (row,) = [c for c in sandbox.api("GET", "company/companies", params={"pageSize": 1000}).json()
              if c["identifier"] == identifier]
    return row


def _edit_riverbend(demo) -> tuple[Customer, dict]:
    customer = _customer(RIVERBEND)
    update_customer(customer.id, phone="111-222-3333", address1="NEW ADDRESS 99")
    return _customer(RIVERBEND), _company(demo, RIVERBEND)


def test_importing_into_an_unlinked_customer_with_other_values_asks_first_naming_each_field(demo, rep_client):
    customer, theirs = _edit_riverbend(demo)
    before = _runs()

    asked = import_popup(rep_client, company=RIVERBEND)
    html = text_of(asked)
    assert asked.status_code == 200 and "HX-Redirect" not in asked.headers, html
    assert 'id="colcw-import-overwrite"' in html, html
    assert f"Riverbend Dental ({RIVERBEND})" in html and "not linked to ConnectWise" in html
    rows = html.split('id="colcw-import-overwrites"')[1].split("</table>")[0]
    assert f"<td>Company Phone</td><td>111-222-3333</td><td>{theirs['phoneNumber']}</td>" in rows, rows
    assert f"<td>Company Address Line 1</td><td>NEW ADDRESS 99</td><td>{theirs['addressLine1']}</td>" in rows, rows
    assert "Company City" not in rows and "Company Name" not in rows  # only what the import would replace
    assert 'id="colcw-import-replace"' in html and 'id="colcw-import-keep"' in html
    # Nothing done yet: no run, no link, the rep's values kept.
    assert _runs() == before
    assert get_link(db.session, CUSTOMER, customer.id) is None
    assert (_customer(RIVERBEND).phone, _customer(RIVERBEND).address1) == ("111-222-3333", "NEW ADDRESS 99")

    replaced = import_popup(rep_client, company=RIVERBEND, choice="replace")
    assert replaced.headers["HX-Redirect"].endswith(f"/customers/{customer.id}"), text_of(replaced)
    again = _customer(RIVERBEND)
    assert (again.phone, again.address1) == (theirs["phoneNumber"], theirs["addressLine1"])
    assert get_link(db.session, CUSTOMER, customer.id).cw_id == theirs["id"]
    assert not customer_links.status(db.session, again).changed


def test_keep_mine_links_the_customer_without_importing_and_leaves_its_values_to_export(demo, rep_client):
    customer, theirs = _edit_riverbend(demo)
    asked = text_of(import_popup(rep_client, company=RIVERBEND))
    assert 'id="colcw-import-keep"' in asked, asked
    before = _runs()

    kept = import_popup(rep_client, company=RIVERBEND, choice="keep", customer=str(customer.id), cw_id=str(theirs["id"]))
    assert kept.headers.get("HX-Redirect", "").endswith(f"/customers/{customer.id}"), text_of(kept)
    assert _runs() == before  # nothing imported
    after = _customer(RIVERBEND)
    assert (after.phone, after.address1) == ("111-222-3333", "NEW ADDRESS 99")
    link = get_link(db.session, CUSTOMER, customer.id)
    assert link is not None and link.cw_id == theirs["id"]
    # The rep's values are what the next export sends: "changed since export" on the panel and All Customers.
    assert customer_links.status(db.session, after).changed
    assert row_states(db.session, [customer.id])[customer.id].state is RecordState.CHANGED
    page = " ".join(unescape(rep_client.get(kept.headers["HX-Redirect"]).get_data(as_text=True)).split())
    assert f"Linked Riverbend Dental ({RIVERBEND}) to ConnectWise company {RIVERBEND}" in page, page
    # Importing again now asks as for any linked customer with unexported edits.
    again = text_of(import_popup(rep_client, company=RIVERBEND))
    assert 'id="colcw-import-overwrite"' in again and "111-222-3333" in again, again


def test_an_unlinked_contact_the_import_would_overwrite_is_named_too(demo, rep_client):
    customer = _customer(RIVERBEND)
    contact = db.session.execute(select(Contact).where(Contact.customer_id == customer.id)
                                 .order_by(Contact.id)).scalars().first()
    contact.title = "Chief Everything Officer"
    db.session.commit()
    html = text_of(import_popup(rep_client, company=RIVERBEND))
    rows = html.split('id="colcw-import-overwrites"')[1].split("</table>")[0]
    assert f"<td>Contact {contact.name}: Title</td><td>Chief Everything Officer</td>" in rows, rows
    assert "Company Phone" not in rows


def test_an_unlinked_customer_holding_connectwise_values_or_blanks_is_imported_without_a_question(demo, rep_client):
    customer = _customer(RIVERBEND)
    update_customer(customer.id, website="", fax="")  # blanks ConnectWise fills in: nothing of the rep's is lost
    answer = import_popup(rep_client, company=RIVERBEND)
    assert answer.headers.get("HX-Redirect", "").endswith(f"/customers/{customer.id}"), text_of(answer)
    assert get_link(db.session, CUSTOMER, customer.id) is not None
    assert _customer(RIVERBEND).website == _company(demo, RIVERBEND)["website"]
