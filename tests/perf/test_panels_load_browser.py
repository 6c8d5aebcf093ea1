"""colcw's parts of the host's pages load after the page is shown (real Chromium): the customer page's
ConnectWise panel, a quote's panel and the lists' status cells arrive by themselves and work; without
JavaScript the page links to them."""

from __future__ import annotations

import pytest
from budget_support import synced_world

from colcw_plugin.models import SyncItem, SyncRun
from helpers import browser_sign_in
from host_stub.extensions import db

pytestmark = pytest.mark.postgres


@pytest.fixture()
def world(app):
    ids = synced_world()
    run = SyncRun(kind="customer_export", status="partial")
    db.session.add(run)
    db.session.flush()
    db.session.add(SyncItem(run_id=run.id, entity="customer", direction="export", host_id=ids["customer"],
                            action="failed", label="BUD01", message="BUD01: ConnectWise refused the state.",
                            resolution="Add the state in ConnectWise, then export again."))
    db.session.commit()
    return ids


@pytest.mark.browser
def test_the_customer_page_shows_its_connectwise_panel_after_it_loads(world, live_server, page):
    browser_sign_in(page, live_server.url, "riley@demo.example")
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{live_server.url}/customers/{world['customer']}")
    panel = page.locator("#colcw-sync-panel")
    assert "Linked to company BUD01 (id 901)" in panel.locator("#colcw-link-status").inner_text()
    assert "BUD01: ConnectWise refused the state." in panel.locator("#colcw-last-result").inner_text()
    assert page.locator("#colcw-sync-panel-slot").count() == 0  # the placeholder was replaced
    assert [u for u in requests if u.endswith(f"/colcw/customers/{world['customer']}/panel")], requests

    # What the panel does still works: clear the link (it asks first), and the page (and its panel) say so.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#colcw-clear-link")
    page.wait_for_load_state()
    assert "The ConnectWise link of Budget Bikes (BUD01) was cleared" in page.locator(".flash.success").inner_text()
    assert "Not linked to a ConnectWise company" in page.locator("#colcw-link-status").inner_text()


@pytest.mark.browser
def test_a_quotes_panel_and_the_lists_statuses_load_after_the_page(world, live_server, page):
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/documents/{world['quote']}")
    # (No connection is set up in this world: the panel says so.)
    assert "ConnectWise is not connected yet" in page.locator("#colcw-export-state").inner_text()
    assert page.locator("#colcw-document-panel-slot").count() == 0

    page.goto(f"{live_server.url}/customers/")
    row = page.locator("tr", has_text="Budget Bikes")
    assert row.locator("td[data-column=colcw] .tag").inner_text().strip() == "Failed"
    assert "ConnectWise refused the state" in row.locator("td[data-column=colcw] .tag").get_attribute("title")
    page.goto(f"{live_server.url}/quotes/")
    quote = page.locator("tr", has_text="Budget Bikes")
    assert quote.locator("td[data-column=colcw] .tag").inner_text().strip() == "Exported"


def test_without_javascript_the_pages_link_to_their_connectwise_parts(world, rep_client):
    page = rep_client.get(f"/customers/{world['customer']}").get_data(as_text=True)
    url = f"/colcw/customers/{world['customer']}/panel"
    assert f'<a href="{url}">' in page
    resp = rep_client.get(url)
    own = resp.get_data(as_text=True)  # a page of its own, with the host's layout
    assert "HX-Request" in resp.headers["Vary"]  # a cache keeps it apart from the fragment htmx loads
    assert "<html" in own and 'id="colcw-sync-panel"' in own and "Linked to company <strong>BUD01</strong>" in own
    listing = rep_client.get("/customers/").get_data(as_text=True)
    assert "<noscript>" in listing and "ConnectWise status of these rows" in listing
    statuses = rep_client.get(f"/colcw/lists/customers/status?ids={world['customer']}").get_data(as_text=True)
    assert "<html" in statuses and "Failed" in statuses and "ConnectWise refused the state" in statuses
    assert rep_client.get("/colcw/lists/customers/status?ids=1,x").status_code == 400
    assert rep_client.get("/colcw/lists/nothing/status?ids=1").status_code == 404
