"""The jobs page's mass-delete alert (the safety net's section of "Run or schedule a job") says how the Apply anyway
run goes, in the Connection page's words and with a link to the run: queued, waiting for ConnectWise, failed and
why. An admin watching the jobs page sees it change as the run goes, without reloading (the table of last runs'
poll brings the alert with the safety net's run); the run marking the deletions takes the alert away there too."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select
from test_held_deletions_once import BASE, _held_pass

from colcw_plugin.models import SyncRun
from helpers import browser_sign_in, csrf_from, runtime, sign_in
from host_stub.extensions import db

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.postgres]

JOBS = BASE + "/jobs"


def _said(page_html: str, element_id: str) -> str:
    found = re.search(rf'<p id="{element_id}">(.*?)</p>', page_html, re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split()) if found else ""


def _apply(client) -> SyncRun:
    page = client.get(BASE + "/").get_data(as_text=True)
    resp = client.post(BASE + "/live-updates/alert", data={"csrf_token": csrf_from(page), "action": "apply"})
    assert resp.status_code == 302
    db.session.expire_all()
    return db.session.execute(select(SyncRun).where(SyncRun.kind == "cw_reconcile").order_by(SyncRun.id.desc())
                              ).scalars().first()


def test_the_jobs_page_alert_follows_the_apply_anyway_run_as_the_connection_page_says_it(
        app, fast_callbacks, live_server, page):
    sandbox = fast_callbacks
    _held_pass(sandbox, "JPA")
    admin = sign_in(app.test_client(), "admin@demo.example")
    forced = _apply(admin)
    assert forced.params.get("force") and forced.status == "queued"

    # The same words on both pages (one definition: safety_net.ApplyAnyway.text).
    jobs = _said(admin.get(JOBS).get_data(as_text=True), "jobs-apply-anyway-run")
    connection = _said(admin.get(BASE + "/").get_data(as_text=True), "live-apply-anyway-run")
    assert jobs == connection, (jobs, connection)
    assert jobs.startswith(f"Apply anyway: run #{forced.id} is queued to mark the held deletions as deleted"), jobs
    assert f'href="{JOBS}/runs/{forced.id}"' in admin.get(JOBS).get_data(as_text=True)

    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(f"{live_server.url}{JOBS}")
    said = page.locator("#jobs-live-alert #jobs-apply-anyway-run")
    assert f"Apply anyway: run #{forced.id} is queued" in said.inner_text()
    assert said.locator("a").get_attribute("href") == f"{JOBS}/runs/{forced.id}"
    page.evaluate("window.__sameDocument = true")

    # ConnectWise is unreachable: the run waits, then gives up; the page says so as it goes.
    sandbox.add_fault(status="drop")
    try:
        assert runtime().execute(db.session, forced.id, queued=True).status == "waiting"
        page.wait_for_function(
            "document.querySelector('#jobs-apply-anyway-run').innerText.includes("
            "'has not marked the held deletions yet: it waits for ConnectWise')", timeout=15_000)
        failed = runtime().execute(db.session, forced.id)
        assert failed.status == "failed", (failed.status, failed.message)
    finally:
        sandbox.clear_faults()
    page.wait_for_function(
        "document.querySelector('#jobs-apply-anyway-run').innerText.includes('failed before marking them')",
        timeout=15_000)
    text = " ".join(page.locator("#jobs-apply-anyway-run").inner_text().split())
    assert (f"Apply anyway: run #{forced.id} failed before marking them, so 2 deletions are still held back. Why: "
            f"{failed.message.rstrip('.')}.") in text, text
    assert "Deletions held back" in page.locator("#jobs-live-alert").inner_text()
    assert page.evaluate("window.__sameDocument") is True
    assert _said(admin.get(BASE + "/").get_data(as_text=True), "live-apply-anyway-run") == " ".join(
        _said(admin.get(JOBS).get_data(as_text=True), "jobs-apply-anyway-run").split())

    # Apply anyway again, ConnectWise answering: the run marks them, and the alert goes from the watched page.
    again = _apply(admin)
    page.reload()
    assert f"run #{again.id} is queued" in page.locator("#jobs-apply-anyway-run").inner_text()
    assert runtime().execute(db.session, again.id).status == "succeeded"
    page.wait_for_function("!document.querySelector('#jobs-live-alert')", timeout=15_000)
