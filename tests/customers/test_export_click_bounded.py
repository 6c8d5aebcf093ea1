"""Export to ConnectWise holds the rep's click a bounded time: with ConnectWise hanging on the company's create, the
page answers after the wait, saying the export goes on and where to follow it; the export ends on its own and its
result is the customer's, and a click meanwhile starts no second export."""

from __future__ import annotations

import time
from html import unescape

from customer_support import companies, make_customer
from htmx_loads import loaded
from sqlalchemy import select

from colcw_plugin.models import FINAL_RUN_STATUSES, SyncRun
from colcw_plugin.views import customers as customer_views
from helpers import csrf_from
from host_stub.extensions import db


def _export(rep_client, customer_id: int):
    token = csrf_from(rep_client.get("/customers/").get_data(as_text=True))
    return rep_client.post(f"/colcw/customers/{customer_id}/export", data={"csrf_token": token})


def _runs() -> list[SyncRun]:
    db.session.expire_all()
    return list(db.session.execute(select(SyncRun).where(SyncRun.kind == "customer_export")).scalars())


def test_a_hanging_connectwise_holds_the_click_only_the_bounded_wait(sync_ready, rep_client, monkeypatch):
    monkeypatch.setattr(customer_views, "EXPORT_WAIT_SECONDS", 1.0, raising=False)
    customer = make_customer()
    sync_ready.add_fault(status="hang", seconds=4, method="POST", path="company/companies$", count=1)
    started = time.monotonic()
    resp = _export(rep_client, customer.id)
    took = time.monotonic() - started
    assert resp.status_code == 302 and took < 3.5, took
    page = " ".join(unescape(loaded(rep_client, f"/customers/{customer.id}")).split())
    (run,) = _runs()
    assert ("Acme Corp is still being exported to ConnectWise (running: ConnectWise is slow to answer); the export goes "
            "on and "
            "its result shows on this page once it has finished") in page, page
    assert f"/colcw/runs/{run.id}" in page

    again = _export(rep_client, customer.id)  # a click meanwhile: that export's progress, no second one
    assert again.status_code == 302
    assert "Acme Corp is already being exported to ConnectWise" in unescape(
        loaded(rep_client, f"/customers/{customer.id}"))
    assert len(_runs()) == 1

    deadline = time.monotonic() + 30
    while _runs()[0].status not in FINAL_RUN_STATUSES and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _runs()[0].status == "succeeded", _runs()[0].message
    assert [c["identifier"] for c in companies(sync_ready)] == ["ACME1"]
    assert "Acme Corp (ACME1): created in ConnectWise" in loaded(rep_client, f"/customers/{customer.id}")


def test_an_export_that_answers_in_time_shows_its_result_at_once(sync_ready, rep_client):
    customer = make_customer()
    _export(rep_client, customer.id)
    assert "Created in ConnectWise: Acme Corp (ACME1)." in loaded(rep_client, f"/customers/{customer.id}")
