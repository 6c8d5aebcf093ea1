"""A rep who saves a quote under an opportunity name ConnectWise cannot hold lands on its page, whose ConnectWise panel
(loaded after the page) says what the export checklist says of that name, as the save's warning does, not that the
export adds the lines to the opportunity named exactly so (real Chromium)."""

from __future__ import annotations

import re

import pytest
from quote_support import line, make_world

from colcw_plugin.sync.quotes.opportunities import NAME_MAX
from helpers import browser_sign_in

pytestmark = pytest.mark.browser

LONG = "Acme Dental network refresh, phase two: " + "x" * 80  # 120 characters


def test_the_panel_says_the_long_name_is_refused_after_the_save(app, connected, box, live_server, page):
    assert len(LONG) == 120 > NAME_MAX
    world = make_world(connected, box)
    quote = world.quote([line("OPT-7010")], name="Network refresh")
    browser_sign_in(page, live_server.url, "riley@demo.example")

    page.goto(f"{live_server.url}/documents/{quote.id}/edit")
    page.fill(f"input[name=field-{world.field_id}]", LONG)
    page.click("#document-form button[type=submit]")
    page.wait_for_url(re.compile(rf".*/documents/{quote.id}$"))
    state = page.locator("#colcw-document-panel #colcw-export-state")
    state.wait_for()  # the panel loads after the page (htmx)
    said = " ".join(state.inner_text().split())
    assert "named exactly" not in said
    refusal = said.removeprefix("Not exported to ConnectWise yet. ")
    assert refusal.startswith("The opportunity name") and f"is {len(LONG)} characters long; ConnectWise allows at most 100." in refusal
    assert refusal.endswith("Shorten the opportunity name on the document.")
    assert refusal in " ".join(page.locator(".flash.warning").inner_text().split())  # as the save's warning says
