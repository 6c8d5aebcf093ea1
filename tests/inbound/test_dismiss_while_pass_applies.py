"""A rep dismisses a note while a pass is between reading ConnectWise and applying what it read: the pass does not
write its older agreement back nor the dismissed note with it. It leaves that customer to the next pass (a pending
hint), which applies ConnectWise's change on top of the dismissal."""

from __future__ import annotations

import threading
import time

from inbound_support import enable, export_customer
from lock_support import waiting_for_a_lock
from sqlalchemy import select
from sqlalchemy.orm import Session

from colcw_plugin.models import HOST_MASTER, InboundHint, RecordDrift, SyncItem, SyncRun, get_link
from colcw_plugin.sync.customers.link_batch import NoteKey, dismiss_notes
from colcw_plugin.sync.inbound.reconcile import Reconciler
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db
from host_stub.models import Customer


def _pass() -> SyncRun:
    """A safety-net pass ("What changed")."""
    run = create_run(db.session, runtime().kinds, "cw_reconcile", {"mode": "changes"})
    db.session.commit()
    run = runtime().execute(db.session, run.id)
    assert run.status == "succeeded", run.message
    return run


def _notes(customer_id: int) -> list[tuple]:
    db.session.rollback()
    db.session.expire_all()
    return sorted((d.entity, d.field, d.kind, d.host_value, d.cw_value, d.kept) for d in db.session.execute(
        select(RecordDrift).where(RecordDrift.customer_id == customer_id)).scalars())


def test_a_note_dismissed_between_reading_and_applying_stays_dismissed(app, fast_callbacks, monkeypatch):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="RACE1", name="Race Dental",
                                           fax="208-555-1111", city="Boise")
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    _pass()
    sandbox.edit_company(company, {"faxNumber": "208-555-5555"})  # not taken: the host is the master
    _pass()
    assert _notes(customer.id) == [("customer", "fax", "drift", "208-555-1111", "208-555-5555", "host")]

    # ConnectWise changes the city too; the next pass reads the company (and plans the fax note again), and before
    # it applies anything the rep keeps ChannelOnline's fax on the customer's page (another session, committed).
    sandbox.edit_company(company, {"city": "Nampa"})
    dismissed: list[list[str]] = []

    def rep_dismisses(self) -> None:
        with Session(db.engine) as other:
            done = dismiss_notes(other, other.get(Customer, customer.id),
                                 [NoteKey("customer", customer.id, "fax", "208-555-5555")], actor="riley@demo.example")
            other.commit()
        dismissed.append(done.done)

    monkeypatch.setattr(Reconciler, "_planned", rep_dismisses)
    raced = _pass()
    assert dismissed and len(dismissed[0]) == 1  # the rep's dismissal went through, between plan and apply
    assert _notes(customer.id) == []  # the fax note stays dismissed; the city waits for the next pass
    link = get_link(db.session, "customer", customer.id)
    assert link.synced_values["fax"] == "208-555-5555"  # the dismissal's agreement was not written over
    assert link.synced_values["city"] == "Boise"
    result = db.session.execute(select(SyncItem).where(SyncItem.run_id == raced.id, SyncItem.entity == "customer",
                                                       SyncItem.host_id == customer.id)).scalar_one()
    assert result.action == "skipped" and "not applied by this pass" in result.message
    hint = db.session.execute(select(InboundHint).where(InboundHint.entity == "company",
                                                        InboundHint.cw_id == company)).scalar_one()
    assert hint.pending  # the next pass reads the company again

    # The next pass (nobody dismissing anything) applies ConnectWise's city change; the fax note stays dismissed.
    monkeypatch.undo()
    _pass()
    assert _notes(customer.id) == [("customer", "city", "drift", "Boise", "Nampa", "host")]
    db.session.expire_all()
    assert get_link(db.session, "customer", customer.id).synced_values["fax"] == "208-555-5555"
    assert not db.session.execute(select(InboundHint.pending).where(InboundHint.entity == "company",
                                                                    InboundHint.cw_id == company)).scalar_one()
    # ConnectWise's fax, unchanged, is still no note; ChannelOnline keeps its own.
    _pass()
    assert _notes(customer.id) == [("customer", "city", "drift", "Boise", "Nampa", "host")]
    assert db.session.get(Customer, customer.id).fax == "208-555-1111"


def test_a_dismissal_made_while_a_pass_applies_the_customer_waits_for_it_and_dismisses_what_it_wrote(
        app, fast_callbacks, monkeypatch):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="RACE2", name="Race Dental Two",
                                           fax="208-555-1111", city="Boise")
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    _pass()
    sandbox.edit_company(company, {"faxNumber": "208-555-5555"})
    _pass()
    assert _notes(customer.id) == [("customer", "fax", "drift", "208-555-1111", "208-555-5555", "host")]
    sandbox.edit_company(company, {"city": "Nampa"})

    # The rep dismisses the fax note while the pass holds the customer's links, its notes written again but not yet
    # committed: the dismissal waits for the pass, then dismisses the note the pass left.
    done: list[list[str]] = []
    replace, engine = Reconciler._replace_drift, db.engine  # (the engine taken here: the thread has no app context)

    def dismiss() -> None:
        with Session(engine) as other:
            out = dismiss_notes(other, other.get(Customer, customer.id),
                                [NoteKey("customer", customer.id, "fax", "208-555-5555")], actor="riley@demo.example")
            other.commit()
        done.append(out.done)

    def while_applying(self, plan) -> None:
        replace(self, plan)
        rep = threading.Thread(target=dismiss)
        rep.start()
        threads.append(rep)
        deadline = time.monotonic() + 10
        while not waiting_for_a_lock(engine, query_like="%FOR UPDATE%"):  # the dismissal waits for the pass's locks
            assert time.monotonic() < deadline and rep.is_alive(), "the dismissal did not wait for the pass"
            time.sleep(0.05)

    threads: list[threading.Thread] = []
    monkeypatch.setattr(Reconciler, "_replace_drift", while_applying)
    _pass()
    monkeypatch.undo()
    assert len(threads) == 1
    threads[0].join(10)
    assert done and len(done[0]) == 1
    assert _notes(customer.id) == [("customer", "city", "drift", "Boise", "Nampa", "host")]
    assert get_link(db.session, "customer", customer.id).synced_values["fax"] == "208-555-5555"
    _pass()  # ConnectWise unchanged: the fax note stays dismissed
    assert _notes(customer.id) == [("customer", "city", "drift", "Boise", "Nampa", "host")]
