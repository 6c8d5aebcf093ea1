"""Importing a company (Import From ConnectWise, or a bulk import's page) while a rep dismisses its customer's notes,
or a live-update pass applies the customer: those lock all the customer's links in one statement by id, then write its
notes and the customer (shared/link_locks.py). The import wrote the customer first, forgot its notes, then wrote its
links one by one: holding the notes (or the customer) it waited for a link the other held, which waited for the notes
(or the customer), and PostgreSQL aborted one of them. The import now locks the links its page read, in one statement
by id, before it writes anything, and decides on them as they are once locked. Against the sandbox and PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
from inbound_support import export_customer, waiting_for_a_lock
from sqlalchemy import select
from sqlalchemy.orm import Session

from colcw_plugin.models import RecordDrift, SyncItem, get_link
from colcw_plugin.sync.customers import link_batch
from colcw_plugin.sync.customers.importer import CompanyImporter
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = pytest.mark.postgres


def test_an_import_while_the_notes_are_dismissed(app, fast_callbacks, monkeypatch):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="LOCK5", name="Lock Import Dental")
    customer_id, engine = customer.id, db.engine
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
            go.wait(15)  # holds the links until the import waits for one
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

    real_read = CompanyImporter._read_page

    def read_page(self, *args, **kwargs):
        if not threads:  # the rep's dismissal holds the customer's links as the import reads its page
            threads.append(threading.Thread(target=rep_dismisses))
            threads[0].start()
            assert locked.wait(15)
            threads.append(threading.Thread(target=release_once_waited))
            threads[1].start()
        return real_read(self, *args, **kwargs)

    monkeypatch.setattr(link_batch, "lock_customer_links", held_lock)
    monkeypatch.setattr(CompanyImporter, "_read_page", read_page)
    job = create_run(db.session, runtime().kinds, "customer_import", {"company": "LOCK5"})
    db.session.commit()
    done = runtime().execute(db.session, job.id)
    for t in threads:
        t.join(20)
    monkeypatch.undo()

    assert len(threads) == 2
    assert dismissed == [None], dismissed  # (before: psycopg.errors.DeadlockDetected here, or in the import)
    assert waited == [True]
    assert done.status == "succeeded", (done.status, done.message, [(i.action, i.message) for i in db.session.execute(select(SyncItem).where(SyncItem.run_id == done.id)).scalars()])
    db.session.rollback()
    db.session.expire_all()
    item = db.session.execute(select(SyncItem).where(SyncItem.run_id == done.id, SyncItem.entity == "customer")) \
        .scalar_one()
    assert item.action in ("unchanged", "updated"), item.message
    assert get_link(db.session, "customer", customer_id).cw_id == company
    assert db.session.execute(select(RecordDrift).where(RecordDrift.customer_id == customer_id)).first() is None
