"""Host pages: sign-in, roles, customers, quotes, conversion, CSRF."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from helpers import csrf_from, sign_in
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Customer, Document


@pytest.fixture()
def acme(app):
    return services.save_customer(
        {"account_number": "ACME1", "name": "Acme Ltd", "city": "Toronto", "state": "ON", "phone": "416-555-0101"},
        [{"first_name": "Ann", "last_name": "O'Neil", "email": "ann@acme.example", "is_default": True},
         {"first_name": "Bob", "last_name": "Tremblay"}])


def test_anonymous_visitor_is_sent_to_sign_in(client):
    for path in ["/customers/", "/quotes/", "/admin/"]:
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], path


def test_wrong_password_is_refused(client):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"email": "riley@demo.example", "password": "nope", "csrf_token": token})
    assert resp.status_code == 200
    assert "wrong password" in resp.get_data(as_text=True)


def test_sign_in_never_redirects_off_site(client):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    resp = client.post("/login?next=//evil.example/", data={"email": "riley@demo.example", "password": "demo",
                                                            "csrf_token": token})
    assert resp.headers["Location"].startswith("/customers")


def test_reps_cannot_open_admin_pages(rep_client):
    assert rep_client.get("/admin/").status_code == 403
    assert rep_client.get("/admin/custom-fields").status_code == 403


def test_admin_adds_a_custom_header_field(admin_client):
    page = admin_client.get("/admin/custom-fields").get_data(as_text=True)
    resp = admin_client.post("/admin/custom-fields", data={"name": "CW Opp. Name", "csrf_token": csrf_from(page)},
                             follow_redirects=True)
    assert "CW Opp. Name" in resp.get_data(as_text=True)


def test_post_without_csrf_token_is_rejected(admin_client):
    resp = admin_client.post("/admin/custom-fields", data={"name": "Sneaky"})
    assert resp.status_code == 400
    assert "Sneaky" not in admin_client.get("/admin/custom-fields").get_data(as_text=True)


def test_all_customers_search_and_paging(rep_client):
    from host_stub.seed import seed_demo

    seed_demo(db.session, customers=60, quotes=0)
    body = rep_client.get("/customers/").get_data(as_text=True)
    assert "Page 1 of 3" in body
    body = rep_client.get("/customers/?page=3").get_data(as_text=True)
    assert "Page 3 of 3" in body
    # A page past the last (a bookmark, the list shrank) shows the last page and its rows.
    past = rep_client.get("/customers/?page=99").get_data(as_text=True)
    assert "Page 3 of 3" in past and "Page 99" not in past
    assert re.findall(r"DEMO000\d\d", past) == re.findall(r"DEMO000\d\d", body) != []
    quotes = rep_client.get("/quotes/?page=99")
    assert quotes.status_code == 200 and "Page 99" not in quotes.get_data(as_text=True)
    body = rep_client.get("/customers/?q=DEMO00007").get_data(as_text=True)
    assert "DEMO00007" in body and "DEMO00008" not in body


def test_rep_creates_and_edits_a_customer_with_contacts(rep_client):
    page = rep_client.get("/customers/new").get_data(as_text=True)
    resp = rep_client.post("/customers/new", data={
        "csrf_token": csrf_from(page), "account_number": "NEW1", "name": "Müller & Söhne", "active": "1",
        "state": "QC", "contacts-0-first_name": "Zoé", "contacts-0-last_name": "Lefebvre",
        "contacts-0-email": "zoe@example.com", "default_contact": "0"})
    assert resp.status_code == 302
    customer = db.session.execute(select(Customer).where(Customer.account_number == "NEW1")).scalar_one()
    assert customer.name == "Müller & Söhne"
    assert [(c.first_name, c.is_default) for c in customer.contacts] == [("Zoé", True)]
    body = rep_client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "Müller &amp; Söhne" in body and "Zoé Lefebvre" in body


def test_duplicate_account_number_is_refused_and_nothing_saved(rep_client, acme):
    page = rep_client.get("/customers/new").get_data(as_text=True)
    resp = rep_client.post("/customers/new", data={"csrf_token": csrf_from(page), "account_number": "ACME1",
                                                   "name": "Copy"})
    assert resp.status_code == 200
    assert "already used by another customer" in resp.get_data(as_text=True)
    assert db.session.execute(select(Customer).where(Customer.name == "Copy")).first() is None


def test_quote_create_edit_and_convert(rep_client, acme):
    page = rep_client.get(f"/quotes/new?customer_id={acme.id}").get_data(as_text=True)
    resp = rep_client.post("/quotes/new", data={
        "csrf_token": csrf_from(page), "customer_id": str(acme.id), "contact_id": str(acme.contacts[0].id),
        "title": "Refresh", "follow_up_date": "2026-12-01",
        "lines-0-item_number": "U6-PRO", "lines-0-manufacturer": "Ubiquiti", "lines-0-quantity": "3",
        "lines-0-cost": "149", "lines-0-price": "199", "lines-0-product_type": "Product",
        "lines-1-item_number": "SVC", "lines-1-quantity": "2", "lines-1-price": "125", "lines-1-product_type": "Labor"})
    assert resp.status_code == 302
    quote = db.session.execute(select(Document)).scalar_one()
    assert [ln.item_number for ln in quote.lines] == ["U6-PRO", "SVC"]
    assert quote.total == 847
    view = rep_client.get(f"/documents/{quote.id}").get_data(as_text=True)
    assert "U6-PRO" in view and "847.00" in view

    resp = rep_client.post(f"/documents/{quote.id}/convert", data={"csrf_token": csrf_from(view)})
    order = db.session.execute(select(Document).where(Document.doc_type == "order")).scalar_one()
    assert resp.headers["Location"].endswith(f"/documents/{order.id}")
    assert order.source_quote_id == quote.id and [ln.item_number for ln in order.lines] == ["U6-PRO", "SVC"]
    db.session.refresh(quote)
    assert quote.status == "converted"


def test_bad_line_input_saves_nothing(rep_client, acme):
    page = rep_client.get("/quotes/new").get_data(as_text=True)
    resp = rep_client.post("/quotes/new", data={"csrf_token": csrf_from(page), "customer_id": str(acme.id),
                                                "lines-0-item_number": "X", "lines-0-quantity": "two"})
    assert resp.status_code == 200
    assert "Quantity must be a number" in resp.get_data(as_text=True)
    assert db.session.execute(select(Document)).first() is None


def test_locked_document_cannot_be_edited(rep_client, acme):
    quote = services.save_document({"customer_id": acme.id}, [{"item_number": "A", "price": 1}])
    services.set_locked(quote.id, True)
    resp = rep_client.get(f"/documents/{quote.id}/edit")
    assert resp.status_code == 302
    with pytest.raises(services.ValidationError):
        services.save_document({"title": "x"}, document_id=quote.id)


def test_plugin_links_appear_on_host_pages(admin_client, acme):
    quote = services.save_document({"customer_id": acme.id}, [{"item_number": "A", "price": 1}])
    assert "Import From ConnectWise" in admin_client.get("/customers/").get_data(as_text=True)
    assert "Export to ConnectWise" in admin_client.get(f"/customers/{acme.id}").get_data(as_text=True)
    assert "Export to ConnectWise" in admin_client.get(f"/documents/{quote.id}").get_data(as_text=True)
    assert ">ConnectWise<" in admin_client.get("/admin/").get_data(as_text=True)


def test_sign_out(client):
    sign_in(client, "riley@demo.example")
    page = client.get("/customers/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_from(page)})
    assert client.get("/customers/").status_code == 302


def test_pages_name_a_favicon_that_exists(client):
    body = client.get("/login").get_data(as_text=True)
    icon = re.search(r'rel="icon" href="(/static/favicon\.svg\?v=[0-9a-f]{12})"', body)
    assert icon is not None, body[:600]
    assert client.get(icon.group(1)).status_code == 200


def test_a_plugins_external_status_shows_on_the_document_page_and_in_the_lists(rep_client, acme):
    from host_stub.services import unit_of_work

    quote = services.save_document({"customer_id": acme.id}, [{"item_number": "A", "quantity": 1, "price": 5}])
    other = services.save_document({"customer_id": acme.id}, [{"item_number": "B", "quantity": 1, "price": 5}])
    uow = unit_of_work()
    uow.set_external_status(quote.id, "ConnectWise", status="lost", label="Lost in ConnectWise on 2026-05-04 by Sam",
                            detail="Status: Lost - price", url="https://cw.example/opportunity/8")
    uow.commit()
    view = rep_client.get(f"/documents/{quote.id}").get_data(as_text=True)
    assert "Lost in ConnectWise on 2026-05-04 by Sam" in view and "Status: Lost - price" in view
    assert 'data-status="lost"' in view
    # the link says where it goes: a bare "open" beside "Lost" read as the opportunity's status
    assert re.search(r'<a href="https://cw.example/opportunity/8"[^>]*>Open in ConnectWise</a>', view)
    listing = rep_client.get("/quotes/").get_data(as_text=True)
    assert listing.count('data-external-status="lost"') == 1 and "Lost in ConnectWise on 2026-05-04 by Sam" in listing
    assert "external-status" not in rep_client.get(f"/documents/{other.id}").get_data(as_text=True)


def test_a_quote_of_a_customer_past_the_first_500_by_name_keeps_its_customer_when_edited(rep_client):
    db.session.add_all(Customer(account_number=f"A{n:04d}", name=f"Aardvark {n:04d}") for n in range(500))
    db.session.commit()
    late = services.save_customer({"account_number": "ZED1", "name": "Zed Systems", "state": "ON"},
                                  [{"first_name": "Zoe", "last_name": "Zed", "is_default": True}])
    quote = services.save_document({"customer_id": late.id, "contact_id": late.contacts[0].id, "title": "Late"},
                                   [{"item_number": "U6-PRO", "quantity": 1, "price": 199, "product_type": "Product"}])
    page = rep_client.get(f"/documents/{quote.id}/edit").get_data(as_text=True)
    assert f'<option value="{late.id}" selected>Zed Systems (#ZED1)</option>' in page
    resp = rep_client.post(f"/documents/{quote.id}/edit", data={
        "csrf_token": csrf_from(page), "customer_id": str(late.id), "contact_id": str(late.contacts[0].id),
        "title": "Late, edited", "lines-0-item_number": "U6-PRO", "lines-0-quantity": "2", "lines-0-price": "199",
        "lines-0-product_type": "Product"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Document, quote.id).title == "Late, edited"


def test_list_searches_take_percent_and_underscore_as_typed(rep_client):
    """"%" or "_" typed in a list's search finds the records that contain it, not every record (and the lists'
    "all N matching this search" bulk actions act on what the search shows)."""
    fun = services.save_customer({"account_number": "PCT1", "name": "100% Fun Ltd"}, [])
    services.save_customer({"account_number": "UND_1", "name": "Plain Co"}, [])
    services.save_customer({"account_number": "OTHER", "name": "Other Co"}, [])
    services.save_document({"customer_id": fun.id, "sales_rep_id": 1}, [{"item_number": "L1", "price": 3}])
    other = db.session.scalar(select(Customer).where(Customer.account_number == "OTHER"))
    services.save_document({"customer_id": other.id, "sales_rep_id": 1}, [{"item_number": "L1", "price": 3}])

    def rows(path: str) -> str:
        return rep_client.get(path).get_data(as_text=True)

    body = rows("/customers/?q=%25")
    assert "100% Fun Ltd" in body and "Plain Co" not in body and "Other Co" not in body
    body = rows("/customers/?q=_")
    assert "Plain Co" in body and "100% Fun Ltd" not in body and "Other Co" not in body
    body = rows("/quotes/?q=%25")
    assert "100% Fun Ltd" in body and "Other Co" not in body
    assert "Other Co" not in rows("/quotes/?q=_") and "100% Fun Ltd" not in rows("/quotes/?q=_")
