"""Every host form checks lengths and required fields against the host's columns and answers with an
error beside the field, keeping what was typed, never a 500, and writing nothing (issue 11, security).

The maximum lengths come from the columns (``host_stub.fields.column_limits``), so each text field of
customers, contacts, documents and lines is tried at its own limit + 1, on PostgreSQL (which refuses an
over-long value outright). Plugins' writes through the gateway get the same rules.
"""

from __future__ import annotations

import html
import re

import pytest
from form_support import error_beside, value_of
from sqlalchemy import func, select

from helpers import csrf_from
from host_stub import services
from host_stub.extensions import db
from host_stub.fields import column_limits
from host_stub.gateway import CONTACT_EDITABLE, CUSTOMER_EDITABLE, UnitOfWork, ValidationError
from host_stub.models import Contact, Customer, CustomField, Document, DocumentLine, User

CUSTOMER_TEXT = [f for f in CUSTOMER_EDITABLE if f in column_limits(Customer)]
CONTACT_FORM = ["title", "first_name", "last_name", "email", "work_phone", "mobile_phone", "home_phone",
                "other_phone", "address1", "address2", "city", "state", "zip"]  # the contact fields the customer page edits
LINE_TEXT = [f for f in ("item_number", "manufacturer", "category", "subcategory") if f in column_limits(DocumentLine)]


def _count(model) -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(model)).scalar()


@pytest.fixture()
def acme(app):
    return services.save_customer({"account_number": "ACME1", "name": "Acme Ltd"},
                                  [{"first_name": "Ann", "last_name": "Lee", "email": "ann@acme.example"}])


def test_the_limits_are_the_columns():
    assert column_limits(Customer)["name"] == 100 and column_limits(Contact)["email"] == 250
    assert len(CUSTOMER_TEXT) >= 12 and set(CONTACT_FORM) <= set(column_limits(Contact))
    assert set(CONTACT_FORM) <= set(CONTACT_EDITABLE)


# -- customers and contacts -------------------------------------------------------------------------


@pytest.mark.parametrize("field", CUSTOMER_TEXT)
def test_a_new_customer_with_an_over_long_field_saves_nothing(rep_client, field):
    limit = column_limits(Customer)[field]
    data = {"account_number": "NEW1", "name": "New Co", field: "x" * (limit + 1)}
    page = rep_client.get("/customers/new").get_data(as_text=True)
    resp = rep_client.post("/customers/new", data={"csrf_token": csrf_from(page), **data})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert f"at most {limit} characters" in error_beside(body, field)
    assert value_of(body, field) == "x" * (limit + 1)  # what was typed is still there
    assert _count(Customer) == 0


def test_a_new_customer_without_name_or_account_number_says_so_beside_each(rep_client):
    page = rep_client.get("/customers/new").get_data(as_text=True)
    resp = rep_client.post("/customers/new", data={"csrf_token": csrf_from(page), "account_number": " ",
                                                   "name": "", "city": "Halifax"})
    body = resp.get_data(as_text=True)
    assert "Enter the customer's name" in error_beside(body, "name")
    assert "Enter an account number" in error_beside(body, "account_number")
    assert value_of(body, "city") == "Halifax"
    assert _count(Customer) == 0


@pytest.mark.parametrize("field", CONTACT_FORM)
def test_an_over_long_contact_field_shows_in_its_row_and_changes_nothing(rep_client, acme, field):
    limit = column_limits(Contact)[field]
    page = rep_client.get(f"/customers/{acme.id}/edit").get_data(as_text=True)
    contact_id = acme.contacts[0].id
    data = {"csrf_token": csrf_from(page), "account_number": "ACME1", "name": "Acme Renamed",
            "contacts-0-id": str(contact_id), "contacts-0-first_name": "Ann", "contacts-0-email": "ann@acme.example",
            "contacts-2-first_name": "Zed", f"contacts-2-{field}": "y" * (limit + 1)}
    body = rep_client.post(f"/customers/{acme.id}/edit", data=data).get_data(as_text=True)
    assert f"at most {limit} characters" in error_beside(body, f"contacts-2-{field}")
    assert value_of(body, f"contacts-2-{field}") == "y" * (limit + 1)
    assert value_of(body, "name") == "Acme Renamed"
    db.session.expire_all()
    assert db.session.get(Customer, acme.id).name == "Acme Ltd" and _count(Contact) == 1


def test_a_contact_without_a_name_is_refused_beside_its_row(rep_client, acme):
    page = rep_client.get(f"/customers/{acme.id}/edit").get_data(as_text=True)
    body = rep_client.post(f"/customers/{acme.id}/edit", data={
        "csrf_token": csrf_from(page), "account_number": "ACME1", "name": "Acme Ltd",
        "contacts-0-id": str(acme.contacts[0].id), "contacts-0-first_name": "Ann",
        "contacts-1-email": "nobody@acme.example"}).get_data(as_text=True)
    assert "enter a first or last name" in error_beside(body, "contacts-1-first_name")
    assert value_of(body, "contacts-1-email") == "nobody@acme.example"
    assert _count(Contact) == 1


