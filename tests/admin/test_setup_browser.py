"""An admin sets the integration up in the browser: connection to the sandbox, Test Connection, a rep,
a category, and an unmatched company mapped through the type-ahead."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from colcw_plugin.models import CategoryMapping, RepMapping, get_link
from colcw_plugin.setup.connection import get_settings
from helpers import browser_sign_in
from host_stub.extensions import db
from host_stub.models import Customer, User
from host_stub.seed import seed_demo

pytestmark = pytest.mark.browser

BASE = "/admin/integration/connectwise"


def test_admin_configures_tests_and_maps(app, live_server, page, cw_sandbox_demo, box):
    seed_demo(db.session, customers=6, quotes=0)
    db.session.add(Customer(account_number="QB-1", name="Quantum Bakery Ltd", city="Austin"))
    db.session.commit()
    sandbox = cw_sandbox_demo
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(live_server.url + BASE + "/")
    assert page.locator("#not-configured").is_visible()

    # Connection: type it, test it before saving, then save.
    page.fill("input[name=site_url]", sandbox.base_url)
    page.fill("input[name=company_id]", sandbox.company_id)
    page.fill("input[name=public_key]", sandbox.public_key)
    page.fill("input[name=private_key]", sandbox.private_key)
    page.fill("input[name=client_id]", "colcw-browser")
    page.check("input[name=allow_http]")
    page.click("#test-connection")
    result = page.locator("#test-result .flash")
    result.wait_for()
    assert "Connected. ConnectWise version" in result.inner_text()
    assert "APIMember" in result.inner_text()
    assert page.locator("#test-result li.failed").count() == 0
    page.click("#save-connection")
    assert "Connection saved" in page.locator(".flash.success").inner_text()
    assert page.locator("input[name=private_key]").get_attribute("placeholder") == "stored — leave blank to keep"
    page.locator("#new-opportunities-form").wait_for()  # the New opportunities section loads after the page (htmx)
    assert sandbox.private_key not in page.content()

    # A wrong key is reported at the sign-in step, with what to do.
    page.fill("input[name=private_key]", "not-the-key")
    page.click("#test-connection")
    page.locator("#test-result li.failed").first.wait_for()
    failed = page.locator("#test-result li.failed").first
    assert failed.get_attribute("data-problem") == "bad_credentials"
    assert "What to do:" in failed.inner_text()
    page.fill("input[name=private_key]", "")

    # Map a rep from ConnectWise's member list.
    page.click("#link-reps")
    riley = db.session.execute(select(User).where(User.email == "riley@demo.example")).scalar_one()
    page.select_option(f"select[name=member-{riley.id}]", "rrep")
    page.select_option(f"select[name=location-{riley.id}]", "Remote Office")
    page.click("#save-reps")
    assert "Sales rep mapping saved." in page.locator(".flash.success").inner_text()

    # Map a category the sandbox lacks to one it has.
    page.goto(live_server.url + BASE + "/products")
    assert "Power / PDUs" in page.locator("#missing-categories").inner_text()
    page.check("input[name=category_mode][value=mapping]")
    page.locator('tr[data-host="Power / PDUs"] select').select_option(label="Hardware / Storage")
    page.click("#save-categories")
    page.wait_for_url(re.compile(r".*/products#categories$"))

    # Import / map customers: the CW-only company is mapped through the type-ahead.
    page.goto(live_server.url + BASE + "/")
    page.click("#link-import-customers")
    page.wait_for_url(re.compile(r".*/customers/map(\?scan=[\w-]+)?$"))  # with the customers it linked, if any
    row = page.locator('tr[data-identifier="CW0001"]')
    row.locator("input.typeahead").press_sequentially("quantum", delay=30)
    suggestion = row.locator(".suggestions button", has_text="Quantum Bakery Ltd (QB-1)")
    suggestion.click()
    assert row.locator("input.typeahead").input_value() == "Quantum Bakery Ltd (QB-1)"
    page.click("#save-customer-map")
    page.click("#confirm-customer-map")  # after the fields that differ are shown
    assert "Linked 1 ConnectWise company" in page.locator(".flash.success").inner_text()
    assert page.locator('tr[data-identifier="CW0001"]').count() == 0

    db.session.expire_all()
    settings = get_settings(db.session)
    assert settings.site_url == sandbox.base_url and box.decrypt(settings.secret_encrypted) == sandbox.private_key
    mapping = db.session.execute(select(RepMapping).where(RepMapping.user_id == riley.id)).scalar_one()
    assert (mapping.member_identifier, mapping.location_name, mapping.department_name) == ("rrep", "Remote Office",
                                                                                          "Sales")
    category = db.session.execute(select(CategoryMapping).where(CategoryMapping.host_subcategory == "PDUs")).scalar_one()
    assert (category.cw_category_name, category.cw_subcategory_name) == ("Hardware", "Storage")
    assert settings.category_mode == "mapping"
    bakery = db.session.execute(select(Customer).where(Customer.account_number == "QB-1")).scalar_one()
    cw_bakery = sandbox.api("GET", "company/companies", params={"conditions": 'identifier="CW0001"'}).json()[0]
    assert get_link(db.session, "customer", bakery.id).cw_id == cw_bakery["id"]


def test_the_manufacturer_alias_picker_is_searchable(app, live_server, page, cw_sandbox_demo, box):
    from helpers import configure_sandbox_connection

    configure_sandbox_connection(cw_sandbox_demo, box)
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(live_server.url + BASE + "/products")
    picker = page.locator("#alias-table select[name='alias_cw-0']")
    search = page.locator("#alias-table input.colcw-searchable-filter").first
    total = picker.locator("option").count()
    assert total > 5
    search.fill("belk")
    shown = [o for o in picker.locator("option").all() if o.evaluate("o => !o.hidden") and o.get_attribute("value")]
    assert [o.inner_text() for o in shown] == ["Belkin"]
    picker.select_option("Belkin")
    page.locator("#alias-table input[name='alias_host-0']").fill("Belkin Intl")
    page.click("#save-manufacturers")
    assert "Saved." in page.locator(".flash.success").inner_text()
    assert page.locator("#alias-table").inner_text().count("Belkin Intl") == 1
