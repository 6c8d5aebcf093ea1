"""The customer page's Clear link confirm says what the clear does to the contacts' links: a contact ConnectWise moved
to another company keeps its link (37072a1), and the confirm said every contact's link was cleared. Now it names the
contact kept and why, and says nothing of the kind for a customer with no such contact (real Chromium: the confirm is
the browser's dialog)."""

from __future__ import annotations

import re

import pytest
from inbound_support import enable
from test_moved_contact_not_recreated import _run, _summit_with_grace

from colcw_plugin.models import CW_MASTER, get_link
from helpers import browser_sign_in
from host_stub.extensions import db

pytestmark = pytest.mark.browser


def _confirm_of_clear(page, url: str, *, accept: bool) -> str:
    page.goto(url)
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept() if accept else dialog.dismiss()))
    page.locator("#colcw-clear-link").click()
    if accept:
        page.wait_for_url(re.compile(r".*/customers/\d+$"))
        page.locator(".flash.success").wait_for()
    else:
        page.wait_for_timeout(200)
    assert asked, "no confirm"
    return asked[0]


def test_the_clear_link_confirm_names_the_moved_contact_whose_link_is_kept(app, fast_callbacks, live_server, page):
    sandbox = fast_callbacks
    summit, _company, grace_id, grace_cw = _summit_with_grace(sandbox)
    db.session.rollback()
    browser_sign_in(page, live_server.url, "riley@demo.example")
    url = f"{live_server.url}/customers/{summit.id}"
    before = _confirm_of_clear(page, url, accept=False)  # no contact moved: every contact's link goes
    assert "and its contacts' links are cleared too. The next export" in before, before
    assert "except" not in before and "kept" not in before, before

    other = sandbox.api("POST", "company/companies", json={
        "identifier": "HARBOR5", "name": "Harbor Quay", "addressLine1": "9 Dock St", "city": "Austin", "state": "TX",
        "phoneNumber": "512-555-0479"})
    assert other.status_code == 201, other.text
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"  # the first pass sets the watermark
    sandbox.edit_contact(grace_cw, {"company": {"id": other.json()["id"]}})  # Grace moved in ConnectWise
    _run("cw_reconcile", {"mode": "changes"})
    assert get_link(db.session, "contact", grace_id).status == "missing_in_cw"
    db.session.rollback()

    asked = _confirm_of_clear(page, url, accept=True)
    assert "and its contacts' links are cleared too, except the link of Grace Brown, whom ConnectWise moved to " \
           "another company: it is kept, so exports of this customer will not create them again. The next export" \
           in asked, asked
    assert "The ConnectWise link of Grace Brown was kept" in page.locator(".flash.success").inner_text()
    db.session.expire_all()
    assert get_link(db.session, "customer", summit.id) is None
    assert get_link(db.session, "contact", grace_id).cw_id == grace_cw  # as the confirm said
