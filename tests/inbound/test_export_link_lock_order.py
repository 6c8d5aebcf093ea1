"""A customer export writes its contacts' links, its company's link and forgets its notes in one statement
(customers/export_writes.py), while a rep dismisses the customer's notes (or a live-update pass applies it), which
lock all the customer's links in one statement by id, then write its notes (shared/link_locks.py). PostgreSQL runs a
statement's data-modifying WITH clauses last first: the export deleted the notes, then locked the company's link before
its contacts' older ones, so holding the notes it waited for a link the dismissal held, while the dismissal waited to
delete a note it held, and PostgreSQL aborted one of them (the rep saw an error, or the export failed the customer).
The export's statement now locks the links it writes first, in id order. Against the sandbox and PostgreSQL."""

from __future__ import annotations

import pytest
from inbound_support import contacts_linked_first, export_customer
from lock_support import HeldRequest
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


class DismissalMeeting(HeldRequest):
    """A note live updates left on an exported customer's page (ChannelOnline the master: ConnectWise's city not
    taken), and a rep who dismisses it in another thread once ``start()`` is called, from inside the run under test:
    the dismissal locks the customer's links and holds them until this run waits for a lock (or 10 s), then lets go.
    ``dismissed``: [None] once the dismissal went through, else what it raised (test_import_link_lock_order too)."""

    def __init__(self, monkeypatch, customer_id: int, company: int) -> None:
        db.session.add(RecordDrift(entity="customer", host_id=customer_id, customer_id=customer_id, cw_id=company,
                                   field="city", label="City", kind="drift", host_value="Austin",
                                   cw_value="Round Rock"))
        db.session.commit()

        def rep_dismisses(other: Session) -> None:
            link_batch.dismiss_notes(other, other.get(Customer, customer_id), None, actor="casey@demo.example")

        super().__init__(monkeypatch, db.engine, rep_dismisses, link_batch, "lock_customer_links", after=True)

    @property
    def dismissed(self) -> list[BaseException | None]:
        return [*self.answers, *self.failed]


def test_an_export_while_the_notes_are_dismissed(app, fast_callbacks, monkeypatch):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="LOCK4", name="Lock Export Dental")
    contacts_linked_first(customer)
    customer_id = customer.id
    meeting = DismissalMeeting(monkeypatch, customer_id, company)
    real_flush = ExportWrites.flush

    def flush(self):
        if self._drift and not meeting.threads:  # the customer's last write: its links and its notes forgotten
            meeting.start()
        return real_flush(self)

    monkeypatch.setattr(ExportWrites, "flush", flush)
    run = create_run(db.session, runtime().kinds, "customer_export", {"customer_id": customer_id})
    db.session.commit()
    run = runtime().execute(db.session, run.id)
    meeting.join()
    monkeypatch.undo()

    assert len(meeting.threads) == 2  # the two did meet
    # (before: psycopg.errors.DeadlockDetected here, or in the export)
    assert meeting.dismissed == [None], meeting.dismissed
    assert meeting.waited == [True]
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
