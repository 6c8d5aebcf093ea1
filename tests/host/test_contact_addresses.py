"""A contact's address (which colcw exports to and imports from the ConnectWise contact, Appendix B) shows on the
customer page and is edited wherever contacts are, the customer edit page and the new customer page, under the
host's rules for the customer's own address (each field as long as its column; the host checks no state list
there, so none here). Fields a form does not post stay as they are, and customer_saved carries the new address."""

from __future__ import annotations

import html
import re

import pytest
from form_support import ADDRESS, as_the_browser_posts, bayview_dental, error_beside, value_of
from sqlalchemy import func, select

from host_stub.extensions import db
from host_stub.hookspecs import hookimpl
from host_stub.models import Contact


@pytest.fixture
def bayview(app):
    return bayview_dental(both_addressed=False)


@pytest.fixture
def saved_events(app):
    """The customer_saved events fired while the test runs (customer snapshot, created)."""
    seen: list[tuple[dict, bool]] = []

    class Listener:
        @hookimpl
        def customer_saved(self, customer, created, actor):
            seen.append((customer, created))

    pm = app.extensions["host_stub"]["pm"]
    listener = Listener()
    pm.register(listener)
    yield seen
    pm.unregister(listener)


def _contact(customer_id: int, first_name: str) -> Contact:
    db.session.expire_all()
    return db.session.execute(select(Contact).where(Contact.customer_id == customer_id,
                                                    Contact.first_name == first_name)).scalar_one()


def _contact_rows(page: str) -> dict[str, str]:
    """The customer page's contact table: each row's text by the contact's name."""
    table = page[page.index('id="contacts"'):]
    table = table[:table.index("</table>")]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]:
        cells = [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split())
                 for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        rows[cells[0]] = " | ".join(cells)
    return rows


def test_the_customer_page_shows_each_contacts_address(rep_client, bayview):
    rows = _contact_rows(rep_client.get(f"/customers/{bayview.id}").get_data(as_text=True))
    assert "9734 King St, Suite 4 Albany NY 12207" in rows["Lucas Müller"]
    assert "No address" in rows["Mia Chen"]


def test_a_contacts_address_is_edited_on_the_page_and_the_rest_kept(rep_client, bayview, saved_events):
    page = rep_client.get(f"/customers/{bayview.id}/edit").get_data(as_text=True)
    assert value_of(page, "contacts-0-city") == "Albany" and value_of(page, "contacts-1-city") == ""
    data = as_the_browser_posts(page)
    data |= {"contacts-0-city": "Troy", "contacts-0-zip": " 12180 ", "contacts-0-address2": "",
             "contacts-1-address1": "1 Pier Rd", "contacts-1-city": "Hudson", "contacts-1-state": "NY"}
    assert rep_client.post(f"/customers/{bayview.id}/edit", data=data).status_code == 302

    lucas, mia = _contact(bayview.id, "Lucas"), _contact(bayview.id, "Mia")
    assert (lucas.address1, lucas.address2, lucas.city, lucas.state, lucas.zip) == (
        "9734 King St", "", "Troy", "NY", "12180")
    assert lucas.email == "lucas@bayview.example" and lucas.is_default
    assert (mia.address1, mia.city, mia.state, mia.work_phone) == ("1 Pier Rd", "Hudson", "NY", "629-555-0101")
    # colcw hears of the change through customer_saved, with the contacts' new addresses.
    [(snapshot, created)] = saved_events
    assert not created
    assert {c["first_name"]: c["city"] for c in snapshot["contacts"]} == {"Lucas": "Troy", "Mia": "Hudson"}
    rows = _contact_rows(rep_client.get(f"/customers/{bayview.id}").get_data(as_text=True))
    assert "9734 King St Troy NY 12180" in rows["Lucas Müller"] and "1 Pier Rd Hudson NY" in rows["Mia Chen"]


def test_a_contact_added_with_a_new_customer_keeps_its_address(rep_client):
    page = rep_client.get("/customers/new").get_data(as_text=True)
    data = as_the_browser_posts(page) | {
        "account_number": "HALI1", "name": "Halifax Marine", "contacts-0-first_name": "Noah",
        **{f"contacts-0-{f}": v for f, v in {"address1": "5 Water St", "city": "Halifax", "state": "NS",
                                              "zip": "B3H 1A1"}.items()}}
    resp = rep_client.post("/customers/new", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    noah = db.session.execute(select(Contact).where(Contact.first_name == "Noah")).scalar_one()
    assert (noah.address1, noah.city, noah.state, noah.zip) == ("5 Water St", "Halifax", "NS", "B3H 1A1")


def test_an_address_typed_without_a_name_is_refused_beside_its_row_not_dropped(rep_client, bayview):
    page = rep_client.get(f"/customers/{bayview.id}/edit").get_data(as_text=True)
    data = as_the_browser_posts(page) | {"contacts-2-city": "Troy", "contacts-0-city": "Schenectady"}
    body = rep_client.post(f"/customers/{bayview.id}/edit", data=data).get_data(as_text=True)
    assert "enter a first or last name" in error_beside(body, "contacts-2-first_name")
    assert value_of(body, "contacts-2-city") == "Troy" and value_of(body, "contacts-0-city") == "Schenectady"
    assert db.session.execute(select(func.count()).select_from(Contact)).scalar() == 2
    assert _contact(bayview.id, "Lucas").city == "Albany"


def test_a_form_that_posts_no_address_keeps_it(rep_client, bayview):
    """A form made before the page edited addresses (or a client posting names and phones only) leaves them."""
    page = rep_client.get(f"/customers/{bayview.id}/edit").get_data(as_text=True)
    data = {k: v for k, v in as_the_browser_posts(page).items()
            if not re.fullmatch(r"contacts-\d+-(address1|address2|city|state|zip)", k)}
    data["contacts-0-work_phone"] = "629-555-0188"
    assert rep_client.post(f"/customers/{bayview.id}/edit", data=data).status_code == 302
    lucas = _contact(bayview.id, "Lucas")
    assert lucas.work_phone == "629-555-0188"
    assert {f: getattr(lucas, f) for f in ADDRESS} == ADDRESS
