"""A customer export whose database connection drops on one of its worker threads (COLCW_CONCURRENCY customers side
by side) waits as a whole for its next attempt, saying why, instead of ending failed as an unexpected error for a
person to report; that attempt finishes it, each company created once. The connection is ended for real
(pg_terminate_backend) as a worker saves the link of the company ConnectWise has just created; everything else is
real (PostgreSQL, the sandbox over HTTP). colcw_plugin/sync/jobs/runs.py, colcw_plugin/sync/jobs/database.py."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from customer_support import companies, contacts_of, link_of, make_customer

from colcw_plugin.sync.jobs.runs import create_run
from helpers import ConnectionDropped, runtime, tune_runtime
from host_stub.extensions import db

pytestmark = pytest.mark.postgres


def _link_saved_by_a_worker(statement: str) -> bool:
    return (threading.current_thread().name.startswith("colcw-customers")
            and "INSERT INTO colcw_links" in statement)  # (with its create intent's deletion, in one statement)


def test_a_customer_export_whose_worker_connection_drops_waits_and_its_next_attempt_finishes_it(sync_ready, app,
                                                                                               monkeypatch):
    tune_runtime(monkeypatch, app, concurrency=2, retry_intervals=(1,))
    customers = [make_customer(name=f"Dropped {i}", account_number=f"DRP{i}",
                               contacts=[{"first_name": "Ada", "last_name": f"Drop{i}", "email": f"ada{i}@drop.example",
                                          "is_default": True}])
                 for i in range(3)]
    run = create_run(db.session, runtime().kinds, "customer_export", {"customer_ids": [c.id for c in customers]})
    db.session.commit()

    with ConnectionDropped(db.engine, _link_saved_by_a_worker) as drop:
        first = runtime().execute(db.session, run.id, queued=True)
    assert len(drop.dropped) == 1
    assert first.status == "waiting", first.message
    assert first.waiting_reason.startswith("colcw's database did not take a connection ("), first.waiting_reason
    assert "Unexpected error" not in (first.message or "")

    time.sleep(max(0.0, first.next_try_at.replace(tzinfo=dt.UTC).timestamp() - time.time()))
    second = runtime().execute(db.session, run.id, queued=True)
    assert second.status == "succeeded", second.message
    assert sorted(c["identifier"] for c in companies(sync_ready)) == ["DRP0", "DRP1", "DRP2"]  # each created once
    for customer in customers:
        company_id = link_of("customer", customer.id).cw_id
        assert len(contacts_of(sync_ready, company_id)) == 1, customer.account_number
