"""A customer's edit form opened before a background change (a live update from ConnectWise writing through the
host's gateway) never reverts it: the form carries what it edits as opened, and a save of a form opened before the
record changed is refused, nothing written, with the current values shown (QA walkthrough: the rep changed only the
Website and the phone ConnectWise had just set went back to the old one, then back to ConnectWise at the next
export). A save with no change in between works as before; two saves of one version, only the first."""

from __future__ import annotations

import html
import re

import pytest
import requests
from form_support import as_the_browser_posts, value_of
from sqlalchemy.orm import Session

from helpers import LiveServer, http_sign_in, post_at_once
from host_stub import services
from host_stub.extensions import db
from host_stub.gateway import UnitOfWork
from host_stub.models import Contact, Customer, Document


@pytest.fixture
def customer(app):
    saved = services.save_customer(
        {"account_number": "IDA57", "name": "Boise Optics", "phone": "208-555-7005", "website": "old.example"},
        [{"first_name": "Ava", "last_name": "Park", "email": "ava@boise.example", "is_default": True}])
    db.session.commit()
    return saved


def in_the_background(customer_id: int, contacts: list[dict] | None = None, **fields) -> None:
    """What a live update does: its own session (another process), through the gateway, committed."""
    with Session(db.engine) as session:
        uow = UnitOfWork(session)
        uow.save_customer(fields, contacts, customer_id=customer_id)
        uow.commit()


def current(customer_id: int) -> Customer:
    db.session.expire_all()
    return db.session.get(Customer, customer_id)


def notice(page: str) -> str:
    return html.unescape(" ".join(re.findall(r'<div class="flash error" role="status">([^<]*)</div>', page)))


def changed_note(page: str, key: str) -> str:
    m = re.search(rf'data-changed-for="{re.escape(key)}">([^<]+)<', page)
    assert m, f"no note beside {key}"
    return html.unescape(m.group(1))


