"""A customer export writes its contacts' links, its company's link and forgets its notes in one statement
(customers/export_writes.py), while a rep dismisses the customer's notes (or a live-update pass applies it), which
lock all the customer's links in one statement by id, then write its notes (shared/link_locks.py). PostgreSQL runs a
statement's data-modifying WITH clauses last first: the export deleted the notes, then locked the company's link before
its contacts' older ones, so holding the notes it waited for a link the dismissal held, while the dismissal waited to
delete a note it held, and PostgreSQL aborted one of them (the rep saw an error, or the export failed the customer).
The export's statement now locks the links it writes first, in id order. Against the sandbox and PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
from inbound_support import contacts_linked_first, export_customer, waiting_for_a_lock
from sqlalchemy import select
from sqlalchemy.orm import Session

from colcw_plugin.models import RecordDrift, SyncItem, get_link
from colcw_plugin.sync.customers import link_batch
from colcw_plugin.sync.customers.export_writes import ExportWrites
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = pytest.mark.postgres


def test_an_export_while_the_notes_are_dismissed(app, fast_callbacks, monkeypatch):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="LOCK4", name="Lock Export Dental")
    contacts_linked_first(customer)
    customer_id, engine = customer.id, db.engine
    # A note live updates left on the customer's page (ChannelOnline the master: ConnectWise's city not taken).
    db.session.add(RecordDrift(entity="customer", host_id=customer_id, customer_id=customer_id, cw_id=company,
                               field="city", label="City", kind="drift", host_value="Austin", cw_value="Round Rock"))
    db.session.commit()

    locked, go = threading.Event(), threading.Event()
    dismissed: list[BaseException | None] = []
    waited: list[bool] = []
    threads: list[threading.Thread] = []
    real_lock = link_batch.lock_customer_links

    def held_lock(*args, **kwargs):
        out = real_lock(*args, **kwargs)
        if threading.current_thread() is threads[0]:
            locked.set()
            go.wait(15)  # holds the links until the export waits for them
        return out

    def rep_dismisses() -> None:
        try:
            with Session(engine) as other:
                link_batch.dismiss_notes(other, other.get(Customer, customer_id), None, actor="casey@demo.example")
                other.commit()
            dismissed.append(None)
        except BaseException as e:  # noqa: BLE001 - reported by the test
            dismissed.append(e)
        finally:
            locked.set()

    def release_once_waited() -> None:
        deadline = time.monotonic() + 10
        while not waiting_for_a_lock(engine) and time.monotonic() < deadline:
            time.sleep(0.05)
        waited.append(time.monotonic() < deadline)
        go.set()

    real_flush = ExportWrites.flush

    def flush(self):
        if self._drift and not threads:  # the customer's last write: its links and its notes forgotten
            threads.append(threading.Thread(target=rep_dismisses))
            threads[0].start()
            assert locked.wait(15)
            threads.append(threading.Thread(target=release_once_waited))
            threads[1].start()
        return real_flush(self)

    monkeypatch.setattr(link_batch, "lock_customer_links", held_lock)
    monkeypatch.setattr(ExportWrites, "flush", flush)
    run = create_run(db.session, runtime().kinds, "customer_export", {"customer_id": customer_id})
    db.session.commit()
    run = runtime().execute(db.session, run.id)
    for t in threads:
        t.join(20)
    monkeypatch.undo()

    assert len(threads) == 2  # the two did meet
    assert dismissed == [None], dismissed  # (before: psycopg.errors.DeadlockDetected here, or in the export)
    assert waited == [True]
    assert run.status == "succeeded", (run.status, run.message)
    db.session.rollback()
    db.session.expire_all()
    item = db.session.execute(select(SyncItem).where(SyncItem.run_id == run.id, SyncItem.entity == "customer")) \
        .scalar_one()
    assert item.action in ("unchanged", "updated"), item.message
    assert db.session.execute(select(RecordDrift).where(RecordDrift.customer_id == customer_id)).first() is None
    assert get_link(db.session, "customer", customer_id).cw_id == company
    assert all(get_link(db.session, "contact", c.id) is not None
               for c in db.session.get(Customer, customer_id).contacts)
