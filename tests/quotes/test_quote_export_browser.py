"""A rep exports a quote, sees it locked with a link to the opportunity, converts it to a sales
order, and the opportunity is Won in the sandbox."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest

from helpers import browser_sign_in

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "quotes"))
from quote_support import line, make_world  # noqa: E402

pytestmark = pytest.mark.browser


def _won(world, opp_id: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if world.status_of(opp_id).get("wonFlag"):
            return True
        time.sleep(0.2)
    return False


def test_rep_exports_a_quote_then_converting_it_sets_the_opportunity_won(app, connected, box, live_server, page,
                                                                          worker_thread):
    world = make_world(connected, box)
    quote = world.quote([line("OPT-7010", qty=3, price=919), line("LAT-5440")], name="Browser deal")
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/documents/{quote.id}")
    assert page.locator("#colcw-export-state").inner_text().startswith("Not exported")
    page.click("#colcw-export-document")
    page.wait_for_url(re.compile(rf".*/colcw/documents/{quote.id}/export$"))
    page.click("#colcw-export-submit")
    page.wait_for_url(re.compile(r".*/export\?run=\d+$"))
    outcome = page.locator("#colcw-outcome")
    outcome.wait_for(timeout=20_000)  # queued, running, then the page reloads with the outcome
    assert outcome.get_attribute("data-action") == "created"
    [opp] = world.opportunities()
    assert f"recid={opp['id']}" in page.locator("#colcw-outcome-opportunity").get_attribute("href")

    page.goto(f"{live_server.url}/documents/{quote.id}")
    assert page.locator("#locked-badge").is_visible()
    link = page.locator("#colcw-opportunity-link")
    assert f"recid={opp['id']}" in link.get_attribute("href")
    assert "Browser deal" in link.inner_text()
    assert page.locator("#colcw-unlock").is_visible()

    page.click("#convert")
    page.wait_for_url(re.compile(r".*/documents/\d+$"))
    assert "Sales order" in page.locator("h1").inner_text()
    assert _won(world, opp["id"]), "the opportunity did not become Won"
    assert sorted(p["catalogItem"]["identifier"] for p in world.products(opp["id"])) == ["LAT-5440", "OPT-7010"]
    page.reload()
    assert f"recid={opp['id']}" in page.locator("#colcw-opportunity-link").get_attribute("href")
