"""Export to ConnectWise on a customer's page, when ConnectWise has a look-alike company (real Chromium): the click
lands on the export's page naming the company (name, Company ID, city), and Link to it links the customer to it;
nothing is created in ConnectWise."""

from __future__ import annotations

import re

import pytest
from customer_support import companies, link_of, make_customer

from helpers import browser_sign_in

pytestmark = pytest.mark.browser


def test_the_export_click_asks_about_the_look_alike_and_links_to_it(sync_ready, live_server, page):
    resp = sync_ready.api("POST", "company/companies", json={"identifier": "ACMEOLD", "name": "The Acme Corp",
                                                             "city": "Round Rock", "state": "TX"})
    assert resp.status_code == 201, resp.text
    customer = make_customer()
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/customers/{customer.id}")
    page.click("#colcw-export-customer")
    page.wait_for_url(re.compile(rf".*/colcw/customers/{customer.id}/export$"))
    row = page.locator("#colcw-export-look-alike-list tbody tr")
    assert row.locator("td").all_inner_texts()[:4] == ["ACMEOLD", "The Acme Corp", "Round Rock, TX", "similar name"]
    assert [c["identifier"] for c in companies(sync_ready)] == ["ACMEOLD"]
    page.locator(f"#colcw-export-link-{resp.json()['id']}").click()
    page.wait_for_url(re.compile(rf".*/customers/{customer.id}$"))
    assert "Linked to company" in page.locator("#colcw-link-status").inner_text()
    assert link_of("customer", customer.id).cw_identifier == "ACMEOLD"
