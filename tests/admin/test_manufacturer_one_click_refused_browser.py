"""In the browser: an admin clicks the one-click alias **Add the alias samsung → Samsung** on the products mapping
page, but the save refuses it (another admin aliased samsung after the page was loaded, or ConnectWise no longer
offers Samsung). The answer is the whole mapping page, with a flash saying the alias was not added and the message
at samsung's row of the aliases table, the other rows and the list of missing manufacturers intact. The one-click
form sends only its own row, and the refused save showed only that row: the admin's other aliases vanished from
the table (saving it then would have shown nothing of them)."""

from __future__ import annotations

import pytest
from admin_support import add_document_lines
from sqlalchemy import select

from colcw_plugin.models import ManufacturerAlias
from helpers import browser_sign_in, configure_sandbox_connection
from host_stub.extensions import db

pytestmark = pytest.mark.browser

PRODUCTS = "/admin/integration/connectwise/products"


def _aliases() -> dict[str, str]:
    db.session.expire_all()
    return {a.host_name: a.cw_manufacturer_name for a in db.session.execute(select(ManufacturerAlias)).scalars()}


def _row(page, name: str):
    return page.locator("#alias-table tbody tr", has=page.get_by_label(f"ConnectWise manufacturer for {name}"))


def _one_click(page):
    return page.get_by_role("button", name="Add the alias samsung → Samsung")


def _open_with_an_alias_and_two_missing(page, live_server, sandbox, box) -> None:
    configure_sandbox_connection(sandbox, box)
    add_document_lines([("samsung", "Peripherals", "Monitors", "Product"),
                        ("NorthPeak Cables", "Cables & Adapters", "Fiber", "Product"),
                        ("Dell Technologies", "Hardware", "Desktops", "Product")])
    db.session.add(ManufacturerAlias(host_name="Dell Technologies", cw_manufacturer_name="Dell"))
    db.session.commit()
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(live_server.url + PRODUCTS)
    assert _one_click(page).count() == 1


def _the_whole_page_is_shown(page) -> None:
    assert "Saved." not in page.locator("main").inner_text()
    for section in ("#types", "#categories", "#manufacturers"):
        assert page.locator(section).count() == 1
    assert "NorthPeak Cables" in page.locator("#missing-manufacturers").inner_text()
    assert _row(page, "Dell Technologies").locator("select").input_value() == "Dell"
    assert _row(page, "NorthPeak Cables").count() == 1
    assert "The alias samsung → Samsung was not added: see its row under Manufacturers." in (
        page.locator(".flash.error").first.inner_text())


def test_an_alias_saved_meanwhile_refuses_the_one_click_on_the_whole_page(app, live_server, cw_sandbox_demo, box,
                                                                           page):
    _open_with_an_alias_and_two_missing(page, live_server, cw_sandbox_demo, box)
    # Another admin aliases samsung while this page is open.
    db.session.add(ManufacturerAlias(host_name="samsung", cw_manufacturer_name="Samsung Display"))
    db.session.commit()

    _one_click(page).click()
    _the_whole_page_is_shown(page)
    row = _row(page, "samsung")
    assert ("Another save changed the alias of samsung after you opened this page: it is now Samsung Display. Your "
            "choice, Samsung, was not saved.") in row.inner_text()
    assert row.locator("select").input_value() == "Samsung"  # the admin's choice, to save on purpose
    assert _aliases() == {"Dell Technologies": "Dell", "samsung": "Samsung Display"}

    page.click("#save-manufacturers")
    assert "Saved." in page.locator(".flash.success").inner_text()
    assert _aliases() == {"Dell Technologies": "Dell", "samsung": "Samsung"}


def test_a_manufacturer_gone_from_connectwise_refuses_the_one_click_on_the_whole_page(app, live_server,
                                                                                       cw_sandbox_demo, box, page):
    _open_with_an_alias_and_two_missing(page, live_server, cw_sandbox_demo, box)
    # A ConnectWise admin deactivates Samsung while this page is open.
    [samsung] = cw_sandbox_demo.api("GET", "procurement/manufacturers",
                                    params={"conditions": 'name="Samsung"'}).json()
    resp = cw_sandbox_demo.api("PATCH", f"procurement/manufacturers/{samsung['id']}",
                               json=[{"op": "replace", "path": "inactiveFlag", "value": True}])
    assert resp.status_code == 200, resp.text

    _one_click(page).click()
    _the_whole_page_is_shown(page)
    assert _row(page, "samsung").locator(".error").inner_text() == (
        "ConnectWise has “Samsung” but marks it inactive: activate it in ConnectWise (System → Setup Tables → "
        "Manufacturer) first, or choose another manufacturer for samsung.")
    assert _aliases() == {"Dell Technologies": "Dell"}