def test_a_form_opened_before_a_live_update_does_not_revert_it(rep_client, customer):
    data = as_the_browser_posts(rep_client.get(f"/customers/{customer.id}/edit").get_data(as_text=True))
    assert data["phone"] == "208-555-7005"
    in_the_background(customer.id, phone="208-555-8888")
    data["website"] = "new.example"
    resp = rep_client.post(f"/customers/{customer.id}/edit", data=data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "This customer was changed since you opened this page" in notice(page)
    assert "nothing was saved" in notice(page)
    after = current(customer.id)
    assert (after.phone, after.website) == ("208-555-8888", "old.example")  # nothing written
    # The page shows the current phone (the rep had left it as it was) and keeps what the rep typed.
    assert value_of(page, "phone") == "208-555-8888"
    assert "208-555-7005" in changed_note(page, "phone") and "208-555-8888" in changed_note(page, "phone")
    assert value_of(page, "website") == "new.example"
    # Saved again as shown: the rep's Website and ConnectWise's phone, both kept.
    again = as_the_browser_posts(page)
    assert rep_client.post(f"/customers/{customer.id}/edit", data=again).status_code == 302
    after = current(customer.id)
    assert (after.phone, after.website) == ("208-555-8888", "new.example")


def test_a_field_changed_on_both_sides_keeps_what_the_rep_typed_and_names_the_current(rep_client, customer):
    data = as_the_browser_posts(rep_client.get(f"/customers/{customer.id}/edit").get_data(as_text=True))
    in_the_background(customer.id, phone="208-555-8888")
    data["phone"] = "208-555-1234"
    page = rep_client.post(f"/customers/{customer.id}/edit", data=data).get_data(as_text=True)
    assert current(customer.id).phone == "208-555-8888"
    assert value_of(page, "phone") == "208-555-1234"
    assert "208-555-8888" in changed_note(page, "phone")


def test_a_contact_changed_or_added_meanwhile_is_shown_and_kept(rep_client, customer):
    data = as_the_browser_posts(rep_client.get(f"/customers/{customer.id}/edit").get_data(as_text=True))
    ava = current(customer.id).contacts[0]
    in_the_background(customer.id, [{"id": ava.id, "work_phone": "208-555-0001"},
                                    {"first_name": "Ben", "last_name": "Cho"}])
    data["website"] = "new.example"
    page = rep_client.post(f"/customers/{customer.id}/edit", data=data).get_data(as_text=True)
    assert "This customer was changed since you opened this page" in notice(page)
    assert value_of(page, "contacts-0-work_phone") == "208-555-0001"
    assert value_of(page, "contacts-1-first_name") == "Ben"
    assert "added meanwhile" in changed_note(page, "contacts-1")
    assert rep_client.post(f"/customers/{customer.id}/edit", data=as_the_browser_posts(page)).status_code == 302
    db.session.expire_all()
    contacts = db.session.query(Contact).filter_by(customer_id=customer.id).order_by(Contact.id).all()
    assert [(c.first_name, c.work_phone) for c in contacts] == [("Ava", "208-555-0001"), ("Ben", "")]
    assert current(customer.id).website == "new.example"


def test_a_save_with_no_change_in_between_works_as_before(rep_client, customer):
    data = as_the_browser_posts(rep_client.get(f"/customers/{customer.id}/edit").get_data(as_text=True))
    data["website"] = "new.example"
    assert rep_client.post(f"/customers/{customer.id}/edit", data=data).status_code == 302
    assert current(customer.id).website == "new.example"
    # The same form posted again (a second tab, a double submit after the first save): refused, nothing written.
    data["website"] = "other.example"
    page = rep_client.post(f"/customers/{customer.id}/edit", data=data).get_data(as_text=True)
    assert "This customer was changed since you opened this page" in notice(page)
    assert current(customer.id).website == "new.example"
    assert value_of(page, "website") == "other.example"


# -- quotes and sales orders ----------------------------------------------------------------------------


@pytest.fixture
def quote(customer):
    saved = services.save_document(
        {"customer_id": customer.id, "title": "Lenses"},
        [{"item_number": "LENS-1", "quantity": 2, "price": 40, "product_type": "Product"},
         {"item_number": "FIT", "quantity": 1, "price": 90, "product_type": "Service"}])
    db.session.commit()
    return saved


def document_form(page: str) -> dict[str, str]:
    """The document form as a browser posts it: its inputs, and each select's chosen option (else its first)."""
    data = as_the_browser_posts(page, "document-form")
    form = page[page.index('id="document-form"'):]
    form = form[:form.index("</form>")]
    for name, options in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        tags = re.findall(r'<option( value="[^"]*")?\s*(selected)?>([^<]*)<', options)
        chosen = [t for t in tags if t[1]] or tags[:1]
        if chosen:
            value, _, text = chosen[0]
            data[name] = html.unescape(value[len(' value="'):-1] if value else text)
    return data


def document_in_the_background(write) -> None:
    """A plugin's write to a document: its own session (another process), through the gateway, committed."""
    with Session(db.engine) as session:
        uow = UnitOfWork(session)
        write(uow)
        uow.commit()


def test_a_quote_form_opened_before_a_plugins_change_of_its_lines_does_not_revert_it(rep_client, quote):
    url = f"/documents/{quote.id}/edit"
    data = document_form(rep_client.get(url).get_data(as_text=True))
    lens, fit = quote.lines
    document_in_the_background(lambda uow: uow.save_document(
        {}, [{"id": lens.id, "item_number": "LENS-1", "quantity": 2, "price": 45, "product_type": "Product"},
             {"id": fit.id, "item_number": "FIT", "quantity": 1, "price": 90, "product_type": "Service"}],
        document_id=quote.id))
    data["title"] = "Lenses, fitted"
    resp = rep_client.post(url, data=data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "This quote was changed since you opened this page" in notice(page)
    db.session.expire_all()

    doc = db.session.get(Document, quote.id)
    assert doc.title == "Lenses" and [str(ln.price) for ln in doc.lines] == ["45.00", "90.00"]
    assert value_of(page, "lines-0-price") == "45.00" and "45.00" in changed_note(page, "lines-0-price")
    assert value_of(page, "title") == "Lenses, fitted"
    assert rep_client.post(url, data=document_form(page)).status_code == 302
    db.session.expire_all()
    doc = db.session.get(Document, quote.id)
    assert doc.title == "Lenses, fitted" and [str(ln.price) for ln in doc.lines] == ["45.00", "90.00"]


def test_a_plugins_lock_and_external_status_do_not_refuse_the_reps_save(rep_client, quote):
    url = f"/documents/{quote.id}/edit"
    data = document_form(rep_client.get(url).get_data(as_text=True))
    document_in_the_background(lambda uow: uow.set_locked(quote.id, True))
    document_in_the_background(lambda uow: uow.set_external_status(quote.id, "ConnectWise", status="open",
                                                                   label="Open in ConnectWise"))
    document_in_the_background(lambda uow: uow.set_locked(quote.id, False))
    data["title"] = "Lenses, fitted"
    assert rep_client.post(url, data=data).status_code == 302
    db.session.expire_all()

    assert db.session.get(Document, quote.id).title == "Lenses, fitted"


def test_a_quote_form_posted_twice_saves_once(rep_client, quote):
    url = f"/documents/{quote.id}/edit"
    data = document_form(rep_client.get(url).get_data(as_text=True))
    data["title"] = "First tab"
    assert rep_client.post(url, data=data).status_code == 302
    data["title"] = "Second tab"
    page = rep_client.post(url, data=data).get_data(as_text=True)
    assert "This quote was changed since you opened this page" in notice(page)
    assert value_of(page, "title") == "Second tab" and "First tab" in changed_note(page, "title")
    db.session.expire_all()

    assert db.session.get(Document, quote.id).title == "First tab"


def test_one_form_saved_from_several_web_processes_at_once_saves_once(app, customer):
    """Each request on its own connection (as separate web processes): the check is the database's, in the saving
    transaction, so of four saves of one form at once exactly one is written and the others are refused."""
    server = LiveServer(app)
    try:
        cookies, _ = http_sign_in(server.url, f"/customers/{customer.id}/edit")
        with requests.Session() as http:
            http.cookies = cookies.copy()
            data = as_the_browser_posts(http.get(f"{server.url}/customers/{customer.id}/edit", timeout=30).text)
        data["website"] = "raced.example"
        answers = post_at_once(4, f"{server.url}/customers/{customer.id}/edit", cookies, data)
    finally:
        server.stop()
    assert sum(f"Customer {customer.name} saved." in a.text for a in answers) == 1
    assert sum("This customer was changed since you opened this page" in html.unescape(a.text) for a in answers) == 3
    assert current(customer.id).website == "raced.example"


def test_a_contact_deleted_meanwhile_stays_deleted_unless_the_rep_had_edited_it(rep_client, customer):
    in_the_background(customer.id, [{"first_name": "Ava", "last_name": "Park", "email": "ava@boise.example",
                                     "id": current(customer.id).contacts[0].id},
                                    {"first_name": "Ben", "last_name": "Cho"}])
    db.session.expire_all()  # the page is read as a new request reads it
    data = as_the_browser_posts(rep_client.get(f"/customers/{customer.id}/edit").get_data(as_text=True))
    ava, ben = current(customer.id).contacts
    with Session(db.engine) as session:  # ConnectWise deleted both
        session.query(Contact).filter(Contact.id.in_([ava.id, ben.id])).delete()
        session.commit()
    data["contacts-1-work_phone"] = "208-555-0002"  # the rep edits Ben, leaves Ava as she was
    page = rep_client.post(f"/customers/{customer.id}/edit", data=data).get_data(as_text=True)
    assert "This customer was changed since you opened this page" in notice(page)
    assert "Ava Park" in changed_note(page, "contacts")
    assert value_of(page, "contacts-0-first_name") == "Ben"
    assert value_of(page, "contacts-0-work_phone") == "208-555-0002"
    assert "deleted meanwhile" in changed_note(page, "contacts-0")
    assert rep_client.post(f"/customers/{customer.id}/edit", data=as_the_browser_posts(page)).status_code == 302
    db.session.expire_all()
    assert [(c.first_name, c.work_phone) for c in db.session.query(Contact).filter_by(customer_id=customer.id)] == [
        ("Ben", "208-555-0002")]


def test_a_line_deleted_meanwhile_stays_deleted_unless_the_rep_had_edited_it(rep_client, quote):
    url = f"/documents/{quote.id}/edit"
    data = document_form(rep_client.get(url).get_data(as_text=True))
    document_in_the_background(lambda uow: uow.save_document({}, [], document_id=quote.id))  # both lines deleted
    data["lines-1-price"] = "95"  # the rep edits FIT, leaves LENS-1 as it was
    page = rep_client.post(url, data=data).get_data(as_text=True)
    assert "This quote was changed since you opened this page" in notice(page)
    assert "LENS-1" in changed_note(page, "lines")
    assert value_of(page, "lines-0-item_number") == "FIT" and value_of(page, "lines-0-price") == "95"
    assert "deleted meanwhile" in changed_note(page, "lines-0")
    assert rep_client.post(url, data=document_form(page)).status_code == 302
    db.session.expire_all()
    assert [(ln.item_number, str(ln.price)) for ln in db.session.get(Document, quote.id).lines] == [("FIT", "95.00")]
