"""A customer export whose database connection drops on one of its worker threads (COLCW_CONCURRENCY customers side
by side) waits as a whole for its next attempt, saying why, instead of ending failed as an unexpected error for a
person to report; that attempt finishes it, each company created once. The connection is ended for real
(pg_terminate_backend) as a worker saves the link of the company ConnectWise has just created; everything else is
real (PostgreSQL, the sandbox over HTTP). So does one whose attempt's start the database drops or refuses (a second
connection refused as PostgreSQL's are all taken), rather than being left running for the scheduler to take its worker
for dead. colcw_plugin/sync/jobs/runs.py, colcw_plugin/sync/jobs/database.py."""

from __future__ import annotations

import datetime as dt
import threading
import time

import psycopg
import pytest
from customer_support import companies, contacts_of, link_of, make_customer
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from colcw_plugin.models import SyncItem, SyncRun
from colcw_plugin.sync.jobs.queue import claim
from colcw_plugin.sync.jobs.recorder import RunRecorder
from colcw_plugin.sync.jobs.recovery import detect_interrupted
from colcw_plugin.sync.jobs.runs import create_run
from helpers import ConnectionDropped, runtime, tune_runtime
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = pytest.mark.postgres
REFUSAL = ('connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  sorry, too many clients '
           'already')


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


def _start_written(statement: str) -> bool:
    return "colcw_sync_runs.attempts +" in statement  # (an attempt's start counts one attempt more)


def _three_customers(prefix: str) -> list:
    return [make_customer(name=f"{prefix} {i}", account_number=f"{prefix.upper()}{i}",
                          contacts=[{"first_name": "Ada", "last_name": f"{prefix}{i}",
                                     "email": f"ada{i}@{prefix.lower()}.example", "is_default": True}])
            for i in range(3)]


def _finish(run_id: int, first):
    time.sleep(max(0.0, first.next_try_at.replace(tzinfo=dt.UTC).timestamp() - time.time()))
    return runtime().execute(db.session, run_id, queued=True)


def test_a_run_whose_start_the_database_drops_waits_rather_than_being_left_for_dead(sync_ready, app, monkeypatch):
    """The connection drops as the attempt writes its start: the run waits as a whole for its next attempt, its start
    written once (one attempt counted, none taken for a dead worker's), and that attempt exports every customer once.
    Before, the error left the run running with its job failed, for the scheduler to resume as after a worker's death
    (spending one of its automatic resumes, its message blaming the worker)."""
    tune_runtime(monkeypatch, app, concurrency=2, retry_intervals=(1,))
    customers = _three_customers("Startdrop")
    run = create_run(db.session, runtime().kinds, "customer_export", {"customer_ids": [c.id for c in customers]})
    db.session.commit()

    with ConnectionDropped(db.engine, _start_written) as drop:
        first = runtime().execute(db.session, run.id, queued=True)
    assert len(drop.dropped) == 1
    assert (first.status, first.attempts, first.interruptions, first.done) == ("waiting", 1, 0, 0), first.message
    assert first.waiting_reason == ("colcw's database did not take a connection (terminating connection due to "
                                    "administrator command): the run waits as a whole"), first.waiting_reason
    assert companies(sync_ready) == []  # nothing sent

    second = _finish(run.id, first)
    assert (second.status, second.attempts, second.done) == ("succeeded", 2, 3), second.message
    assert sorted(c["identifier"] for c in companies(sync_ready)) == ["STARTDROP0", "STARTDROP1", "STARTDROP2"]


