"""The customer panel's "An export to ConnectWise is under way" follows the run that still exports the customer: a
queued date-range export that selects it shows there, one whose range does not select it does not, and a bulk run
already past the customer (its result recorded) is no longer under way for it. Real queued runs (no worker takes
them), the page as the rep loads it."""

from __future__ import annotations

import re
from html import unescape

from customer_support import make_customer
from htmx_loads import loaded
from sqlalchemy import update

from colcw_plugin.models import SyncItem, SyncRun
from helpers import runtime
from host_stub.extensions import db

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}
UNDER_WAY = 'id="colcw-export-under-way"'


def _queue(params: dict) -> SyncRun:
    queued = runtime().submit(db.session, "customer_export", params, actor=ADMIN).run
    assert queued.status == "queued"
    return queued


def _under_way(rep_client, customer_id: int) -> str:
    page = loaded(rep_client, f"/customers/{customer_id}")
    if UNDER_WAY not in page:
        return ""
    tag = page.split(UNDER_WAY, 1)[1].split(">", 1)[1].split("</p>", 1)[0]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", tag)).split())


def test_a_queued_date_range_export_selecting_the_customer_is_under_way(sync_ready, rep_client):
    customer = make_customer()
    outside = _queue({"range": {"field": "created", "preset": "custom", "start": "2019-01-01", "end": "2019-01-31"}})
    assert _under_way(rep_client, customer.id) == ""  # its range does not select the customer
    today = _queue({"range": {"field": "created", "preset": "today"}})
    shown = _under_way(rep_client, customer.id)
    assert "An export to ConnectWise is under way (queued" in shown and f"(run #{today.id})" in shown, shown
    assert f"run #{outside.id}" not in shown


def test_a_bulk_export_past_the_customer_is_no_longer_under_way(sync_ready, rep_client):
    customer = make_customer()
    bulk = _queue({"all": True})
    assert f"(run #{bulk.id})" in _under_way(rep_client, customer.id)
    db.session.execute(update(SyncRun).where(SyncRun.id == bulk.id).values(status="running"))
    db.session.add(SyncItem(run_id=bulk.id, entity="customer", direction="export", host_id=customer.id,
                            label="Acme Corp (ACME1)", action="failed", message="ConnectWise refused it."))
    db.session.commit()
    assert _under_way(rep_client, customer.id) == ""
