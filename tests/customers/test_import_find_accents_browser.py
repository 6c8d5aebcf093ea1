"""Import From ConnectWise, typing a name as a rep writes it (real Chromium, the sandbox's demo tenant): "celeste"
offers CW0005 “Céleste Boutique”, "Harbor Logistics, Inc." offers CW0006 “Harbor Logistics Inc”, which one click
imports. Before, both said no company's name contained the text, and the rep created the company again."""

from __future__ import annotations

import re

import pytest

from helpers import browser_sign_in
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = pytest.mark.browser


def _search(page, text: str):
    field = page.locator("#colcw-import-dialog input[name=company][type=text]")
    field.fill(text)
    field.press("Enter")


def test_a_rep_finds_companies_by_names_typed_without_accents_or_with_other_punctuation(sync_ready_demo, live_server,
                                                                                       page):
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.click("#colcw-import-link")
    _search(page, "celeste")
    choice = page.locator("#colcw-import-choices li[data-company=CW0005]")
    choice.wait_for()
    assert "Céleste Boutique" in choice.inner_text()
    assert page.locator("#colcw-import-choices li").count() == 1
    assert page.locator("#colcw-import-error").count() == 0

    _search(page, "Harbor Logistics, Inc.")
    choice = page.locator("#colcw-import-choices li[data-company=CW0006]")
    choice.wait_for()
    assert page.locator("#colcw-import-choices li").count() == 1
    choice.locator("button").click()
    page.wait_for_url(re.compile(r".*/customers/\d+$"))
    assert page.locator("h1").inner_text().startswith("Harbor Logistics Inc")
    db.session.expire_all()
    assert [c.name for c in db.session.query(Customer).filter_by(account_number="CW0006")] == ["Harbor Logistics Inc"]