def test_a_contact_row_with_only_a_phone_is_an_error_not_silently_dropped(rep_client, acme):
    page = rep_client.get(f"/customers/{acme.id}/edit").get_data(as_text=True)
    body = rep_client.post(f"/customers/{acme.id}/edit", data={
        "csrf_token": csrf_from(page), "account_number": "ACME1", "name": "Acme Ltd",
        "contacts-0-id": str(acme.contacts[0].id), "contacts-0-first_name": "Ann",
        "contacts-2-work_phone": "902-555-0100"}).get_data(as_text=True)
    assert "enter a first or last name" in error_beside(body, "contacts-2-first_name")
    assert value_of(body, "contacts-2-work_phone") == "902-555-0100"
    assert _count(Contact) == 1


def test_a_tampered_contact_row_is_a_bad_request_not_a_500(rep_client, acme):
    page = rep_client.get(f"/customers/{acme.id}/edit").get_data(as_text=True)
    resp = rep_client.post(f"/customers/{acme.id}/edit", data={
        "csrf_token": csrf_from(page), "account_number": "ACME1", "name": "Acme Ltd",
        "contacts-0-id": "not-a-number", "contacts-0-first_name": "Ann"})
    assert resp.status_code == 400


# -- quotes, sales orders, lines, reps ------------------------------------------------------------------


def _post_quote(client, url: str, **fields):
    page = client.get(url).get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_from(page), **fields})


@pytest.mark.parametrize("field", LINE_TEXT)
def test_an_over_long_line_field_shows_beside_it_and_saves_nothing(rep_client, acme, field):
    limit = column_limits(DocumentLine)[field]
    line = {"lines-0-item_number": "A-1", "lines-0-quantity": "1", "lines-0-price": "5", f"lines-0-{field}": "z" * (limit + 1)}
    resp = _post_quote(rep_client, "/quotes/new", customer_id=str(acme.id), title="Over-long", **line)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert f"at most {limit} characters" in error_beside(body, f"lines-0-{field}")
    assert value_of(body, f"lines-0-{field}") == "z" * (limit + 1) and value_of(body, "title") == "Over-long"
    assert _count(Document) == 0


@pytest.mark.parametrize("key, value, expect", [
    ("lines-0-quantity", "1e12", "must be less than"),
    ("lines-0-price", "99999999999", "must be less than"),
    ("lines-0-price", "1e30", "must be less than"),  # (rounded to cents first, it raised: a 500, the edit lost)
    ("lines-0-quantity", "-1e30", "must be less than"),
    ("lines-0-cost", "abc", "must be a number"),
    ("lines-0-item_number", "", "enter the item / part number"),
])
def test_bad_numbers_and_a_missing_item_number_are_field_errors(rep_client, acme, key, value, expect):
    line = {"lines-0-item_number": "A-1", "lines-0-description": "Widget", "lines-0-quantity": "1", key: value}
    body = _post_quote(rep_client, "/quotes/new", customer_id=str(acme.id), **line).get_data(as_text=True)
    assert expect in error_beside(body, key)
    assert _count(Document) == 0 and _count(DocumentLine) == 0


def test_a_line_with_a_price_but_no_item_is_an_error_not_silently_dropped(rep_client, acme):
    body = _post_quote(rep_client, "/quotes/new", customer_id=str(acme.id), **{
        "lines-0-item_number": "A-1", "lines-0-quantity": "1", "lines-0-product_type": "Product",
        "lines-1-quantity": "1", "lines-1-price": "250", "lines-1-product_type": "Service",
        "lines-2-quantity": "1", "lines-2-product_type": "Product"}).get_data(as_text=True)  # an untouched row
    assert "enter the item / part number" in error_beside(body, "lines-1-item_number")
    assert value_of(body, "lines-1-price") == "250"
    assert 'data-error-for="lines-2-item_number"' not in body
    assert _count(Document) == 0


@pytest.mark.parametrize("fields, key, expect", [
    ({"title": "t" * 201}, "title", "at most 200 characters"),
    ({"customer_id": ""}, "customer_id", "Choose the customer"),
    ({"customer_id": "abc"}, "customer_id", "Choose the customer"),
    ({"customer_id": "999999"}, "customer_id", "Choose the customer"),
    ({"sales_rep_id": "999999"}, "sales_rep_id", "no longer exists"),
    ({"sales_rep_id": "x"}, "sales_rep_id", "Choose the sales rep"),
    ({"contact_id": "nope"}, "contact_id", "Choose one of the customer's contacts"),
    ({"follow_up_date": "31/12/2026"}, "follow_up_date", "YYYY-MM-DD"),
])
def test_a_quotes_header_is_checked_field_by_field(rep_client, acme, fields, key, expect):
    data = {"customer_id": str(acme.id), "lines-0-item_number": "A-1", "lines-0-quantity": "2", **fields}
    resp = _post_quote(rep_client, "/quotes/new", **data)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert expect in html.unescape(re.search(rf'data-error-for="{key}">([^<]+)<', body).group(1))
    assert value_of(body, "lines-0-item_number") == "A-1"
    assert _count(Document) == 0


