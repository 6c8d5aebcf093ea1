"""Categories under "Use the names from ChannelOnline": the row-by-row mapping is not used, so its rows ("— not mapped —"
in each) are folded away under a summary saying so, and only the pairs ConnectWise lacks read as work to do. Choosing
"Use the mapping below" unfolds them (with JavaScript at once; without it, their summary opens them), and the mode and
the rows save either way."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from colcw_plugin.models import CategoryMapping
from colcw_plugin.setup.common import host_category_pairs
from colcw_plugin.setup.connection import get_settings
from helpers import browser_sign_in, close_context
from host_stub.extensions import db

pytestmark = pytest.mark.browser

PRODUCTS = "/admin/integration/connectwise/products"


def _mode_and_pdus() -> tuple[str, tuple[str, str] | None]:
    db.session.expire_all()
    row = db.session.execute(select(CategoryMapping).where(CategoryMapping.host_category == "Power",
                                                           CategoryMapping.host_subcategory == "PDUs")
                             ).scalar_one_or_none()
    mapped = (row.cw_category_name, row.cw_subcategory_name) if row and row.cw_subcategory_name else None
    return get_settings(db.session).category_mode, mapped


def _names_mode_shows_only_the_gaps(page) -> None:
    section = page.locator("#categories")
    pairs = len(host_category_pairs(db.session))
    assert pairs > 10
    assert page.locator("input[name=category_mode][value=names]").is_checked()
    assert re.search(r"ConnectWise lacks 2 of ChannelOnline's category / sub-category pairs",
                     page.locator("#missing-categories").inner_text())
    # The rows are there (and sent) but not shown: no "— not mapped —" reads as work to do.
    assert page.locator('tr[data-host="Power / PDUs"]').count() == 1
    assert not page.locator('tr[data-host="Power / PDUs"]').is_visible()
    assert section.locator("select:visible, input[type=text]:visible").count() == 0
    assert "not mapped" not in section.inner_text()
    summary = page.locator("#category-rows > summary").inner_text()
    assert "not used while “Use the names from ChannelOnline” is chosen" in summary
    assert f"{pairs} categories / sub-categories" in summary


def test_under_the_names_the_rows_are_folded_and_choosing_the_mapping_unfolds_them(app, live_server, connected_demo,
                                                                                    page):
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(live_server.url + PRODUCTS)
    _names_mode_shows_only_the_gaps(page)

    page.check("input[name=category_mode][value=mapping]")
    row = page.locator('tr[data-host="Power / PDUs"]')
    assert row.is_visible()
    assert "not used" not in page.locator("#category-rows > summary").inner_text()
    row.locator("select").select_option(label="Hardware / Storage")
    page.click("#save-categories")
    page.wait_for_url(re.compile(r".*/products#categories$"))
    assert _mode_and_pdus() == ("mapping", ("Hardware", "Storage"))
    assert page.locator('tr[data-host="Power / PDUs"]').is_visible()  # the mapping is used: its rows show
    assert "1 mapped" in page.locator("#category-rows > summary").inner_text()

    # Back to the names: the rows fold again, and what they hold is kept.
    page.check("input[name=category_mode][value=names]")
    assert not page.locator('tr[data-host="Power / PDUs"]').is_visible()
    page.click("#save-categories")
    page.wait_for_url(re.compile(r".*/products#categories$"))
    assert _mode_and_pdus() == ("names", ("Hardware", "Storage"))
    assert not page.locator('tr[data-host="Power / PDUs"]').is_visible()


def test_without_javascript_the_mode_and_the_rows_still_save(app, live_server, connected_demo, browser):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        browser_sign_in(page, live_server.url, "admin@demo.example")
        page.goto(live_server.url + PRODUCTS)
        _names_mode_shows_only_the_gaps(page)
        page.check("input[name=category_mode][value=mapping]")
        page.click("#category-rows > summary")  # no script to unfold them: the summary does
        page.locator('tr[data-host="Power / PDUs"] select').select_option(label="Hardware / Storage")
        page.click("#save-categories")
        page.wait_for_url(re.compile(r".*/products#categories$"))
        assert _mode_and_pdus() == ("mapping", ("Hardware", "Storage"))
        assert page.locator('tr[data-host="Power / PDUs"]').is_visible()

        # The names again, the rows left folded: they are sent as they were, the mapping kept.
        page.check("input[name=category_mode][value=names]")
        page.click("#save-categories")
        page.wait_for_url(re.compile(r".*/products#categories$"))
        assert _mode_and_pdus() == ("names", ("Hardware", "Storage"))
        assert not page.locator('tr[data-host="Power / PDUs"]').is_visible()
    finally:
        close_context(context)
