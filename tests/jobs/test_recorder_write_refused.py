"""A write of the run recorder's that colcw's database refuses or drops (a connection gone: "server closed the
connection unexpectedly") wrote nothing, so its results are kept for the recorder's next write: none is lost and
none is written twice, and the run's counts stay those of its results (colcw_plugin/sync/jobs/recorder.py). The
connection is ended for real (pg_terminate_backend) as the write sends a statement, on real PostgreSQL."""

from __future__ import annotations

import threading

import psycopg
import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import DBAPIError

from colcw_plugin.models import SyncItem, SyncRun
from colcw_plugin.sync.jobs.recorder import RunRecorder
from colcw_plugin.sync.jobs.runs import create_run
from helpers import ConnectionDropped, runtime
from host_stub.extensions import db


def _run() -> int:
    run = create_run(db.session, runtime().kinds, "customer_import", {"mode": "all"})
    db.session.commit()
    return run.id


def _results(run_id: int) -> list[tuple]:
    return db.session.execute(select(SyncItem.cw_id, SyncItem.action).where(SyncItem.run_id == run_id)
                              .order_by(SyncItem.id)).all()


def _stored(run_id: int) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def _import(recorder: RunRecorder, cw_id: int) -> None:
    recorder.record(entity="customer", direction="import", action="created", cw_id=cw_id, host_id=cw_id,
                    label=f"Company {cw_id}")


def test_results_whose_write_the_database_dropped_are_written_by_the_next_write_once(app):
    run_id = _run()
    recorder = RunRecorder(db.engine, run_id)
    recorder.start()
    _import(recorder, 11)
    _import(recorder, 12)

    # (the results go by COPY, then the run's row in the same transaction: the row's statement is dropped)
    with ConnectionDropped(db.engine, lambda statement: "UPDATE colcw_sync_runs" in statement) as drop, pytest.raises(DBAPIError):
        recorder.flush()
    assert len(drop.dropped) == 1
    assert _results(run_id) == []  # nothing of the write landed

    _import(recorder, 13)
    assert recorder.finish() == "succeeded"
    run = _stored(run_id)
    assert _results(run_id) == [(11, "created"), (12, "created"), (13, "created")]  # in their order, once each
    assert (run.status, run.counts, run.done) == ("succeeded", {"created": 3}, 3)


def test_a_batch_written_behind_that_the_database_dropped_is_written_by_the_next_write(app):
    run_id = _run()
    recorder = RunRecorder(db.engine, run_id, flush_every=2)
    recorder.start()

    # The batch's own thread writes it (the recorder's batching as a run goes on): its statement is dropped there.
    def the_batch(statement: str) -> bool:
        return threading.current_thread().name.startswith("colcw-run-") and "colcw_sync_runs" in statement

    with ConnectionDropped(db.engine, the_batch) as drop:
        _import(recorder, 21)
        _import(recorder, 22)  # the batch is full: written behind the run
        _import(recorder, 23)
        assert recorder.finish() == "succeeded", recorder.row.message
    assert len(drop.dropped) == 1, "the batch was not written behind"
    run = _stored(run_id)
    assert "Unexpected error" not in (run.message or "")
    assert _results(run_id) == [(21, "created"), (22, "created"), (23, "created")]
    assert (run.status, run.counts, run.done) == ("succeeded", {"created": 3}, 3)


def test_a_write_the_database_refused_for_another_reason_still_ends_the_run_saying_so(app):
    """Not a connection refused or dropped (here a statement the database cancelled): the batch is not kept for a
    later write, and the run ends failed as before, saying what stopped it."""
    run_id = _run()
    recorder = RunRecorder(db.engine, run_id, flush_every=2)
    recorder.start()
    cancelled: list[str] = []

    def cancel(conn, cursor, statement, parameters, context, executemany):
        if threading.current_thread().name.startswith("colcw-run-") and not cancelled:
            cancelled.append(statement)
            raise psycopg.errors.QueryCanceled("canceling statement due to statement timeout")

    event.listen(db.engine, "before_cursor_execute", cancel)
    try:
        _import(recorder, 31)
        _import(recorder, 32)
        assert recorder.finish() == "failed"
    finally:
        event.remove(db.engine, "before_cursor_execute", cancel)
    run = _stored(run_id)
    assert run.message.startswith("Unexpected error: OperationalError"), run.message
    assert "statement timeout" in run.message
