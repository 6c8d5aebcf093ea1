"""A converted quote's page offers no dead ends (real Chromium): no "Export to ConnectWise" (it led to "There is
nothing to export here"), the panel says its sales order carries its lines and links to it, and it offers no
Unlock: the quote stays locked, as editing it would change nothing in ConnectWise (Unlock said "After editing it,
export it again to update ConnectWise", which a converted quote cannot be)."""

from __future__ import annotations

import re

import pytest
from quote_support import line, make_world

from helpers import browser_sign_in

pytestmark = pytest.mark.browser


def test_a_converted_quotes_page_points_to_its_sales_order_instead_of_an_export(
        app, connected, box, live_server, page, worker_thread):
    world = make_world(connected, box)
    quote = world.quote([line("OPT-7010", qty=2), line("LAT-5440")], name="Converted page deal")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/documents/{quote.id}")
    assert page.locator("#colcw-export-document").count() == 1  # an exported quote not converted yet: offered
    page.click("#convert")
    page.wait_for_url(re.compile(r".*/documents/\d+$"))
    order_url = page.url
    order_number = page.locator("h1").inner_text().split()[2]
    assert order_number.startswith("SO")
    page.locator("h1 #locked-badge").wait_for(timeout=20_000)  # the order's export took over the lines

    page.locator("h1 + .toolbar").get_by_role("link", name=quote.number, exact=True).click()  # "From quote …"
    page.wait_for_url(re.compile(rf".*/documents/{quote.id}$"))
    page.locator("#colcw-converted").wait_for()  # its panel has loaded (after the page)
    assert page.locator("#colcw-export-document").count() == 0
    assert "Export to ConnectWise" not in page.locator("#document-actions").inner_text()
    panel = page.locator("#colcw-document-panel").inner_text()
    assert (f"Converted to sales order {order_number}, which carries its lines to ConnectWise on opportunity "
            f"{opp['id']}: edit and export {order_number} to change them there; {quote.number} itself is not "
            "exported again, so it stays locked: editing it would change nothing in ConnectWise.") in " ".join(
        panel.split())
    # No Unlock: the quote is not exported again (its order is), so editing it would change nothing there.
    assert page.locator("#colcw-unlock").count() == 0
    page.click("#colcw-converted-order")
    page.wait_for_url(order_url)
    assert page.locator("#colcw-export-document").count() == 1  # the order is what exports its lines
