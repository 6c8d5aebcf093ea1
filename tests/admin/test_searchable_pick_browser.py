"""The "Type to narrow the list" box above a mapping page's select narrows the list and chooses nothing: typing,
clearing or a text nothing matches leaves the saved choice chosen (and shown), so Save keeps it; only an option the
admin picks from the narrowed list is saved. One widget for the sales reps' members and the products' lists."""

from __future__ import annotations

import pytest
from admin_support import rep_mapping, user
from sqlalchemy import select

from colcw_plugin.models import ProductTypeMapping
from helpers import browser_sign_in
from host_stub.extensions import db

pytestmark = pytest.mark.browser

BASE = "/admin/integration/connectwise"


def _shown(page, select_css: str) -> dict:
    """The select's chosen value, whether that option is hidden, and the values of the options shown."""
    return page.eval_on_selector(select_css, """s => ({
        value: s.value, chosenHidden: s.selectedOptions[0].hidden,
        shown: Array.from(s.options).filter(o => !o.hidden).map(o => o.value)})""")


def test_typing_in_the_members_box_changes_no_mapping_until_a_member_is_picked(app, live_server, connected_demo,
                                                                                 page):
    dana = user("dana@demo.example")
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(live_server.url + BASE + "/reps")
    member = f"select[name='member-{dana.id}']"
    page.select_option(member, "ddefault")
    page.click("#save-reps")
    assert "Sales rep mapping saved." in page.locator(".flash.success").inner_text()
    assert rep_mapping(dana)[0] == "ddefault"

    page.goto(live_server.url + BASE + "/reps")
    row = page.locator(f"#rep-{dana.id}")
    search = row.locator("input.colcw-searchable-filter").first
    search.fill("r")  # ddefault (Dana Default) has no "r": it stays chosen and shown, the list narrows around it
    now = _shown(page, member)
    assert now["value"] == "ddefault" and not now["chosenHidden"]
    assert "APIMember" in now["shown"] and "rrep" in now["shown"]
    search.fill("riley")
    now = _shown(page, member)
    assert now["value"] == "ddefault" and not now["chosenHidden"]
    assert set(now["shown"]) == {"", "ddefault", "rrep"}
    search.fill("")
    assert _shown(page, member)["value"] == "ddefault"
    search.fill("zzz")
    now = _shown(page, member)
    assert now["value"] == "ddefault" and set(now["shown"]) == {"", "ddefault"}
    assert "Nothing matches “zzz”" in row.inner_text()
    search.press("Enter")  # a search box's Enter saves nothing
    page.wait_for_timeout(300)
    assert page.locator(".flash").count() == 0
    assert "mapped" in row.locator("td").last.inner_text()

    page.click("#save-reps")
    assert "Sales rep mapping saved." in page.locator(".flash.success").inner_text()
    assert rep_mapping(dana)[0] == "ddefault"
    assert page.locator(member).input_value() == "ddefault"

    # Picking from the narrowed list is a choice: that one is saved.
    page.locator(f"#rep-{dana.id} input.colcw-searchable-filter").first.fill("riley")
    page.select_option(member, "rrep")
    assert _shown(page, member)["value"] == "rrep"
    page.locator(f"#rep-{dana.id} input.colcw-searchable-filter").first.fill("dana")
    now = _shown(page, member)
    assert now["value"] == "rrep" and not now["chosenHidden"]
    page.click("#save-reps")
    assert "Sales rep mapping saved." in page.locator(".flash.success").inner_text()
    assert rep_mapping(dana)[0] == "rrep"


def _product_type(host_type: str) -> str | None:
    db.session.expire_all()
    return db.session.execute(select(ProductTypeMapping.cw_type_name)
                              .where(ProductTypeMapping.host_type == host_type)).scalar_one_or_none()


def test_typing_in_a_product_types_box_keeps_its_type_until_one_is_picked(app, live_server, connected_demo, page):
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(live_server.url + BASE + "/products")
    pick = "select[name='type-Product']"
    page.select_option(pick, "Hardware")
    page.click("#save-types")
    assert "Saved." in page.locator(".flash.success").inner_text()
    assert _product_type("Product") == "Hardware"

    page.goto(live_server.url + BASE + "/products")
    search = page.get_by_label("Search ConnectWise product type for Product", exact=True)
    for text in ("soft", "", "zzz"):
        search.fill(text)
        assert _shown(page, pick)["value"] == "Hardware"
    page.click("#save-types")
    assert "Saved." in page.locator(".flash.success").inner_text()
    assert _product_type("Product") == "Hardware"

    search.fill("soft")
    page.select_option(pick, "Software")
    page.click("#save-types")
    assert "Saved." in page.locator(".flash.success").inner_text()
    assert _product_type("Product") == "Software"
