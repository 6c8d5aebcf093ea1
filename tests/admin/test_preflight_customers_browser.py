"""A first-time admin opens the Pre-flight check from the Connection page (real Chromium): its Customers area says
that ConnectWise holds companies linked to no customer, one of them a likely duplicate, and its Open goes to Map
customers."""

from __future__ import annotations

import re

import pytest
from admin_support import BASE

from helpers import browser_sign_in
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = pytest.mark.browser


def test_the_preflight_points_to_map_customers(connected, live_server, page):
    assert connected.api("POST", "company/companies", json={"identifier": "CW-PIO", "name": "Pioneer Outfitters West",
                                                            "city": "Reno", "phoneNumber": "625-555-0142"}).status_code == 201
    db.session.add(Customer(account_number="H-PIO", name="Pioneer Supply", phone="(625) 555-0142"))
    db.session.commit()
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(live_server.url + BASE + "/")
    assert "map them here before exporting customers" in page.locator("#settings").inner_text()
    page.click("#link-preflight")
    area = page.locator('section[data-area="Customers"]')
    area.wait_for()
    text = " ".join(area.inner_text().split())
    assert text.startswith("✗ Customers")
    assert "1 ConnectWise company is linked to no ChannelOnline customer (read now), and 1 of them looks like" in text
    assert "CW-PIO “Pioneer Outfitters West” looks like Pioneer Supply (H-PIO) (same phone number)" in text
    area.get_by_role("link", name="Open").click()
    page.wait_for_url(re.compile(r".*/customers/map$"))
    assert page.locator("h1").inner_text() == "Map customers"
