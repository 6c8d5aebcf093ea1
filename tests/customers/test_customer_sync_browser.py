"""A rep imports a company through the popup and exports a customer from its page (real Chromium)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from colcw_plugin.cw import conditions as C
from colcw_plugin.models import RepMapping
from colcw_plugin.setup.connection import build_client
from helpers import browser_sign_in
from host_stub.extensions import db
from host_stub.models import StoreSite

pytestmark = pytest.mark.browser


@pytest.fixture()
def mapped_demo(connected_demo, box):
    """The demo tenant, with the store's default rep mapped to its ConnectWise member."""
    with build_client(db.session, box) as client:
        member = client.members.list(conditions=C.eq("identifier", "ddefault"), fields=["id"])[0]
    store = db.session.execute(select(StoreSite)).scalars().first()
    db.session.add(RepMapping(user_id=store.default_rep_id, member_id=member["id"], member_identifier="ddefault"))
    db.session.commit()
    return connected_demo


def test_rep_imports_through_the_popup_then_exports_from_the_customer_page(mapped_demo, live_server, page):
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.click("#colcw-import-link")
    dialog = page.locator("#colcw-import-dialog")
    assert dialog.is_visible()
    dialog.locator("input[name=company]").fill("CW0001")
    dialog.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/customers/\d+$"))
    assert page.locator("h1").inner_text().startswith("Quantum Bakery")
    assert "Imported Quantum Bakery (CW0001) from ConnectWise" in page.locator(".flash.success").inner_text()
    assert "Linked to company CW0001" in page.locator("#colcw-link-status").inner_text()

    # The rep fixes the phone number and sends the change back to ConnectWise.
    page.click("text=Edit")
    page.fill("input[name=phone]", "555-010-9999")
    page.click("main button:has-text(\"Save\")")
    page.wait_for_url(re.compile(r".*/customers/\d+$"))
    page.click("#colcw-export-customer")
    page.wait_for_load_state()
    assert "Updated in ConnectWise: Quantum Bakery (CW0001)" in page.locator(".flash.success").inner_text()
    assert "export" in page.locator("#colcw-last-result").inner_text().lower()
    cw = mapped_demo.api("GET", "company/companies", params={"conditions": 'identifier = "CW0001"'}).json()[0]
    assert cw["phoneNumber"] == "555-010-9999"


def test_popup_shows_what_to_do_for_an_unknown_company_id(mapped_demo, live_server, page):
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.click("#colcw-import-link")
    page.locator("#colcw-import-dialog input[name=company]").fill("NO-SUCH-ID")
    page.locator("#colcw-import-dialog button[type=submit]").click()
    error = page.locator("#colcw-import-error")
    assert "No ConnectWise company has the Company ID “NO-SUCH-ID”" in error.inner_text()
    assert page.locator("input[name=company]").input_value() == "NO-SUCH-ID"
