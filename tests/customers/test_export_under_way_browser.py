"""A rep looking at a customer whose export is queued sees it under way on the ConnectWise panel, above the previous
result, and the panel shows the export's own result once it has run, without a reload (real Chromium)."""

from __future__ import annotations

import pytest
from customer_support import make_customer

from helpers import browser_sign_in, runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.postgres]


def test_the_panel_follows_an_export_under_way_to_its_result(sync_ready, live_server, page):
    customer = make_customer()
    rt = runtime()
    rep = {"id": None, "email": "admin@demo.example", "role": "admin"}
    queued = rt.submit(db.session, "customer_export", {"customer_id": customer.id}, actor=rep).run
    browser_sign_in(page, live_server.url, "riley@demo.example")
    page.goto(f"{live_server.url}/customers/{customer.id}")
    under_way = page.locator("#colcw-export-under-way")
    under_way.wait_for()
    assert under_way.inner_text().startswith("An export to ConnectWise is under way (queued")
    assert f"(run #{queued.id})" in under_way.inner_text()
    page.evaluate("window.__sameDocument = true")

    rt.execute(db.session, queued.id, queued=True)  # a worker runs it
    page.wait_for_function("!document.querySelector('#colcw-export-under-way')", timeout=15_000)
    assert "Acme Corp (ACME1): created in ConnectWise" in page.locator("#colcw-last-result").inner_text()
    assert page.evaluate("window.__sameDocument") is True
