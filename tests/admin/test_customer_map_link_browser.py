"""A company linked to a customer by hand on Map customers: the customer's page (real Chromium, its ConnectWise panel
loaded after the page) says it was linked on Map customers and not synced since, not "last synced"."""

from __future__ import annotations

import re

import pytest
from admin_support import BASE

from helpers import browser_sign_in
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = pytest.mark.browser


def test_the_customer_page_says_it_was_linked_on_map_customers(connected, live_server, page):
    company = connected.api("POST", "company/companies", json={"identifier": "CW-HAR", "name": "Harbor Logistics Inc",
                                                               "city": "Reno"}).json()
    customer = Customer(account_number="H-HAR", name="Harbor Logistics", city="Reno")
    db.session.add(customer)
    db.session.commit()
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(live_server.url + BASE + "/customers/map")
    with page.expect_navigation():
        page.click("#rescan")  # nothing to link by Company ID: the company is left to map
    assert page.locator(f"#company-{company['id']}").count() == 1
    # Map the company to the customer as the page's form posts it (the typeahead's hidden choice), and confirm.
    answer = page.evaluate("""async ([url, field, value]) => {
        const form = new FormData();
        form.append('csrf_token', document.querySelector('input[name=csrf_token]').value);
        form.append(field, value);
        form.append('confirm', '1');
        const resp = await fetch(url, {method: 'POST', body: form, redirect: 'follow'});
        return resp.status;
    }""", [live_server.url + BASE + "/customers/map", f"map-{company['id']}", str(customer.id)])
    assert answer == 200

    page.goto(f"{live_server.url}/customers/{customer.id}")
    status = page.locator("#colcw-link-status")
    status.wait_for()  # the ConnectWise panel loads after the page (htmx)
    text = " ".join(status.inner_text().split())
    assert re.search(r"linked on Map customers on .+; not synced since\.", text), text
    assert "last synced" not in text
    last = " ".join(page.locator("#colcw-last-result").inner_text().split())
    assert "On Map customers" in last and "Linked to ConnectWise company CW-HAR (Harbor Logistics Inc)" in last, last
