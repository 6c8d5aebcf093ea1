"""The rep's export page in a real browser: a refusal is said once, on its checklist row, with the rep's hint and
a checklist that stays readable (C3); after an export attempt the page shows the checklist as it is now, without a
reload by the rep (F7a); Export now is disabled while the document's export is queued or running, and the
"already being exported" notice goes once it has ended (C2); lines the export would refuse are named (F6)."""

from __future__ import annotations

import re
import threading

import pytest
from quote_support import checklist_answered, line, make_world

from colcw_plugin.setup.connection import get_settings
from colcw_plugin.views.support import ADMIN_ONLY
from helpers import browser_sign_in, close_context
from host_stub.extensions import db

pytestmark = pytest.mark.browser

ADMIN_HINT = ADMIN_ONLY  # what a rep is told of an admin's page
REQUIRED = "requires an opportunity type"  # words of ConnectWise's refusal, as colcw tells it

# How many lines each label of the checklist takes on the screen (its text's line boxes).
LABEL_LINES = """() => Array.from(document.querySelectorAll('#colcw-preflight tr')).map(tr => {
  const range = document.createRange(); range.selectNodeContents(tr.cells[1]);
  const tops = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
  return [tr.cells[1].innerText.trim(), tops.size];
})"""


def _export_from_the_page(page, base: str, doc_id: int) -> None:
    page.goto(f"{base}/colcw/documents/{doc_id}/export")
    page.click("#colcw-export-submit")
    page.wait_for_url(re.compile(r".*/export\?run=\d+$"))
    checklist_answered(page)


def _refused_for_a_mandatory_type(connected, box, live_server, page):
    world = make_world(connected, box)
    connected.set_options(required_fields={"opportunities": ["type"]})  # no type is chosen in colcw
    # ConnectWise takes its time to refuse: the rep lands on the run's page while it runs.
    connected.add_fault(latency_ms=2500, method="POST", path="sales/opportunities")
    quote = world.quote([line("OPT-7010", qty=2)], name="Typed deal")
    browser_sign_in(page, live_server.url, "riley@demo.example")
    _export_from_the_page(page, live_server.url, quote.id)
    assert page.locator("#colcw-progress-text").is_visible()
    assert page.locator("#colcw-check-opportunity.ok").is_visible()  # nothing refused it yet
    outcome = page.locator("#colcw-outcome")
    outcome.wait_for(timeout=20_000)
    assert outcome.get_attribute("data-action") == "failed", outcome.inner_text()
    return world, quote


def test_a_refusal_is_said_once_on_its_row_with_the_reps_hint_and_the_checklist_stays_readable(
        app, connected, box, live_server, page, worker_thread):
    world, quote = _refused_for_a_mandatory_type(connected, box, live_server, page)
    page.goto(page.url)  # the run's page, its outcome shown
    checklist_answered(page)
    assert page.locator("#colcw-outcome[data-action=failed]").is_visible()
    body = page.locator("body").inner_text()
    assert body.count(REQUIRED) == 1, body  # not in the outcome, nor beside Export now: on the row
    row = page.locator("#colcw-check-opportunity")
    assert REQUIRED in row.inner_text() and ADMIN_HINT in row.inner_text()
    assert "✗" in row.inner_text()
    assert page.locator("#colcw-export-submit").is_disabled()
    assert "until “Opportunity” is fixed" in page.locator("#colcw-export-blocked").inner_text()
    # The long text does not squeeze the labels: each stays on one line at this width.
    page.screenshot(path="test-artifacts/checklist-refused-type.png", full_page=True)
    labels = page.evaluate(LABEL_LINES)
    assert all(n == 1 for _, n in labels), labels
    # Opened again without the run: still once.
    page.goto(f"{live_server.url}/colcw/documents/{quote.id}/export")
    checklist_answered(page)
    assert page.locator("body").inner_text().count(REQUIRED) == 1
    assert world.opportunities() == []  # ConnectWise holds nothing half-written


