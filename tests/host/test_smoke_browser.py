"""A person signs in, opens All Customers and a customer, and sees colcw's link."""

from __future__ import annotations

import re

import pytest

from helpers import browser_sign_in
from host_stub.extensions import db
from host_stub.seed import seed_demo

pytestmark = pytest.mark.browser


def test_rep_signs_in_and_sees_the_export_link(app, live_server, page):
    seed_demo(db.session, customers=30, quotes=3)
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.click("text=Customers")
    assert page.locator("h1").inner_text() == "All Customers"
    assert page.locator("#colcw-import-link").inner_text() == "Import From ConnectWise"
    page.locator("table.grid tbody a").first.click()
    page.wait_for_url(re.compile(r".*/customers/\d+$"))
    assert page.locator("#colcw-export-customer").is_visible()
    assert page.locator("#colcw-export-customer").inner_text() == "Export to ConnectWise"
    assert page.locator("#contacts tbody tr").count() >= 2


def test_admin_sees_the_integration_menu(app, live_server, page):
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.click("text=Admin")
    page.click("#integration-menu >> text=ConnectWise")
    assert page.locator("h1").inner_text() == "ConnectWise"
