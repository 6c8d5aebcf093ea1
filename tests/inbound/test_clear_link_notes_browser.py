"""A rep clicks Clear link on a customer page showing notes of what live updates found (real Chromium), confirms, and
the page they land on shows none of them (no Keep ChannelOnline's value left without a link), lists them as cleared,
and All Customers says the customer is not linked. Link to Company ID naming the company it is linked to already
says so and leaves the page as it was: its notes, "last synced", All Customers' ConnectWise differs."""

from __future__ import annotations

import re

import pytest
from test_relink_clears_old_notes import _noted
from test_relink_notes_browser import _link_to, _list_state

from helpers import browser_sign_in
from host_stub.extensions import db

pytestmark = pytest.mark.browser


def test_rep_clears_the_link_and_the_notes_go_with_it(app, fast_callbacks, live_server, page):
    customer, old = _noted(fast_callbacks, "CLNB1", rename=True)
    db.session.rollback()
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/customers/{customer.id}")
    page.locator('#colcw-drift tr[data-field="city"]').wait_for()
    assert page.locator("#colcw-drift button", has_text="Keep ChannelOnline's value").count() == 4

    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.locator("#colcw-clear-link").click()
    page.wait_for_url(re.compile(rf".*/customers/{customer.id}$"))
    page.locator("#colcw-link-status").wait_for()
    assert asked and asked[0].startswith("Clear the link between Relink Dental CLNB1 and ConnectWise company CLNB1")

    assert "Not linked to a ConnectWise company" in page.locator("#colcw-link-status").inner_text()
    assert page.locator("#colcw-drift").count() == 0
    assert page.locator("#colcw-id-changed").count() == 0
    assert page.get_by_text("Keep ChannelOnline's value").count() == 0
    assert f"5 notes of what live updates found in company CLNB1-OLD (id {old}) were cleared" in \
        page.locator(".flash.success").inner_text()
    cleared = page.locator("#colcw-dismissed-notes")  # open: no note is left above it
    assert cleared.locator("li").count() == 5
    assert f"Company City of Relink Dental CLNB1 (CLNB1): note cleared: the customer's link to ConnectWise company " \
        f"CLNB1-OLD (id {old}) was cleared" in cleared.inner_text()
    assert _list_state(page, live_server.url, customer.id) == "Not linked"


def test_rep_links_the_company_it_is_linked_to_and_nothing_changes(app, fast_callbacks, live_server, page):
    customer, _ = _noted(fast_callbacks, "CLNB2", rename=False)
    db.session.rollback()
    browser_sign_in(page, live_server.url, "riley@demo.example")
    assert _list_state(page, live_server.url, customer.id) == "Synced — ConnectWise differs (not taken)"
    page.goto(f"{live_server.url}/customers/{customer.id}")
    page.locator('#colcw-drift tr[data-field="city"]').wait_for()

    _link_to(page, customer.id, "CLNB2")
    assert "is already linked to ConnectWise company CLNB2" in page.locator(".flash.success").inner_text()
    status = page.locator("#colcw-link-status").inner_text()
    assert "last synced" in status and "not synced since" not in status, status
    assert page.locator("#colcw-differs").count() == 1
    assert page.locator("#colcw-drift tbody tr").count() == 4
    assert _list_state(page, live_server.url, customer.id) == "Synced — ConnectWise differs (not taken)"
