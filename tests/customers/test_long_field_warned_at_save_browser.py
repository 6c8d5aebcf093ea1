"""A rep who saves a customer whose name, or a contact's first name, is longer than ConnectWise holds is told so on
the page they land on, below the save confirmation and apart from it, naming the field, the limit and what to change,
in the words the customer's export fails with (real Chromium). The customer is saved all the same."""

from __future__ import annotations

import re

import pytest
from customer_support import make_customer

from helpers import browser_sign_in
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = pytest.mark.browser

LONG_NAME = "Bayside Dental and Orthodontic Associates of Greater Austin, LLC"  # 64: the host holds 100, CW 50
LONG_FIRST = "Maximiliana Theodora Alexandrina"  # 32: the host holds 60, ConnectWise 30


def _save(page, base: str, customer_id: int, name: str, first_name: str) -> None:
    page.goto(f"{base}/customers/{customer_id}/edit")
    page.fill("input[name=name]", name)
    page.locator("input[name=contacts-0-first_name]").fill(first_name)
    page.click("#customer-form button[type=submit]")
    page.wait_for_url(re.compile(rf".*/customers/{customer_id}$"))


def test_a_rep_saving_a_customer_with_fields_past_connectwise_limits_sees_it_saved_and_warned(connected, live_server,
                                                                                               page):
    assert len(LONG_NAME) == 64 and len(LONG_FIRST) == 32
    customer = make_customer()
    browser_sign_in(page, live_server.url, "riley@demo.example")

    _save(page, live_server.url, customer.id, LONG_NAME, LONG_FIRST)
    assert page.locator(".flash.success").inner_text() == f"Customer {LONG_NAME} saved."
    warning = page.locator(".flash.warning")
    assert warning.count() == 1 and warning.is_visible()
    said = " ".join(warning.inner_text().split())
    assert said.startswith(f"Customer {LONG_NAME} cannot be exported to ConnectWise as it is. ")
    # The field, the limit and what to change, for the customer and for its contact.
    assert (f"{LONG_NAME} (ACME1): Company Name is 64 characters long; ConnectWise allows at most 50. "
            "Shorten the company name in ChannelOnline and export again.") in said
    assert (f"Contact {LONG_FIRST} Lovelace: First Name is 32 characters long; ConnectWise allows at most 30. "
            "Shorten the first name in ChannelOnline and export again.") in said
    # Apart from the confirmation: its own box, after it.
    assert page.locator(".flash").evaluate_all("els => els.map(e => e.className)") == ["flash success",
                                                                                         "flash warning"]
    # The customer is saved, the long values with it.
    db.session.expire_all()
    saved = db.session.get(Customer, customer.id)
    assert saved.name == LONG_NAME and saved.contacts[0].first_name == LONG_FIRST

    # Within ConnectWise's limits, it is saved without a warning.
    _save(page, live_server.url, customer.id, LONG_NAME[:50], LONG_FIRST[:30])
    assert page.locator(".flash.success").inner_text() == f"Customer {LONG_NAME[:50]} saved."
    assert page.locator(".flash.warning").count() == 0
