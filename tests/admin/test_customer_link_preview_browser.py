"""Map customers says what linking changes before the link is saved (real Chromium).

Linking a company to a customer gave "Linked 1 ConnectWise company…", and with ConnectWise as the master the next
live-update pass replaced the customer's account number, name, city and state with ConnectWise's, the admin never
told. Now the page says whose values win under the master setting, and Save first shows the fields that differ
side by side (the sync's own field mapping), linking only once the admin confirms.
"""

from __future__ import annotations

import re

import pytest
from admin_support import BASE

from colcw_plugin.models import CW_MASTER, get_link
from colcw_plugin.setup.live_updates import get_live
from helpers import browser_sign_in
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = pytest.mark.browser


def _pick(page, identifier: str, typed: str, label: str):
    row = page.locator(f'tr[data-identifier="{identifier}"]')
    row.locator("input.typeahead").press_sequentially(typed, delay=30)
    row.locator(".suggestions button", has_text=label).click()


@pytest.mark.parametrize("cw_master", [True, False])
def test_saving_a_link_shows_the_fields_that_change_and_links_once_confirmed(connected_demo, live_server, page,
                                                                              cw_master):
    evergreen = Customer(account_number="DEMO00012", name="Evergreen Dental", city="Salem", state="OR")
    db.session.add(evergreen)
    if cw_master:
        get_live(db.session).customer_master = CW_MASTER
    db.session.commit()
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(live_server.url + BASE + "/customers/map")
    page.click("#rescan")
    page.wait_for_url(re.compile(r".*/customers/map$"))
    master = page.locator("#link-master").inner_text()
    if cw_master:
        assert "ConnectWise is the master for customer data" in master
        assert "replaces the customer's mapped fields" in master
    else:
        assert "ChannelOnline is the master for customer data" in master and "the customer keeps its values" in master

    cw = connected_demo.api("GET", "company/companies", params={"conditions": 'identifier="CW0001"'}).json()[0]
    _pick(page, "CW0001", "evergreen", "Evergreen Dental (DEMO00012)")
    page.click("#save-customer-map")
    confirm = page.locator("#link-confirm")
    confirm.wait_for()
    assert get_link(db.session, "customer", evergreen.id) is None  # nothing saved yet
    table = page.locator(f"#link-changes-{cw['id']}")
    assert "Evergreen Dental (DEMO00012) ↔ ConnectWise company CW0001 (Quantum Bakery)" in table.inner_text()
    cells = {r.locator("td").first.inner_text(): r.locator("td").all_inner_texts()[1:]
             for r in table.locator("tbody tr").all()}
    winner = "ConnectWise's" if cw_master else "ChannelOnline's"
    name_after = cw["name"] if cw_master else "Evergreen Dental"
    assert cells["Company Name"] == ["Evergreen Dental", cw["name"], f"{name_after} ({winner})"]
    assert cells["Customer Number"][:2] == ["DEMO00012", "CW0001"]
    assert cells["Company City"][:2] == ["Salem", cw["city"]]
    assert all(mine != theirs for mine, theirs, _ in cells.values())  # only the fields that differ
    if cw_master:
        assert "next live update replaces this customer’s values below with ConnectWise's" in confirm.inner_text()

    page.click("#confirm-customer-map")
    page.wait_for_url(re.compile(r".*/customers/map$"))
    assert "Linked 1 ConnectWise company" in page.locator(".flash.success").inner_text()
    db.session.expire_all()
    assert get_link(db.session, "customer", evergreen.id).cw_id == cw["id"]
