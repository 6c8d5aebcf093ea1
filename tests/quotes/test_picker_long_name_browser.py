"""A rep opening the opportunity picker of a quote whose opportunity name is longer than ConnectWise holds is told what
the export checklist says of that name (its Opportunity row), not offered "colcw creates “<name>”", which the export
refuses (real Chromium: the picker loads into the page through htmx)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from colcw_plugin.sync.quotes.opportunities import NAME_MAX
from helpers import browser_sign_in

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quote_support import line, make_opportunity, make_world  # noqa: E402

pytestmark = pytest.mark.browser

LONG = "Acme Dental network refresh, phase two: " + "y" * 80  # 120 characters


def _said(locator) -> str:
    return " ".join(locator.inner_text().split())


def test_the_picker_says_the_checklists_refusal_of_a_long_name(app, connected, box, live_server, page):
    assert len(LONG) > NAME_MAX
    world = make_world(connected, box)
    make_opportunity(world, "Backup project 2026")
    quote = world.quote([line("OPT-7010")], name=LONG)
    browser_sign_in(page, live_server.url, "riley@demo.example")

    page.goto(f"{live_server.url}/colcw/documents/{quote.id}/export")
    row = page.locator("#colcw-check-opportunity")
    row.wait_for()
    fix = "Shorten the opportunity name on the document."
    refusal = _said(row).removeprefix("✗").strip().removeprefix("Opportunity").strip()  # (then its picker's link)
    assert refusal.startswith("The opportunity name") and fix in refusal
    refusal = refusal[:refusal.index(fix) + len(fix)]

    page.goto(f"{live_server.url}/documents/{quote.id}")
    page.click("#colcw-choose-opportunity")
    said = page.locator("#colcw-picker #colcw-new-opportunity")
    said.wait_for()
    assert page.locator("#colcw-opportunities tbody tr[data-opportunity]").count() == 1  # linking one is offered
    text = _said(said)
    assert "colcw creates" not in text and LONG not in text
    assert text == f"A new opportunity instead: not with this name. {refusal}"
