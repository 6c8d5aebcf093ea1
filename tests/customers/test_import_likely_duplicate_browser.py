"""Import From ConnectWise meets a company that looks like an existing customer (real Chromium).

The popup created "Harbor Logistics Inc (CW0006)" beside the existing "Harbor Logistics (DEMO00023)" without a
word, while the bulk import skipped that company as a likely duplicate and Map customers listed the pair. Now the
popup shows the rep that customer first: link the company to it (and import into it), or import as a new one.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from colcw_plugin.models import get_link
from helpers import browser_sign_in
from host_stub.extensions import db
from host_stub.models import Customer
from host_stub.seed import seed_demo

pytestmark = pytest.mark.browser


def _customers_named(prefix: str) -> list[tuple[str, str]]:
    db.session.expire_all()
    return sorted(db.session.execute(select(Customer.name, Customer.account_number)
                                     .where(Customer.name.startswith(prefix))).all())


def _ask_to_import(page, live_server, ident: str):
    browser_sign_in(page, live_server.url, "riley@demo.example")  # a rep, not an admin
    page.click("#colcw-import-link")
    dialog = page.locator("#colcw-import-dialog")
    dialog.locator("input[name=company]").fill(ident)
    dialog.locator("#colcw-import-form button[type=submit]").click()
    likely = dialog.locator("#colcw-import-likely")
    likely.wait_for()
    return dialog, likely


@pytest.fixture()
def demo_customers(sync_ready_demo):
    seed_demo(db.session, customers=24, quotes=0)  # DEMO00023 is "Harbor Logistics", linked to no company
    return sync_ready_demo


def test_popup_shows_the_likely_duplicate_and_links_the_company_to_it(demo_customers, live_server, page):
    before = db.session.execute(select(func.count()).select_from(Customer)).scalar_one()
    dialog, likely = _ask_to_import(page, live_server, "CW0006")
    text = likely.inner_text()
    assert "ConnectWise company CW0006 “Harbor Logistics Inc”" in text
    assert "looks like the ChannelOnline customer Harbor Logistics (DEMO00023) (similar name)" in text
    assert _customers_named("Harbor Logistics") == [("Harbor Logistics", "DEMO00023")]  # nothing imported yet
    # What linking (and importing into it) changes of that customer, side by side.
    rows = {r.locator("td").first.inner_text(): r.locator("td").all_inner_texts()[1:]
            for r in likely.locator("#colcw-import-changes tbody tr").all()}
    assert rows["Company Name"] == ["Harbor Logistics", "Harbor Logistics Inc", "Harbor Logistics Inc"]
    assert rows["Customer Number"] == ["DEMO00023", "CW0006", "CW0006"]

    dialog.locator("#colcw-import-link-existing").click()
    page.wait_for_url(re.compile(r".*/customers/\d+$"))
    customer_id = int(page.url.rsplit("/", 1)[1])
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(Customer)).scalar_one() == before  # no new customer
    customer = db.session.get(Customer, customer_id)
    assert get_link(db.session, "customer", customer_id).cw_identifier == "CW0006"
    # Imported into the existing customer, as the table said.
    assert (customer.name, customer.account_number) == ("Harbor Logistics Inc", "CW0006")
    flashes = page.locator(".flash.success").all_inner_texts()
    assert any("Linked Harbor Logistics (DEMO00023) to ConnectWise company CW0006." in f for f in flashes)
    assert "Linked to company CW0006" in page.locator("#colcw-link-status").inner_text()


def test_popup_imports_as_a_new_customer_when_the_rep_says_it_is_another_company(demo_customers, live_server,
                                                                                page):
    dialog, _ = _ask_to_import(page, live_server, "CW0006")
    dialog.locator("#colcw-import-new-anyway").click()
    page.wait_for_url(re.compile(r".*/customers/\d+$"))
    assert _customers_named("Harbor Logistics") == [("Harbor Logistics", "DEMO00023"),
                                                    ("Harbor Logistics Inc", "CW0006")]
    harbor = db.session.execute(select(Customer).where(Customer.account_number == "DEMO00023")).scalar_one()
    assert get_link(db.session, "customer", harbor.id) is None
