"""The walkthrough "an established reseller installs colcw, ConnectWise already holds their customers" (real
Chromium): Read ConnectWise's companies lists the customers it linked by Company ID with the fields that differ, a
likely duplicate says why, and the customer's page says it was linked by Company ID, not synced."""

from __future__ import annotations

import re

import pytest
from admin_support import BASE

from helpers import browser_sign_in
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = pytest.mark.browser


def test_the_scan_shows_what_it_linked_and_the_customer_page_says_how(connected, live_server, page):
    for body in ({"identifier": "H-STER", "name": "Sterling Dental Associates", "city": "Boise",
                  "addressLine1": "200 New Street"},
                 {"identifier": "CW-PIO", "name": "Pioneer Outfitters West", "city": "Reno",
                  "phoneNumber": "625-555-0142"}):
        assert connected.api("POST", "company/companies", json=body).status_code == 201
    sterling = Customer(account_number="H-STER", name="Sterling Dental", city="Boise", address1="1 Old Road")
    db.session.add_all([sterling, Customer(account_number="H-PIO", name="Pioneer Supply", phone="(625) 555-0142")])
    db.session.commit()
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(live_server.url + BASE + "/customers/map")
    page.click("#rescan")
    page.wait_for_url(re.compile(r".*/customers/map\?scan=[\w-]+$"))
    section = page.locator("#scan-linked")
    assert "The scan linked 1 ChannelOnline customer" in section.inner_text()
    table = page.locator(f"#scan-changes-{sterling.id}")
    rows = {r.locator("td").first.inner_text(): r.locator("td").all_inner_texts()[1:]
            for r in table.locator("tbody tr").all()}
    assert rows["Company Name"] == ["Sterling Dental", "Sterling Dental Associates", "Sterling Dental (ChannelOnline's)"]
    assert rows["Company Address Line 1"][:2] == ["1 Old Road", "200 New Street"]
    assert "Company City" not in rows
    assert "ChannelOnline is the master for customer data" in section.inner_text()

    pioneer = page.locator('tr[data-identifier="CW-PIO"] .likely-same')
    assert "Likely the same as ChannelOnline's Pioneer Supply (H-PIO) — same phone number ((625) 555-0142)" in \
        " ".join(pioneer.inner_text().split())

    table.locator("caption a").click()
    page.wait_for_url(re.compile(rf".*/customers/{sterling.id}$"))
    status = page.locator("#colcw-link-status")
    status.wait_for()  # the ConnectWise panel loads after the page (htmx)
    text = " ".join(status.inner_text().split())
    assert "linked by Company ID on" in text and "not synced since" in text and "last synced" not in text
    assert "Map customers' scan" in page.locator("#colcw-last-result").inner_text()
