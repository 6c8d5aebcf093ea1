"""Saving the customer page changes what the person changed and nothing else: the contacts' addresses (which
ConnectWise holds too) are kept, not blanked, and so is ConnectWise's copy at the next export (walkthrough: a phone
edit erased every contact's address in the host, then in ConnectWise). A form that posts no address at all keeps
it too: tests/host/test_contact_addresses.py."""

from __future__ import annotations

import pytest
from form_support import ADDRESS, as_the_browser_posts, bayview_dental

from host_stub.extensions import db
from host_stub.models import Contact


@pytest.fixture
def bayview(app):
    return bayview_dental(both_addressed=True)


def test_a_phone_edit_keeps_every_contacts_address(rep_client, bayview):
    page = rep_client.get(f"/customers/{bayview.id}/edit").get_data(as_text=True)
    data = as_the_browser_posts(page)
    data["phone"] = "629-555-6134"
    data["contacts-1-work_phone"] = "629-555-0199"
    assert rep_client.post(f"/customers/{bayview.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    contacts = db.session.query(Contact).filter_by(customer_id=bayview.id).order_by(Contact.first_name).all()
    assert [c.work_phone or "" for c in contacts] == ["", "629-555-0199"]
    for contact in contacts:
        assert {f: getattr(contact, f) for f in ADDRESS} == ADDRESS, contact.first_name
    assert contacts[0].is_default and contacts[0].email == "lucas@bayview.example"


def test_a_contact_added_on_the_page_starts_without_an_address(rep_client, bayview):
    page = rep_client.get(f"/customers/{bayview.id}/edit").get_data(as_text=True)
    data = as_the_browser_posts(page)
    data["contacts-2-first_name"] = "Noah"
    assert rep_client.post(f"/customers/{bayview.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    noah = db.session.query(Contact).filter_by(customer_id=bayview.id, first_name="Noah").one()
    assert not noah.address1 and not noah.city
    assert db.session.query(Contact).filter_by(customer_id=bayview.id, city="Albany").count() == 2