def test_a_run_refused_a_second_connection_waits_on_one(sync_ready, app, monkeypatch):
    """PostgreSQL takes one connection of colcw's and refuses any other ("sorry, too many clients already"): the
    attempt's start, on the recorder's own connection beside the one that read the run, is refused. The attempt begins
    again on one connection at a time and waits as a whole, saying what PostgreSQL said."""
    tune_runtime(monkeypatch, app, concurrency=2, retry_intervals=(1,))
    customers = _three_customers("Oneconn")
    run_id = create_run(db.session, runtime().kinds, "customer_export",
                        {"customer_ids": [c.id for c in customers]}).id
    db.session.commit()

    engine = db.engine
    out: set[int] = set()
    refused: list[str] = []

    def checkout(dbapi_connection, record, proxy):
        out.add(id(record))

    def checkin(dbapi_connection, record):
        out.discard(id(record))

    def connect(dialect, record, cargs, cparams):
        if out:
            refused.append(threading.current_thread().name)
            raise psycopg.OperationalError(REFUSAL)

    db.session.remove()
    engine.dispose()  # (no idle connection: each one beyond the first is asked of PostgreSQL)
    listeners = [(engine.pool, "checkout", checkout), (engine.pool, "checkin", checkin),
                 (engine, "do_connect", connect)]
    for target, name, fn in listeners:
        event.listen(target, name, fn)
    try:
        first = runtime().execute(db.session, run_id, queued=True)
    finally:
        for target, name, fn in listeners:
            event.remove(target, name, fn)
    assert refused, "no second connection was asked for"
    assert (first.status, first.attempts, first.interruptions) == ("waiting", 1, 0), first.message
    assert first.waiting_reason == f"colcw's database did not take a connection ({REFUSAL}): the run waits as a whole"

    second = _finish(run_id, first)
    assert (second.status, second.done) == ("succeeded", 3), second.message
    assert len(companies(sync_ready)) == 3


def test_a_run_whose_start_is_refused_twice_is_left_to_the_scheduler(sync_ready, app, monkeypatch):
    """Refused again as it begins once more, the attempt ends with the database's error, the run left running for the
    scheduler to take its worker for dead and resume it (the last resort, as before)."""
    tune_runtime(monkeypatch, app, concurrency=2, retry_intervals=(1,))
    customers = _three_customers("Twicedrop")
    run = create_run(db.session, runtime().kinds, "customer_export", {"customer_ids": [c.id for c in customers]})
    db.session.commit()
    run_id = run.id
    assert claim(db.session, run_id)  # (as its job does)

    with ConnectionDropped(db.engine, _start_written, times=2) as drop, pytest.raises(OperationalError):
        runtime().execute(db.session, run_id, queued=True)
    assert len(drop.dropped) == 2
    db.session.rollback()
    left = db.session.get(SyncRun, run_id)
    assert (left.status, left.attempts) == ("running", 0)
    assert companies(sync_ready) == []


def test_a_resumed_run_whose_start_is_dropped_keeps_its_not_attempted_until_a_start_is_written(sync_ready, app,
                                                                                              monkeypatch):
    """A run interrupted for good (its customers closed "not attempted") is resumed, and the connection drops as its
    start drops those results and writes the counts without them, in one transaction: that transaction is undone, so
    the attempt begun again drops them once (its counts from the run as it is, not from the failed start's), and the
    next attempt exports each customer once, no "not attempted" left behind."""
    tune_runtime(monkeypatch, app, concurrency=2, retry_intervals=(1, 1), auto_resumes=0)
    customers = _three_customers("Resdrop")
    ids = [c.id for c in customers]
    run_id = create_run(db.session, runtime().kinds, "customer_export", {"customer_ids": ids}).id
    db.session.commit()
    assert claim(db.session, run_id)
    recorder = RunRecorder(db.engine, run_id)
    recorder.start()
    recorder.set_total(3, entity="customer", ids=ids)
    recorder.flush()
    assert detect_interrupted(db.session, runtime().queue, stale_seconds=0,
                              now=utcnow() + dt.timedelta(seconds=5)) == [run_id]  # (its worker "died")
    db.session.expire_all()
    gone = db.session.get(SyncRun, run_id)
    assert (gone.status, gone.counts) == ("interrupted", {"not_attempted": 3}), gone.message

    with ConnectionDropped(db.engine, _start_written) as drop:
        first = runtime().execute(db.session, run_id, queued=True)
    assert "DELETE FROM colcw_sync_items" not in drop.dropped[0]  # (dropped at the start's write, after the DELETE)
    assert (first.status, first.attempts, first.counts, first.done) == ("waiting", 2, {}, 0), first.message
    assert db.session.execute(select(func.count()).where(SyncItem.run_id == run_id)).scalar() == 0

    second = _finish(run_id, first)
    assert (second.status, second.entity_counts["customer"], second.done) == ("succeeded", {"created": 3}, 3), \
        second.message
    actions = db.session.execute(select(SyncItem.action).where(SyncItem.run_id == run_id,
                                                               SyncItem.entity == "customer")).scalars().all()
    assert sorted(actions) == ["created"] * 3
    assert len(companies(sync_ready)) == 3
