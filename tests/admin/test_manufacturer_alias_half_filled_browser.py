"""In the browser: an admin types a manufacturer name in the new alias row, leaves "— no alias —" and saves. The row
says what to do and keeps the name; choosing a manufacturer there then saves the alias."""

from __future__ import annotations

import pytest
from admin_support import add_document_lines
from sqlalchemy import select

from colcw_plugin.models import ManufacturerAlias
from helpers import browser_sign_in, configure_sandbox_connection
from host_stub.extensions import db

pytestmark = pytest.mark.browser

PRODUCTS = "/admin/integration/connectwise/products"


def test_a_name_without_an_alias_is_refused_in_its_row_and_kept(app, live_server, cw_sandbox_demo, box, page):
    configure_sandbox_connection(cw_sandbox_demo, box)
    add_document_lines([("Acme Widgets", "Peripherals", "Monitors", "Product")])
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(live_server.url + PRODUCTS)
    new_name = page.get_by_label("New alias: ChannelOnline name")
    new_name.fill("Globex Parts")
    page.click("#save-manufacturers")
    assert "Saved." not in page.locator("main").inner_text()
    row = page.locator("#alias-table tr", has=page.get_by_label("New alias: ChannelOnline name"))
    assert ("Globex Parts has no ConnectWise manufacturer chosen, so no alias would be saved: choose its ConnectWise "
            "manufacturer in this row, or clear the name.") in row.inner_text()
    assert page.get_by_label("New alias: ChannelOnline name").input_value() == "Globex Parts"

    row.locator("select").select_option("Acer")
    page.click("#save-manufacturers")
    assert "Saved." in page.locator(".flash.success").inner_text()
    db.session.expire_all()
    assert {a.host_name: a.cw_manufacturer_name for a in db.session.execute(select(ManufacturerAlias)).scalars()} == {
        "Globex Parts": "Acer"}
