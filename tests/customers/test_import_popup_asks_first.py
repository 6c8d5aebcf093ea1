"""Import From ConnectWise asks before it loses something: a linked customer's edits not exported yet (named field
by field, ChannelOnline's value beside ConnectWise's), or a second customer that looks like one linked to another
company; and it says what it did in plain words (against the sandbox over HTTP)."""

from __future__ import annotations

from html import unescape

from customer_support import import_popup, make_customer, run, update_customer
from sqlalchemy import func, select

from colcw_plugin.models import CUSTOMER, RecordState, SyncRun, get_link
from colcw_plugin.sync.customers import links as customer_links
from colcw_plugin.sync.customers.list_status import row_states
from host_stub.extensions import db
from host_stub.models import Customer


def _company(sandbox, identifier: str, name: str, **fields) -> dict:
    resp = sandbox.api("POST", "company/companies", json={"identifier": identifier, "name": name, "city": "Austin",
                                                          "state": "TX", **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()




def _runs() -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count(SyncRun.id))).scalar()


def test_importing_over_unexported_edits_asks_first_naming_each_field_then_leaves_it_synced(connected, rep_client):
    _company(connected, "CED5", "Cedar Dental", phoneNumber="512-555-0155", website="https://cedar.example")
    assert run("customer_import", {"company": "CED5"}).status == "succeeded"
    customer = db.session.query(Customer).filter_by(account_number="CED5").one()
    update_customer(customer.id, phone="512-555-9999", website="https://cedar-new.example")
    db.session.expire_all()
    assert customer_links.status(db.session, db.session.get(Customer, customer.id)).changed
    before = _runs()

    asked = import_popup(rep_client, company="CED5")
    html = " ".join(unescape(asked.get_data(as_text=True)).split())
    assert asked.status_code == 200 and 'id="colcw-import-overwrite"' in html, html
    assert "Cedar Dental (CED5)" in html and "not exported" in html
    rows = html.split('id="colcw-import-overwrites"')[1].split("</table>")[0]
    assert "<td>Company Phone</td><td>512-555-9999</td><td>512-555-0155</td>" in rows, rows
    assert "<td>Website</td><td>https://cedar-new.example</td><td>https://cedar.example</td>" in rows, rows
    assert "Company City" not in rows  # only what the import would replace
    db.session.expire_all()
    assert _runs() == before and db.session.get(Customer, customer.id).phone == "512-555-9999"  # nothing done yet

    replaced = import_popup(rep_client, company="CED5", choice="replace")
    assert replaced.headers["HX-Redirect"].endswith(f"/customers/{customer.id}"), replaced.get_data(as_text=True)
    db.session.expire_all()
    again = db.session.get(Customer, customer.id)
    assert (again.phone, again.website) == ("512-555-0155", "https://cedar.example")
    # Both sides agree again: neither the panel nor All Customers says "changed since export".
    assert not customer_links.status(db.session, again).changed
    assert row_states(db.session, [customer.id])[customer.id].state is RecordState.SYNCED


def test_an_import_that_replaces_nothing_the_rep_holds_does_not_ask(connected, rep_client):
    _company(connected, "CED6", "Cedar Dental Two", phoneNumber="512-555-0166")
    run("customer_import", {"company": "CED6"})
    customer = db.session.query(Customer).filter_by(account_number="CED6").one()
    update_customer(customer.id, phone="512-555-0166")  # saved, nothing different from ConnectWise
    answer = import_popup(rep_client, company="CED6")
    assert answer.headers.get("HX-Redirect", "").endswith(f"/customers/{customer.id}"), answer.get_data(as_text=True)
    db.session.expire_all()
    assert not customer_links.status(db.session, db.session.get(Customer, customer.id)).changed


