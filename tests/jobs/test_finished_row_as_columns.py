"""A run's last write returns its row as plain columns, made into a detached SyncRun (no session of its own, no ORM
bulk-update machinery): what the attempt returns is the row as stored, every column loaded and nothing pending in
the caller's session, for a run ending alone (autocommit) and one ending in the recorder's transaction (resumed)."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs.recorder import RunRecorder
from colcw_plugin.sync.jobs.runs import _as_written, create_run
from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres]

COLUMNS = tuple(c.key for c in SyncRun.__table__.c)


def _stored(run_id: int) -> dict:
    row = db.session.execute(select(SyncRun.__table__).where(SyncRun.id == run_id)).mappings().one()
    return {k: row[k] for k in COLUMNS}


@pytest.mark.parametrize("resumed", [False, True])
def test_the_finished_row_is_the_stored_one_detached(app, resumed):
    run = create_run(db.session, runtime().kinds, "customer_import", {"mode": "all"})
    db.session.commit()
    run_id = run.id
    recorder = RunRecorder(db.engine, run_id, flush_seconds=3600)
    recorder.start()
    recorder.set_total(2, entity="customer", ids=[1, 2], key="cw", direction="import")
    if resumed:  # the recorder's session reads: its last write goes in that transaction
        recorder.completed_keys("customer")
    recorder.record(entity="customer", direction="import", action="created", cw_id=1, host_id=1, label="A")
    recorder.record(entity="customer", direction="import", action="failed", cw_id=2, label="B")
    assert recorder.finish(message="over") == "partial"
    written = recorder.row
    state = inspect(written)
    assert state.detached and state.key == (SyncRun, (run_id,), None)
    assert not state.modified and "schedule_name" in state.unloaded
    assert {k: getattr(written, k) for k in COLUMNS} == _stored(run_id)
    assert (written.status, written.message, written.counts, written.done, written.total, written.attempts) == (
        "partial", "over", {"created": 1, "failed": 1}, 2, 2, 1)

    db.session.expire_all()
    merged = _as_written(db.session, recorder, run_id)
    assert merged in db.session and merged is not written
    assert not db.session.dirty and not inspect(merged).modified
    assert {k: getattr(merged, k) for k in COLUMNS} == _stored(run_id)
    assert merged.schedule_name is None  # (deferred: read when asked)
    db.session.commit()
    assert _stored(run_id)["message"] == "over"
