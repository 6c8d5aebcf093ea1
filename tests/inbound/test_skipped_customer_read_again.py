"""A pass that leaves a customer changed in ChannelOnline while it read ConnectWise ("not applied by this pass")
queues a live update that reads it again at once: the customer is applied without waiting for the safety net's next
pass or another callback. A customer that keeps changing while runs read it gets a few such runs in a row, then waits
for the next callback or pass; and processes leaving records at once queue one run between them."""

from __future__ import annotations

import threading
import time

from inbound_support import enable, export_customer
from sqlalchemy import select
from sqlalchemy.orm import Session

from colcw_plugin.models import HOST_MASTER, InboundHint, Link, RecordDrift, SyncItem, SyncRun
from colcw_plugin.sync.customers.link_batch import NoteKey, dismiss_notes
from colcw_plugin.sync.inbound import hints
from colcw_plugin.sync.inbound.hints import FOLLOW_UP, MAX_FOLLOW_UPS, follow_up
from colcw_plugin.sync.inbound.reconcile import Reconciler
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db
from host_stub.models import Customer

LIVE = "cw_live_update"


def _pass() -> SyncRun:
    """A safety-net pass ("What changed"), run here."""
    run = create_run(db.session, runtime().kinds, "cw_reconcile", {"mode": "changes"})
    db.session.commit()
    run = runtime().execute(db.session, run.id)
    assert run.status == "succeeded", run.message
    return run


def _notes(customer_id: int) -> list[tuple]:
    db.session.rollback()
    db.session.expire_all()
    return sorted((d.field, d.host_value, d.cw_value) for d in db.session.execute(
        select(RecordDrift).where(RecordDrift.customer_id == customer_id)).scalars())


def _result(run_id: int, customer_id: int) -> SyncItem:
    return db.session.execute(select(SyncItem).where(SyncItem.run_id == run_id, SyncItem.entity == "customer",
                                                     SyncItem.host_id == customer_id)).scalar_one()


def _live_runs() -> list[SyncRun]:
    db.session.rollback()
    return list(db.session.execute(select(SyncRun).where(SyncRun.kind == LIVE).order_by(SyncRun.id)).scalars())


def _with_a_note(sandbox, account: str):
    """A customer (ChannelOnline the master) whose fax ConnectWise changed (a note), then its city: the next pass
    reads the company."""
    customer, company, _ = export_customer(sandbox, account_number=account, name=f"Skip Dental {account}",
                                           fax="208-555-1111", city="Boise")
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")  # (no callbacks reach this test)
    _pass()
    sandbox.edit_company(company, {"faxNumber": "208-555-5555"})
    _pass()
    assert _notes(customer.id) == [("fax", "208-555-1111", "208-555-5555")]
    sandbox.edit_company(company, {"city": "Nampa"})
    return customer, company


def test_a_customer_left_by_a_pass_is_applied_by_a_live_update_queued_at_once(app, fast_callbacks, drain_queue,
                                                                              monkeypatch):
    customer, company = _with_a_note(fast_callbacks, "SKIP1")

    # Between the pass's reading and its applying, the rep keeps ChannelOnline's fax (once).
    dismissed: list[int] = []

    def rep_dismisses(self) -> None:
        if dismissed:
            return
        with Session(db.engine) as other:
            dismiss_notes(other, other.get(Customer, customer.id),
                          [NoteKey("customer", customer.id, "fax", "208-555-5555")], actor="riley@demo.example")
            other.commit()
        dismissed.append(1)

    monkeypatch.setattr(Reconciler, "_planned", rep_dismisses)
    raced = _pass()
    assert dismissed
    skipped = _result(raced.id, customer.id)
    assert skipped.action == "skipped" and "not applied by this pass" in skipped.message
    assert _notes(customer.id) == []  # the city is not applied yet

    # No schedule, no callback: the live update the pass queued applies ConnectWise's city.
    assert drain_queue() >= 1
    assert _notes(customer.id) == [("city", "Boise", "Nampa")]
    assert db.session.get(Customer, customer.id).fax == "208-555-1111"
    runs = _live_runs()
    assert [r.status for r in runs] == ["succeeded"]
    assert (runs[0].params or {}).get(FOLLOW_UP) == 1
    assert "changed in ConnectWise, not taken" in _result(runs[0].id, customer.id).message
    assert not db.session.execute(select(InboundHint.pending).where(InboundHint.entity == "company",
                                                                    InboundHint.cw_id == company)).scalar_one()
    assert skipped.resolution == "Nothing to do: a live update queued now reads it again."


def test_a_customer_that_keeps_changing_gets_a_few_runs_then_waits_for_the_next_pass(app, fast_callbacks,
                                                                                     drain_queue, monkeypatch):
    customer, company = _with_a_note(fast_callbacks, "SKIP2")

    # Every run, the customer's agreement moves between reading and applying (as an export would move it).
    moved = [0]

    def rep_changes_it(self) -> None:
        moved[0] += 1
        with Session(db.engine) as other:
            link = other.execute(select(Link).where(Link.entity == "customer", Link.host_id == customer.id)).scalar_one()
            link.synced_values = {**link.synced_values, "colcw:test-moved": moved[0]}
            other.commit()

    monkeypatch.setattr(Reconciler, "_planned", rep_changes_it)
    _pass()
    drain_queue()
    runs = _live_runs()
    assert [(r.params or {}).get(FOLLOW_UP) for r in runs] == list(range(1, MAX_FOLLOW_UPS + 1))
    assert all(r.status == "succeeded" for r in runs)
    last = _result(runs[-1].id, customer.id)
    assert last.action == "skipped" and "the next callback or safety-net pass takes it" in last.resolution
    assert drain_queue() == 0  # nothing more queued
    assert db.session.execute(select(InboundHint.pending).where(InboundHint.entity == "company",
                                                                InboundHint.cw_id == company)).scalar_one()

    # Once it stops changing, the next pass applies it.
    monkeypatch.undo()
    _pass()
    assert ("city", "Boise", "Nampa") in _notes(customer.id)


def test_processes_leaving_records_at_once_queue_one_live_update(app, redis_conn, monkeypatch):
    rt, engine = runtime(), db.engine
    # Each one takes its time between finding no live update waiting and queueing one (a slow database, say).
    submit = hints.submit

    def slow_submit(*args, **kwargs):
        time.sleep(0.3)
        return submit(*args, **kwargs)

    monkeypatch.setattr(hints, "submit", slow_submit)
    start = threading.Barrier(6)
    queued: list = []

    def leave() -> None:
        start.wait(10)
        run = follow_up(engine, rt.queue, rt.kinds, {"mode": "changes"})
        queued.append(run.id if run is not None else None)

    threads = [threading.Thread(target=leave) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(queued) == 6
    assert len([r for r in queued if r is not None]) == 1
    assert [(r.status, (r.params or {}).get(FOLLOW_UP)) for r in _live_runs()] == [("queued", 1)]
