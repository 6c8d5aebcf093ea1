"""A rep who saves a quote whose opportunity name is longer than ConnectWise holds (100 characters) is told so on the
page they land on, below the save confirmation and apart from it, with the limit and what to do: the quote is saved
all the same (a plugin never stops the reseller's own work). The warning is the export checklist's own sentence."""

from __future__ import annotations

import re

import pytest
from quote_support import line, make_world

from colcw_plugin.sync.quotes.opportunities import NAME_MAX
from helpers import browser_sign_in
from host_stub.extensions import db
from host_stub.models import Document

pytestmark = pytest.mark.browser

LONG_NAME = ("Acme Dental network refresh: core switches, wireless access points, firewall replacement and "
             "cabling works")[:120].ljust(120, "x")


def _save_name(page, base: str, doc_id: int, field_id: int, name: str) -> None:
    page.goto(f"{base}/documents/{doc_id}/edit")
    page.fill(f"input[name=field-{field_id}]", name)
    page.click("#document-form button[type=submit]")
    page.wait_for_url(re.compile(rf".*/documents/{doc_id}$"))


def test_a_rep_saving_a_quote_named_past_the_limit_sees_it_saved_and_warned(app, connected, box, live_server, page):
    assert len(LONG_NAME) == 120 > NAME_MAX
    world = make_world(connected, box)
    quote = world.quote([line("OPT-7010")], name="Network refresh")
    browser_sign_in(page, live_server.url, "riley@demo.example")

    _save_name(page, live_server.url, quote.id, world.field_id, LONG_NAME)
    saved = page.locator(".flash.success")
    warning = page.locator(".flash.warning")
    assert saved.inner_text() == f"Quote {quote.number} saved."
    assert warning.count() == 1 and warning.is_visible()
    said = warning.inner_text()
    assert f"Quote {quote.number} cannot be exported to ConnectWise as it is." in said
    assert "is 120 characters long; ConnectWise allows at most 100." in said and "Shorten the opportunity name on the document." in said
    # Apart from the confirmation: its own box, after it, and coloured otherwise.
    assert page.locator(".flash").evaluate_all("els => els.map(e => e.className)") == ["flash success",
                                                                                         "flash warning"]
    colours = [page.locator(sel).evaluate("e => getComputedStyle(e).backgroundColor")
               for sel in (".flash.success", ".flash.warning")]
    assert colours[0] != colours[1]
    # The quote is saved, the long name with it.
    db.session.expire_all()
    assert db.session.get(Document, quote.id).field_value(world.field_id) == LONG_NAME

    # Shortened, it is saved without a warning.
    _save_name(page, live_server.url, quote.id, world.field_id, LONG_NAME[:NAME_MAX])
    assert page.locator(".flash.success").inner_text() == f"Quote {quote.number} saved."
    assert page.locator(".flash.warning").count() == 0
