"""A rep links a customer with open notes of what live updates found to another ConnectWise company from its page
(real Chromium): the page they land on shows none of the old company's notes, lists them as cleared, and All
Customers says the customer is linked and not synced yet; Link to the company it is linked to keeps them."""

from __future__ import annotations

import re

import pytest
from test_relink_clears_old_notes import _noted

from helpers import browser_sign_in
from host_stub.extensions import db

pytestmark = pytest.mark.browser


def _link_to(page, customer_id: int, text: str) -> None:
    form = page.locator("#colcw-sync-panel #colcw-relink-form")
    form.locator("input[name=company]").fill(text)
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(rf".*/customers/{customer_id}$"))
    page.locator("#colcw-link-status").wait_for()  # the panel has loaded (after the page)


def _list_state(page, base_url: str, customer_id: int) -> str:
    page.goto(f"{base_url}/customers/")
    return page.locator(f'tr[data-row="{customer_id}"] td[data-column="colcw"] .tag').inner_text().strip()


def test_rep_links_another_company_and_the_old_companys_notes_are_gone(app, fast_callbacks, live_server, page):
    sandbox = fast_callbacks
    customer, old = _noted(sandbox, "RLNB1", rename=True)
    sandbox.api("POST", "company/companies", json={
        "identifier": "RLNB1", "name": customer.name, "addressLine1": "1 Main St", "city": "Boise", "state": "TX",
        "zip": "73301", "country": {"name": "United States"}, "phoneNumber": "512-555-0100",
        "faxNumber": "208-555-1111"})
    db.session.rollback()

    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/customers/{customer.id}")
    page.locator('#colcw-drift tr[data-field="city"]').wait_for()
    assert "changed in ConnectWise to RLNB1-OLD" in page.locator("#colcw-id-changed").inner_text()

    _link_to(page, customer.id, "RLNB1")
    assert "Linked to company RLNB1 " in page.locator("#colcw-link-status").inner_text()
    assert page.locator("#colcw-drift").count() == 0
    assert page.locator("#colcw-id-changed").count() == 0
    assert f"5 notes of what live updates found in company RLNB1-OLD (id {old}) were cleared" in \
        page.locator(".flash.success").inner_text()
    cleared = page.locator("#colcw-dismissed-notes")  # open: no note is left above it
    assert "Company City of Relink Dental RLNB1 (RLNB1): note cleared: the customer was linked to ConnectWise " \
        "company RLNB1" in cleared.inner_text()
    assert cleared.locator("li").count() == 5
    assert _list_state(page, live_server.url, customer.id) == "Linked, not synced yet"


def test_rep_links_the_same_company_and_the_notes_stay(app, fast_callbacks, live_server, page):
    customer, _ = _noted(fast_callbacks, "RLNB2", rename=False)
    db.session.rollback()
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/customers/{customer.id}")
    page.locator('#colcw-drift tr[data-field="city"]').wait_for()

    _link_to(page, customer.id, "RLNB2")
    assert "cleared" not in page.locator(".flash.success").inner_text()
    page.locator('#colcw-drift tr[data-field="city"]').wait_for()
    assert page.locator("#colcw-drift tbody tr").count() == 4
    assert page.locator("#colcw-dismissed-notes").count() == 0
