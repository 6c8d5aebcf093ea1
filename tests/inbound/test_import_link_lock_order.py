"""Importing a company (Import From ConnectWise, or a bulk import's page) while a rep dismisses its customer's notes,
or a live-update pass applies the customer: those lock all the customer's links in one statement by id, then write its
notes and the customer (shared/link_locks.py). The import wrote the customer first, forgot its notes, then wrote its
links one by one: holding the notes (or the customer) it waited for a link the other held, which waited for the notes
(or the customer), and PostgreSQL aborted one of them. The import now locks the links its page read, in one statement
by id, before it writes anything, and decides on them as they are once locked. Against the sandbox and PostgreSQL."""

from __future__ import annotations

import pytest
from inbound_support import export_customer
from sqlalchemy import select
from test_export_link_lock_order import DismissalMeeting

from colcw_plugin.models import RecordDrift, SyncItem, get_link
from colcw_plugin.sync.customers.importer import CompanyImporter
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db

pytestmark = pytest.mark.postgres


def test_an_import_while_the_notes_are_dismissed(app, fast_callbacks, monkeypatch):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="LOCK5", name="Lock Import Dental")
    customer_id = customer.id
    meeting = DismissalMeeting(monkeypatch, customer_id, company)
    real_read = CompanyImporter._read_page

    def read_page(self, *args, **kwargs):
        if not meeting.threads:  # the rep's dismissal holds the customer's links as the import reads its page
            meeting.start()
        return real_read(self, *args, **kwargs)

    monkeypatch.setattr(CompanyImporter, "_read_page", read_page)
    job = create_run(db.session, runtime().kinds, "customer_import", {"company": "LOCK5"})
    db.session.commit()
    done = runtime().execute(db.session, job.id)
    meeting.join()
    monkeypatch.undo()

    assert len(meeting.threads) == 2
    # (before: psycopg.errors.DeadlockDetected here, or in the import)
    assert meeting.dismissed == [None], meeting.dismissed
    assert meeting.waited == [True]
    assert done.status == "succeeded", (done.status, done.message, [(i.action, i.message) for i in db.session.execute(select(SyncItem).where(SyncItem.run_id == done.id)).scalars()])
    db.session.rollback()
    db.session.expire_all()
    item = db.session.execute(select(SyncItem).where(SyncItem.run_id == done.id, SyncItem.entity == "customer")) \
        .scalar_one()
    assert item.action in ("unchanged", "updated"), item.message
    assert get_link(db.session, "customer", customer_id).cw_id == company
    assert db.session.execute(select(RecordDrift).where(RecordDrift.customer_id == customer_id)).first() is None
