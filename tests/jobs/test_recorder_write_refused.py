"""A write of the run recorder's that colcw's database refuses or drops (a connection gone: "server closed the
connection unexpectedly") wrote nothing, so its results are kept for the recorder's next write: none is lost and
none is written twice, and the run's counts stay those of its results (colcw_plugin/sync/jobs/recorder.py). The
connection is ended for real (pg_terminate_backend) as the write sends a statement, on real PostgreSQL. A write
PostgreSQL carried out whose answer the dropped connection lost is found written by the next write (the run's counts
say so), which does not write its results again."""

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


LOST_ANSWER = "server closed the connection unexpectedly"


class _CommitAnswerLost:
    """PostgreSQL carries out the COMMIT of the first transaction ``matches`` accepts a statement of (on the thread
    it accepts), and the connection drops before its answer comes: the driver raises as on a real drop."""

    def __init__(self, monkeypatch, engine, matches):
        self.engine, self.matches, self.lost = engine, matches, []
        self.armed: set[int] = set()
        dialect = engine.dialect
        commit = dialect.do_commit

        def do_commit(dbapi_connection):
            commit(dbapi_connection)
            if id(dbapi_connection) in self.armed and not self.lost:
                self.armed.discard(id(dbapi_connection))
                self.lost.append(threading.current_thread().name)
                raise psycopg.OperationalError(LOST_ANSWER)

        monkeypatch.setattr(dialect, "do_commit", do_commit)
        event.listen(engine, "before_cursor_execute", self._see)

    def _see(self, conn, cursor, statement, parameters, context, executemany):
        if not self.lost and self.matches(statement):
            self.armed.add(id(conn.connection))  # (the pool's proxy of it: what do_commit is given)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._see)


def test_results_whose_commit_landed_but_whose_answer_was_lost_are_not_written_twice(app, monkeypatch):
    """The results go by COPY with the run's row, in one transaction, and PostgreSQL commits it; the connection drops
    before the answer. The recorder cannot tell from the error, so its next write looks (the run's counts are those
    of the lost write): each result once, in the run's log and its counts."""
    run_id = _run()
    recorder = RunRecorder(db.engine, run_id)
    recorder.start()
    _import(recorder, 41)
    _import(recorder, 42)

    lost = _CommitAnswerLost(monkeypatch, db.engine, lambda statement: "UPDATE colcw_sync_runs" in statement)
    try:
        with pytest.raises(DBAPIError, match=LOST_ANSWER):
            recorder.flush()
    finally:
        lost.close()
    assert len(lost.lost) == 1
    assert _results(run_id) == [(41, "created"), (42, "created")]  # it landed

    _import(recorder, 43)
    assert recorder.finish() == "succeeded"
    run = _stored(run_id)
    assert _results(run_id) == [(41, "created"), (42, "created"), (43, "created")]  # once each
    assert (run.status, run.counts, run.done) == ("succeeded", {"created": 3}, 3)


def test_a_batch_written_behind_whose_answer_was_lost_is_not_written_twice(app, monkeypatch):
    run_id = _run()
    recorder = RunRecorder(db.engine, run_id, flush_every=2)
    recorder.start()

    def the_batch(statement: str) -> bool:
        return threading.current_thread().name.startswith("colcw-run-") and "colcw_sync_runs" in statement

    lost = _CommitAnswerLost(monkeypatch, db.engine, the_batch)
    try:
        _import(recorder, 51)
        _import(recorder, 52)  # the batch is full: written behind the run, and its answer lost
        _import(recorder, 53)
        assert recorder.finish() == "succeeded", recorder.row.message
    finally:
        lost.close()
    assert len(lost.lost) == 1 and lost.lost[0].startswith("colcw-run-"), lost.lost
    run = _stored(run_id)
    assert _results(run_id) == [(51, "created"), (52, "created"), (53, "created")]
    assert (run.status, run.counts, run.done) == ("succeeded", {"created": 3}, 3)


def test_one_result_written_in_autocommit_whose_answer_was_lost_is_not_written_twice(app):
    """A write of one result and the run's row is one statement in autocommit (committed as PostgreSQL runs it); the
    connection drops before its answer."""
    run_id = _run()
    recorder = RunRecorder(db.engine, run_id)
    recorder.start()
    _import(recorder, 61)
    dropped: list[str] = []

    def lose(conn, cursor, statement, parameters, context, executemany):
        if not dropped and "INSERT INTO colcw_sync_items" in statement:
            dropped.append(statement)
            raise psycopg.OperationalError(LOST_ANSWER)

    event.listen(db.engine, "after_cursor_execute", lose)
    try:
        with pytest.raises(DBAPIError, match=LOST_ANSWER):
            recorder.flush()
    finally:
        event.remove(db.engine, "after_cursor_execute", lose)
    assert len(dropped) == 1
    assert _results(run_id) == [(61, "created")]  # it landed

    _import(recorder, 62)
    assert recorder.finish() == "succeeded"
    run = _stored(run_id)
    assert _results(run_id) == [(61, "created"), (62, "created")]
    assert (run.status, run.counts, run.done) == ("succeeded", {"created": 2}, 2)
