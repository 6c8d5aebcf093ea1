"""An admin picks the type new opportunities get from ConnectWise's list on the connection page; a rep exports a
quote and the opportunity in ConnectWise has that type."""

from __future__ import annotations

import re

import pytest
from quote_support import line, make_world

from helpers import browser_sign_in, close_context

pytestmark = pytest.mark.browser

BASE = "/admin/integration/connectwise"


def test_admin_picks_a_type_from_the_list_and_the_reps_export_creates_the_opportunity_with_it(
        app, connected, box, live_server, browser, page, worker_thread):
    world = make_world(connected, box)
    connected.set_options(required_fields={"opportunities": ["type"]})  # as a tenant that made the type mandatory
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(live_server.url + BASE + "/")
    # The section loads ConnectWise's list after the page (htmx) and offers only active types.
    picker = page.locator("#new-opportunities select[name=type_id]")
    picker.wait_for()
    assert picker.locator("option").all_inner_texts() == ["ConnectWise's default", "Existing Business",
                                                          "New Business", "Renewal"]
    picker.select_option(label="Renewal")
    page.click("#save-new-opportunities")
    page.wait_for_url(re.compile(r".*/connectwise/#new-opportunities$"))
    assert "New opportunities: saved." in page.locator(".flash.success").inner_text()
    page.locator("#new-opportunities select[name=type_id]").wait_for()
    assert page.locator("#new-opportunities select[name=type_id] option:checked").inner_text() == "Renewal"
    # The section the address points at came after the page: it is scrolled into view, its top on the screen (to
    # within a pixel: scrolled to its top, a layout of fractional heights leaves it a fraction of a pixel above).
    page.wait_for_function("() => { const r = document.querySelector('#new-opportunities').getBoundingClientRect();"
                           " return r.top > -1 && r.top < window.innerHeight; }", timeout=5_000)

    quote = world.quote([line("OPT-7010", qty=2)], name="Browser typed deal")
    rep_context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        rep = rep_context.new_page()
        rep.set_default_timeout(10_000)
        browser_sign_in(rep, live_server.url, "riley@demo.example")
        rep.goto(f"{live_server.url}/documents/{quote.id}")
        rep.click("#colcw-export-document")
        rep.wait_for_url(re.compile(rf".*/colcw/documents/{quote.id}/export$"))
        rep.click("#colcw-export-submit")
        rep.wait_for_url(re.compile(r".*/export\?run=\d+$"))
        outcome = rep.locator("#colcw-outcome")
        outcome.wait_for(timeout=20_000)
        assert outcome.get_attribute("data-action") == "created", outcome.inner_text()
    finally:
        close_context(rep_context)
    [opp] = world.opportunities()
    assert opp["name"] == "Browser typed deal" and opp["type"]["name"] == "Renewal"
