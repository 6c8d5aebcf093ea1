"""Map customers' type-ahead in a real browser (Chromium, PostgreSQL): typing the name with its accents ("Céleste")
suggests the ChannelOnline customer written without them ("Celeste Boutique"), and choosing it fills the row's
choice. Before, the list said no ChannelOnline customer matched."""

from __future__ import annotations

import pytest
from admin_support import BASE

from helpers import browser_sign_in
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = pytest.mark.browser


def test_typing_an_accented_name_suggests_the_customer_written_without_accents(connected, live_server, page):
    company = connected.api("POST", "company/companies", json={"identifier": "CW0005", "name": "Céleste Boutique",
                                                               "city": "Raleigh"}).json()
    celeste = Customer(account_number="CB1", name="Celeste Boutique", city="Raleigh")
    db.session.add_all([celeste, Customer(account_number="CL1", name="Calista Clothing", city="Raleigh")])
    db.session.commit()
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(live_server.url + BASE + "/customers/map")
    with page.expect_navigation():
        page.click("#rescan")
    row = page.locator(f"#company-{company['id']}")
    row.locator("input.typeahead").press_sequentially("Céleste", delay=20)
    suggestions = row.locator(".suggestions li")
    suggestions.first.wait_for()
    assert suggestions.all_inner_texts() == ["Celeste Boutique (CB1) — Raleigh"]
    suggestions.first.locator("button").click()
    assert row.locator(f"input[name=map-{company['id']}]").input_value() == str(celeste.id)
