"""A rep picks the opportunity in a real browser: searches the customer's opportunities, links a quote to
one by id (the name field follows), is warned about a name that differs only by case before anything is
created, and must confirm an export into a Won opportunity (real Chromium, htmx, the sandbox over HTTP)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from helpers import browser_sign_in

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quote_support import checklist_answered, line, make_opportunity, make_world  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture()
def world(connected, box):
    return make_world(connected, box)


def test_rep_searches_links_and_is_warned_about_case_slips(app, world, live_server, page):
    backup = make_opportunity(world, "Backup project 2026", close="2026-11-30", lines=(("OPT-7010", 2, 100),))
    refresh = make_opportunity(world, "Network Refresh", close="2026-10-15")
    make_opportunity(world, "Old win", status="wonFlag")
    quote = world.quote([line("LAT-5440")], name="network refresh")  # a case slip
    browser_sign_in(page, live_server.url, "riley@demo.example")

    # The checklist flags the slip before anything is created, and Export now waits for a confirmation.
    page.goto(f"{live_server.url}/colcw/documents/{quote.id}/export")
    assert "named like “network refresh” but for upper and lower case" in page.locator("#colcw-confirm").inner_text()
    page.click("#colcw-export-submit")  # the confirmation box is required: nothing is sent
    assert page.url.endswith(f"/colcw/documents/{quote.id}/export")
    assert [o["name"] for o in world.opportunities()].count("network refresh") == 0
    page.click(f"#colcw-case-slip [data-link-opportunity='{refresh['id']}']")
    page.wait_for_load_state()
    assert f"is linked to opportunity {refresh['id']} “Network Refresh”" in page.locator(".flash.success").inner_text()
    checklist_answered(page)
    assert page.locator("#colcw-confirm").count() == 0
    assert f"Goes to opportunity {refresh['id']} “Network Refresh”, open." in \
        page.locator("#colcw-check-opportunity").inner_text()

    # On the quote's page: the picker lists the open opportunities with stage, close date and amount.
    other = world.quote([line("OPT-7010")], name="")
    page.goto(f"{live_server.url}/documents/{other.id}")
    page.click("#colcw-choose-opportunity")
    rows = page.locator("#colcw-opportunities tbody tr")
    rows.first.wait_for()
    assert [r.get_attribute("data-opportunity") for r in rows.all()] == [str(refresh["id"]), str(backup["id"])]
    backup_row = page.locator(f"tr[data-opportunity='{backup['id']}']").inner_text()
    assert "2026-11-30" in backup_row and "200.00" in backup_row
    page.fill("#colcw-picker input[name=q]", "backup")
    page.wait_for_function("document.querySelectorAll('#colcw-opportunities tbody tr').length === 1")
    page.click(f"[data-link-opportunity='{backup['id']}']")
    page.wait_for_url(re.compile(rf".*/documents/{other.id}$"))
    assert "Linked to opportunity" in page.locator("#colcw-export-state").inner_text()
    assert page.locator(".custom-field[data-field='Opportunity Name']").inner_text() == "Backup project 2026"


def test_exporting_into_a_won_opportunity_asks_for_confirmation_and_says_what_it_does(app, world, live_server, page,
                                                                                      worker_thread):
    won = make_opportunity(world, "Old win", status="wonFlag")
    quote = world.quote([line("OPT-7010")], name="")
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/documents/{quote.id}")
    page.click("#colcw-choose-opportunity")
    page.locator("#colcw-picker input[name=closed]").check()
    row = page.locator(f"tr[data-opportunity='{won['id']}']")
    row.wait_for()
    assert "Won" in row.inner_text()
    row.locator("button").click()
    page.wait_for_url(re.compile(rf".*/documents/{quote.id}$"))

    page.click("#colcw-export-document")
    page.wait_for_url(re.compile(rf".*/colcw/documents/{quote.id}/export$"))
    confirm = page.locator("#colcw-confirm").inner_text()
    assert f"Opportunity {won['id']} “Old win” is Won in ConnectWise" in confirm
    assert f"Exporting quote {quote.number} adds its lines to it; its status stays Won." in confirm
    page.check("#colcw-confirm-box")
    page.click("#colcw-export-submit")
    outcome = page.locator("#colcw-outcome")
    outcome.wait_for(timeout=20_000)
    assert outcome.get_attribute("data-action") == "updated"
    assert [p["catalogItem"]["identifier"] for p in world.products(won["id"])] == ["OPT-7010"]
    assert len(world.opportunities()) == 1  # no new opportunity
    assert world.status_of(won["id"])["wonFlag"]