def test_an_over_long_custom_header_field_is_refused_beside_it(rep_client, acme):
    field = services.add_custom_field("PO Reference")
    resp = _post_quote(rep_client, "/quotes/new", customer_id=str(acme.id), **{f"field-{field.id}": "o" * 251})
    body = resp.get_data(as_text=True)
    assert "at most 250 characters" in re.search(rf'data-error-for="custom_fields\[{field.id}\]">([^<]+)<', body).group(1)
    assert value_of(body, f"field-{field.id}") == "o" * 251
    assert _count(Document) == 0


def test_a_sales_orders_edit_is_checked_too_and_changes_nothing(rep_client, acme):
    quote = services.save_document({"customer_id": acme.id, "title": "Kept"}, [{"item_number": "A-1", "price": 5}])
    order = services.convert_quote(quote.id)
    resp = _post_quote(rep_client, f"/documents/{order.id}/edit", customer_id=str(acme.id), title="n" * 201,
                       **{"lines-0-id": str(order.lines[0].id), "lines-0-item_number": "B" * 61})
    body = resp.get_data(as_text=True)
    assert "at most 200 characters" in error_beside(body, "title")
    assert "at most 60 characters" in error_beside(body, "lines-0-item_number")
    db.session.expire_all()
    order = db.session.get(Document, order.id)
    assert order.title == "Kept" and [ln.item_number for ln in order.lines] == ["A-1"]


# -- admin forms and sign-in ---------------------------------------------------------------------------


@pytest.mark.parametrize("name, expect", [("f" * 61, "at most 60 characters"), ("  ", "Enter the field's name")])
def test_the_custom_field_form_shows_its_error_beside_the_field(admin_client, name, expect):
    before = _count(CustomField)
    page = admin_client.get("/admin/custom-fields").get_data(as_text=True)
    resp = admin_client.post("/admin/custom-fields", data={"csrf_token": csrf_from(page), "name": name})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and expect in error_beside(body, "name")
    assert value_of(body, "name") == name
    assert _count(CustomField) == before


@pytest.mark.parametrize("data, key, expect", [
    ({"email": "", "password": "demo"}, "email", "Enter your e-mail address"),
    ({"email": "riley@demo.example", "password": ""}, "password", "Enter your password"),
    ({"email": "e" * 195 + "@x.example", "password": "demo"}, "email", "at most 200 characters"),
    ({"email": "riley@demo.example", "password": "p" * 2000}, "password", "at most 1024 characters"),
])
def test_sign_in_checks_its_fields(client, data, key, expect):
    page = client.get("/login").get_data(as_text=True)
    resp = client.post("/login", data={"csrf_token": csrf_from(page), **data})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and expect in error_beside(body, key)
    assert value_of(body, "email") == data["email"].lower()
    assert "/customers/" not in resp.headers.get("Location", "")


# -- plugins' writes through the gateway ---------------------------------------------------------------


def test_a_plugins_over_long_write_is_a_validation_error_naming_the_field_not_a_database_error(app):
    uow = UnitOfWork(db.session)
    with pytest.raises(ValidationError) as e:
        uow.save_customer({"account_number": "GW1", "name": "Gateway Co", "website": "w" * 201},
                          [{"first_name": "F" * 61, "last_name": "Long"}])
    assert "Website can be at most 200 characters" in e.value.errors["website"]
    assert "Contact 1: First name can be at most 60" in e.value.errors["contacts[0].first_name"]
    uow.rollback()
    with pytest.raises(ValidationError) as e:
        uow.save_document({"customer_id": 1, "title": "T" * 201, "sales_rep_id": 10**6}, [{"item_number": "I" * 61}])
    assert {"customer_id", "title", "sales_rep_id", "lines[0].item_number"} <= set(e.value.errors)
    uow.rollback()
    assert _count(Customer) == 0 and _count(Document) == 0
    rep = db.session.execute(select(User)).scalars().first()
    assert rep is not None  # the session is still usable: nothing reached the database


def test_colcw_imports_an_over_long_connectwise_value_as_one_failed_record(connected, rep_client):
    long_site = "https://" + "w" * 220 + ".example"
    connected.api("POST", "company/companies", json={"identifier": "LONGWEB", "name": "Long Web", "city": "X",
                                                     "website": long_site})
    page = rep_client.get("/colcw/import").get_data(as_text=True)
    resp = rep_client.post("/colcw/import", data={"csrf_token": csrf_from(page), "company": "LONGWEB"})
    body = html.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 400
    assert "Website is 236 characters long; ChannelOnline allows at most 200" in body
    assert "Shorten it in ConnectWise and import again" in body
    assert _count(Customer) == 0
