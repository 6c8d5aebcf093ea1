"""The run a recorder's last write leaves (``recorder.row``, what an attempt returns) holds the values it wrote as
they read back from the database: its columns returned by that write and those it set to given values are the stored
row's, each as the database gives it (a RunStatus and a LockWait written are plain str), also when the attempt's
start goes with its end (its first start time and its attempt number set by SQL) and when it waits."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from colcw_plugin.models import RunStatus, SyncRun
from colcw_plugin.sync.jobs.recorder import LockWait, RunRecorder
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres]

COLUMNS = tuple(c.key for c in SyncRun.__table__.c)


def _stored(run_id: int) -> dict:
    row = db.session.execute(select(SyncRun.__table__).where(SyncRun.id == run_id)).mappings().one()
    return {k: row[k] for k in COLUMNS}


def _as_read(run: SyncRun) -> dict:
    return {k: getattr(run, k) for k in COLUMNS}


def _types(values: dict) -> dict:
    return {k: type(v) for k, v in values.items()}


def _new_run() -> int:
    run = create_run(db.session, runtime().kinds, "customer_import", {"mode": "all"})
    db.session.commit()
    return run.id


def test_an_end_written_with_its_start_reads_as_stored(app):
    run_id = _new_run()
    recorder = RunRecorder(db.engine, run_id, flush_seconds=3600)
    recorder.start(with_total=True)  # (written with the next write: here the end)
    assert recorder.finish(status=RunStatus.SUCCEEDED, message="nothing") == RunStatus.SUCCEEDED
    stored = _stored(run_id)
    assert _as_read(recorder.row) == stored and _types(_as_read(recorder.row)) == _types(stored)
    assert type(recorder.row.status) is str and recorder.row.attempts == 1 and recorder.row.started_at is not None


def test_a_wait_reads_as_stored(app):
    run_id = _new_run()
    recorder = RunRecorder(db.engine, run_id, flush_seconds=3600)
    recorder.start()
    reason = LockWait("Waiting for another export of Q1", what="Q1", seconds=60, then="Q1 fails")
    later = dt.datetime(2030, 1, 2, 3, 4, 5, 678901)
    recorder.wait(reason=reason, next_try_at=later, give_up_at=later + dt.timedelta(hours=1), api_requests=3,
                  message="waits")
    stored = _stored(run_id)
    assert _as_read(recorder.row) == stored and _types(_as_read(recorder.row)) == _types(stored)
    assert type(recorder.row.waiting_reason) is str and recorder.row.waiting_reason == str(reason)
    assert (recorder.row.status, recorder.row.next_try_at, recorder.row.api_requests) == ("waiting", later, 3)