def test_after_a_refused_export_the_page_shows_the_checklist_as_it_is_now(app, connected, box, live_server, page,
                                                                          worker_thread):
    world, quote = _refused_for_a_mandatory_type(connected, box, live_server, page)
    # No reload by the rep: the page the export ended on shows the check failing, with its fix.
    row = page.locator("#colcw-check-opportunity.error")
    row.wait_for(timeout=10_000)
    assert REQUIRED in row.inner_text() and "New opportunities" in row.inner_text()
    assert page.locator("#colcw-export-submit").is_disabled()
    assert page.locator("body").inner_text().count(REQUIRED) == 1
    assert world.opportunities() == []


def test_export_now_is_disabled_while_the_documents_export_is_queued_and_the_notice_goes_when_it_ends(
        app, connected, box, live_server, browser, page, drain_queue):
    world = make_world(connected, box)
    quote_id = world.quote([line("OPT-7010", qty=2)], name="Queued deal").id
    db.session.close()  # this thread reads nothing more: no transaction of its own left open while the pages work
    browser_sign_in(page, live_server.url, "riley@demo.example")
    stale = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    try:
        browser_sign_in(stale, live_server.url, "riley@demo.example")
        stale.goto(f"{live_server.url}/colcw/documents/{quote_id}/export")  # opened before the first click
        checklist_answered(stale)  # its Export now offered, as ConnectWise answered before the export was queued
        _export_from_the_page(page, live_server.url, quote_id)  # queued: no worker runs yet
        assert "Queued" in page.locator("#colcw-progress-text").inner_text()
        assert page.locator("#colcw-export-submit").is_disabled()
        assert "is being exported" in page.locator("#colcw-export-blocked").inner_text()
        # Opened again (another tab, a bookmark): still disabled, with the run's progress.
        page.goto(f"{live_server.url}/colcw/documents/{quote_id}/export")
        checklist_answered(page)  # (Export now is disabled while the checklist is still checking, too)
        assert page.locator("#colcw-export-submit").is_disabled()
        assert page.locator("#colcw-progress-text").is_visible()
        # The stale page's click is handled safely, and says so until the run has ended.
        stale.click("#colcw-export-submit")
        stale.wait_for_url(re.compile(r".*/export\?run=\d+$"))
        checklist_answered(stale)
        assert "already being exported" in stale.locator("main").inner_text()
        assert stale.locator("#colcw-export-submit").is_disabled()

        worker = threading.Thread(target=drain_queue, daemon=True)
        worker.start()
        worker.join(timeout=60)
        outcome = stale.locator("#colcw-outcome[data-action=created]")
        outcome.wait_for(timeout=20_000)
        stale.locator("#colcw-export-submit:not([disabled])").wait_for(timeout=10_000)
        assert "already being exported" not in stale.locator("main").inner_text()
        assert "Exported." in stale.locator("main").inner_text()
    finally:
        close_context(stale.context)
    [opp] = world.opportunities()
    assert [p["catalogItem"]["identifier"] for p in world.products(opp["id"])] == ["OPT-7010"]


def test_the_reps_checklist_names_lines_the_export_would_refuse_before_any_export(app, connected, box, live_server,
                                                                                 page):
    world = make_world(connected, box)
    get_settings(db.session).category_mode = "mapping"
    db.session.commit()
    quote = world.quote([line("OPT-7010"),
                         line("AW-DOCK-1", manufacturer="Acme Widgets", category="Cables & Adapters", subcategory="Fiber"),
                         line("NP-FIB-2", manufacturer="NorthPeak Cables", category="Cables & Adapters",
                              subcategory="Fiber")], name="Fiber deal")
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/colcw/documents/{quote.id}/export")
    checklist_answered(page)
    row = page.locator("#colcw-check-lines")
    text = row.inner_text()
    assert "✗" in text and "Line 2 (AW-DOCK-1)" in text and "Line 3 (NP-FIB-2)" in text
    assert "Acme Widgets" in text and "Cables & Adapters / Fiber" in text and ADMIN_HINT in text
    assert page.locator("#colcw-export-submit").is_disabled()
    assert "until “Lines” is fixed" in page.locator("#colcw-export-blocked").inner_text()
    assert world.opportunities() == []
