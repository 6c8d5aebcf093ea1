"""A rep corrects a contact's address on the customer page and exports it: ConnectWise's contact gets it (real
Chromium, the sandbox over HTTP). The edit fires customer_saved as any other, so colcw marks the customer
'Changed since export' until the export sends the new address."""

from __future__ import annotations

import re

import pytest
from customer_support import contacts_of, export, link_of, make_customer

from helpers import browser_sign_in

pytestmark = pytest.mark.browser


def test_a_contacts_city_edited_on_the_page_reaches_connectwise_at_the_export(sync_ready, live_server, page):
    customer = make_customer()
    assert export(customer.id).status == "succeeded"
    ada_cw = link_of("contact", customer.contacts[0].id).cw_id
    company_cw = link_of("customer", customer.id).cw_id

    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/customers/{customer.id}")
    ada_row = page.locator("#contacts tr", has_text="Ada Lovelace")
    assert "Austin TX" in ada_row.locator("td.contact-address").inner_text()
    page.locator("#colcw-sync-panel").wait_for()  # the ConnectWise panel loads after the page (htmx)
    assert page.locator("#colcw-changed").count() == 0

    page.click("text=Edit")
    ada = page.locator("tbody.contact", has=page.locator("input[name$=-first_name][value=Ada]"))
    ada.get_by_label("Address line 1").fill("200 Congress Ave")
    ada.get_by_label("City").fill("Round Rock")
    ada.get_by_label("Zip / postal code").fill("78664")
    page.click("main button:has-text(\"Save\")")
    page.wait_for_url(re.compile(rf".*/customers/{customer.id}$"))
    assert "200 Congress Ave Round Rock TX 78664" in " ".join(
        page.locator("#contacts tr", has_text="Ada Lovelace").locator("td.contact-address").inner_text().split())
    page.locator("#colcw-sync-panel").wait_for()
    assert page.locator("#colcw-changed").is_visible()  # colcw noticed the edit through customer_saved

    page.click("#colcw-export-customer")
    page.wait_for_load_state()
    assert "Contacts: 1 updated, 1 unchanged." in page.locator(".flash.success").inner_text()
    page.locator("#colcw-sync-panel").wait_for()
    assert page.locator("#colcw-changed").count() == 0
    cw = next(c for c in contacts_of(sync_ready, company_cw) if c["id"] == ada_cw)
    assert (cw["addressLine1"], cw["city"], cw["state"], cw["zip"]) == ("200 Congress Ave", "Round Rock", "TX",
                                                                        "78664")
