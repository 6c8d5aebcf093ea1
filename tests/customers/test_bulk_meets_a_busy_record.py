"""A bulk export or import meeting a record another export holds: it says so on the run while it waits,
exports the rest of its chunk, and exports the held record once it is free — in the same run, never
writing it twice."""

from __future__ import annotations

import threading
import time

from customer_support import actions, companies, export, items, make_customer, run
from sqlalchemy import create_engine, select

from colcw_plugin.models import RunStatus, SyncRun
from colcw_plugin.sync.customers import exclusive
from colcw_plugin.sync.shared.locks import advisory_locks
from helpers import tune_runtime
from host_stub.extensions import db


def _held_until_the_run_says_it_waits(app, key_fn, ident, kind: str, seen: list[str]):
    """Hold ``ident`` from another thread until the run of ``kind`` shows it waits for it; keep what it said."""
    taken = threading.Event()
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])

    def hold():
        with app.app_context():
            with key_fn(db.session, ident):
                taken.set()
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    with engine.connect() as conn:
                        said = conn.execute(select(SyncRun.waiting_reason).where(
                            SyncRun.kind == kind, SyncRun.status == RunStatus.RUNNING)).scalar()
                    if said and "another" in said.lower():
                        seen.append(said)
                        break
                    time.sleep(0.05)
            db.session.remove()
        engine.dispose()

    t = threading.Thread(target=hold)
    t.start()
    taken.wait(10)
    return t


def test_a_bulk_export_shows_the_wait_and_exports_the_held_customer_once_it_is_free(sync_ready, app, monkeypatch):
    monkeypatch.setattr(exclusive, "BULK_WAIT_SECONDS", 0.5)
    tune_runtime(monkeypatch, app, record_retry_intervals=(0.5, 1, 2, 4))
    first = make_customer()
    second = make_customer(account_number="ACME2", name="Beta Corp")
    seen: list[str] = []
    holder = _held_until_the_run_says_it_waits(app, exclusive.exporting_customer, first.id, "customer_export", seen)
    try:
        bulk = run("customer_export", {"customer_ids": [first.id, second.id]})
    finally:
        holder.join(30)
    assert seen and ("Waiting for another export of" in seen[0] or "another export of" in seen[0]), seen
    by_host = {i.host_id: i for i in items(bulk, "customer")}
    assert by_host[second.id].action == "created"
    assert by_host[first.id].action == "created"  # tried again in the same run once the other export let go
    assert bulk.status == RunStatus.SUCCEEDED and bulk.done == bulk.total == 2
    assert sorted(c["identifier"] for c in companies(sync_ready)) == ["ACME1", "ACME2"]
    assert actions(export(first.id)) == ["unchanged"]  # exported once


def test_a_bulk_import_shows_the_wait_and_imports_the_held_company_once_it_is_free(sync_ready, app, monkeypatch):
    monkeypatch.setattr(exclusive, "BULK_WAIT_SECONDS", 0.5)
    tune_runtime(monkeypatch, app, record_retry_intervals=(0.5, 1, 2, 4))
    a = sync_ready.api("POST", "company/companies", json={"identifier": "IMP1", "name": "Imp One", "city": "x"}).json()
    b = sync_ready.api("POST", "company/companies", json={"identifier": "IMP2", "name": "Imp Two", "city": "x"}).json()

    def hold_company(session, company_id):
        return advisory_locks(session.get_bind(), exclusive.company_keys([company_id]), "busy")

    seen: list[str] = []
    holder = _held_until_the_run_says_it_waits(app, hold_company, a["id"], "customer_import", seen)
    try:
        bulk = run("customer_import", {"company_ids": [a["id"], b["id"]]})
    finally:
        holder.join(30)
    assert seen and "another import of" in seen[0].lower(), seen
    by_cw = {i.cw_id: i for i in items(bulk, "customer")}
    assert by_cw[b["id"]].action == "created"
    assert by_cw[a["id"]].action == "created"
    assert bulk.status == RunStatus.SUCCEEDED and bulk.done == bulk.total == 2