def test_a_look_alike_linked_to_another_company_is_named_with_it_before_a_second_customer(connected, rep_client):
    _company(connected, "NWD1", "Northwind Dental Group")
    run("customer_import", {"company": "NWD1"})
    existing = db.session.query(Customer).filter_by(account_number="NWD1").one()
    existing.name = "Northwind Dental"
    db.session.commit()
    _company(connected, "CW0004", "Northwind Dental", city="Springfield", state="IL")
    before = _runs()

    asked = import_popup(rep_client, company="CW0004")
    html = " ".join(unescape(asked.get_data(as_text=True)).split())
    assert 'id="colcw-import-likely"' in html, html
    assert "Northwind Dental (NWD1)" in html and "already linked to ConnectWise company NWD1 (Northwind Dental Group)" in html
    assert 'id="colcw-import-link-existing"' not in html and 'id="colcw-import-new-anyway"' in html
    assert _runs() == before and db.session.query(Customer).filter_by(name="Northwind Dental").count() == 1

    created = import_popup(rep_client, company="CW0004", choice="new")
    assert "HX-Redirect" in created.headers, created.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.query(Customer).filter_by(name="Northwind Dental").count() == 2


def test_an_account_number_linked_elsewhere_names_that_company_not_its_record_id(connected):
    first = _company(connected, "BRD1", "Blue Ridge Dental Group")
    run("customer_import", {"company": "BRD1"})
    customer = db.session.query(Customer).filter_by(account_number="BRD1").one()
    customer.account_number = "DEMO00002"
    db.session.commit()
    _company(connected, "DEMO00002", "Blue Ridge Dental")
    done = run("customer_import", {"company": "DEMO00002"})
    item = next(i for i in done.items if i.entity == CUSTOMER)
    assert item.action == "failed"
    assert item.message == ("Blue Ridge Dental (DEMO00002): ChannelOnline customer DEMO00002 is already linked to "
                            "another ConnectWise company, BRD1 (Blue Ridge Dental Group)."), item.message
    assert f"id {first['id']}" not in item.message
    assert get_link(db.session, CUSTOMER, customer.id).cw_id == first["id"]


def test_an_import_that_changes_nothing_says_so_in_plain_words(connected, rep_client):
    _company(connected, "CW0002", "Orchard Street Pharmacy")
    run("customer_import", {"company": "CW0002"})
    make_customer(account_number="OTHER9", name="Someone Else")
    answer = import_popup(rep_client, company="CW0002")
    assert "HX-Redirect" in answer.headers
    page = " ".join(unescape(rep_client.get(answer.headers["HX-Redirect"]).get_data(as_text=True)).split())
    assert "Orchard Street Pharmacy (CW0002) is already up to date with ConnectWise." in page, page


def test_a_linked_contact_edited_since_the_sync_is_named_among_what_the_import_replaces(connected, rep_client):
    from host_stub.models import Contact
    from host_stub.services import save_customer

    company = _company(connected, "CED7", "Cedar Dental Seven")
    resp = connected.api("POST", "company/contacts", json={
        "firstName": "Ada", "lastName": "Lovelace", "company": {"id": company["id"]},
        "communicationItems": [{"type": {"name": "Email"}, "value": "ada@cedar.example", "defaultFlag": True}]})
    assert resp.status_code == 201, resp.text
    run("customer_import", {"company": "CED7"})
    customer = db.session.query(Customer).filter_by(account_number="CED7").one()
    (ada,) = customer.contacts
    data = {k: getattr(customer, k) for k in ("name", "account_number", "active", "address1", "address2", "city",
                                              "state", "zip", "country", "website", "phone", "fax", "location_code")}
    contact = {k: getattr(ada, k) for k in ("id", "first_name", "last_name", "title", "email", "work_phone",
                                            "mobile_phone", "home_phone", "other_phone", "is_default")}
    save_customer(data, [{**contact, "email": "ada@new.example"}], customer_id=customer.id)
    db.session.expire_all()
    assert db.session.get(Contact, ada.id).email == "ada@new.example"

    html = " ".join(unescape(import_popup(rep_client, company="CED7").get_data(as_text=True)).split())
    rows = html.split('id="colcw-import-overwrites"')[1].split("</table>")[0]
    assert "<td>Contact Ada Lovelace: Email</td><td>ada@new.example</td><td>ada@cedar.example</td>" in rows, rows
