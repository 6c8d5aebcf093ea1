"""A rep links a customer to a ConnectWise company from its page (real Chromium): another client's company asks
first — Cancel leaves it alone, Link anyway links it (F1) — and a name typed lists the companies containing it,
each with Link, keeping the text typed (C1)."""

from __future__ import annotations

import re

import pytest
from customer_support import company, link_of, make_customer

from helpers import browser_sign_in
from host_stub.extensions import db

pytestmark = pytest.mark.browser


def _world(sandbox):
    customer = make_customer(name="Bayview Dental", account_number="DEMO00017", city="Seattle", state="WA",
                             zip="98101", contacts=[])
    celeste = sandbox.api("POST", "company/companies", json={
        "identifier": "CW0005", "name": "Céleste Boutique", "city": "Austin", "state": "TX"}).json()
    sandbox.api("POST", "company/companies", json={"identifier": "BTQ2", "name": "Boutique Nord", "city": "Dallas"})
    return customer, celeste


def _link_to(page, text: str) -> None:
    form = page.locator("#colcw-sync-panel #colcw-relink-form")
    form.locator("input[name=company]").fill(text)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def _linked(customer_id: int):
    db.session.rollback()
    return link_of("customer", customer_id)


def test_rep_confirms_before_linking_another_clients_company(sync_ready, live_server, page):
    customer, celeste = _world(sync_ready)
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/customers/{customer.id}")
    _link_to(page, "CW0005")
    question = page.locator("#colcw-relink-question").inner_text()
    assert question.startswith("ConnectWise company CW0005 is “Céleste Boutique” (Austin, TX), not Bayview Dental "
                               "(DEMO00017). Linking makes the next export rename it to “Bayview Dental” and change "
                               "its Company ID to DEMO00017")
    assert _linked(customer.id) is None

    page.click("#colcw-relink-cancel")
    page.wait_for_url(re.compile(rf".*/customers/{customer.id}$"))
    assert "Not linked to a ConnectWise company" in page.locator("#colcw-link-status").inner_text()
    assert _linked(customer.id) is None

    _link_to(page, "CW0005")
    page.click("#colcw-relink-anyway")
    page.wait_for_url(re.compile(rf".*/customers/{customer.id}$"))
    assert ("Linked Bayview Dental (DEMO00017) to ConnectWise company CW0005 (Céleste Boutique)"
            in page.locator(".flash.success").inner_text())
    assert "Linked to company CW0005" in page.locator("#colcw-link-status").inner_text()
    assert _linked(customer.id).cw_id == celeste["id"]
    assert company(sync_ready, celeste["id"])["name"] == "Céleste Boutique"  # nothing sent before an export


def test_rep_types_a_name_and_links_one_of_the_companies_listed(sync_ready, live_server, page):
    customer, celeste = _world(sync_ready)
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/customers/{customer.id}")
    _link_to(page, "boutique")
    choices = page.locator("#colcw-relink-choices li")
    assert sorted(choices.evaluate_all("els => els.map(e => e.dataset.company)")) == ["BTQ2", "CW0005"]
    assert page.locator("#colcw-relink-form input[name=company]").input_value() == "boutique"
    assert _linked(customer.id) is None

    page.click("button[aria-label='Link Céleste Boutique (CW0005)']")
    page.wait_for_load_state()
    assert "is “Céleste Boutique” (Austin, TX), not Bayview Dental" in page.locator("#colcw-relink-question").inner_text()
    page.click("#colcw-relink-anyway")
    page.wait_for_url(re.compile(rf".*/customers/{customer.id}$"))
    assert _linked(customer.id).cw_id == celeste["id"]
