"""A run's counts are its own record: records that share another record's result (an unchanged company's
contacts) count without a result of their own, and the counts survive a resumed attempt (issue 14)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from colcw_plugin.models import SyncItem, SyncRun
from colcw_plugin.sync.jobs.recorder import RunRecorder
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db


def _run() -> int:
    run = create_run(db.session, runtime().kinds, "customer_import", {"mode": "all"})
    db.session.commit()
    return run.id


def _stored(run_id: int) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def test_tallied_records_count_in_the_run_and_survive_a_resumed_attempt(app):
    run_id = _run()
    first = RunRecorder(db.engine, run_id)
    first.start()
    first.record(entity="customer", direction="import", action="unchanged", cw_id=11, host_id=1, label="Acme (ACME)")
    first.tally("contact", "unchanged", 3)
    first.record(entity="customer", direction="import", action="not_attempted", cw_id=12, label="Beta (BETA)")
    first.wait(reason="ConnectWise is unreachable", next_try_at=None, give_up_at=None)
    assert _stored(run_id).entity_counts == {"customer": {"unchanged": 1, "not_attempted": 1},
                                             "contact": {"unchanged": 3}}

    # The next attempt forgets what was not attempted, keeps the rest, and goes on.
    second = RunRecorder(db.engine, run_id)
    second.start()
    assert second.entity_counts == {"customer": {"unchanged": 1}, "contact": {"unchanged": 3}}
    assert second.done == 1
    second.record(entity="customer", direction="import", action="updated", cw_id=12, host_id=2, label="Beta (BETA)")
    second.record(entity="contact", direction="import", action="created", cw_id=21, host_id=5, label="Ann (Beta)",
                  advance=False)
    assert second.finish() == "succeeded"

    run = _stored(run_id)
    assert run.entity_counts == {"customer": {"unchanged": 1, "updated": 1}, "contact": {"unchanged": 3, "created": 1}}
    assert run.counts == {"unchanged": 4, "updated": 1, "created": 1} and run.done == 2
    assert "3 unchanged" in run.records_summary, run.records_summary
    # Only the records with a result of their own are listed.
    listed = db.session.execute(select(SyncItem.entity, SyncItem.action).where(SyncItem.run_id == run_id)
                                .order_by(SyncItem.id)).all()
    assert listed == [("customer", "unchanged"), ("customer", "updated"), ("contact", "created")]


def test_a_finished_run_is_returned_as_written_with_its_results_few_or_many(app):
    # One with the run's last update (PostgreSQL), several by COPY (in their order); alone, or in the recorder's
    # session's transaction (it read the run's results: a resumed run), whose stale copy is not what is returned.
    for n, resumed in ((1, False), (12, False), (1, True), (3, True)):
        run_id = _run()
        recorder = RunRecorder(db.engine, run_id, flush_seconds=3600)
        recorder.start()
        recorder.set_total(n, entity="customer", ids=range(1, n + 1), key="cw", direction="import")
        if resumed:
            assert recorder.completed_keys("customer") == (set(), set())
        for i in range(1, n + 1):
            recorder.record(entity="customer", direction="import", action="created", cw_id=i, host_id=i,
                            label=f"Company {i}")
        assert recorder.finish(message="done") == "succeeded"
        run = _stored(run_id)
        written = recorder.row
        assert written is not None and written.id == run_id
        assert (written.status, written.done, written.total, written.counts, written.message, written.finished_at,
                written.attempts) == (run.status, run.done, run.total, run.counts, run.message, run.finished_at,
                                      run.attempts) == ("succeeded", n, n, {"created": n}, "done", run.finished_at, 1)
        ids = db.session.execute(select(SyncItem.cw_id).where(SyncItem.run_id == run_id)
                                 .order_by(SyncItem.id)).scalars().all()
        assert ids == list(range(1, n + 1))


def test_a_runs_first_result_is_written_at_once_and_the_next_ones_in_batches(app):
    """Its pages and its list rows show the first record done while the next one takes its time (they showed "0 / 2"
    until the next record ended); a run of one record writes its result with its end."""
    def listed(run_id: int) -> int:
        return len(db.session.execute(select(SyncItem.id).where(SyncItem.run_id == run_id)).all())

    for total in (3, 1):
        run_id = _run()
        recorder = RunRecorder(db.engine, run_id, flush_seconds=3600)
        recorder.start()
        recorder.set_total(total, entity="customer", ids=range(1, total + 1), key="cw", direction="import")
        recorder.record(entity="customer", direction="import", action="created", cw_id=1, host_id=1, label="A")
        assert (_stored(run_id).done, listed(run_id)) == ((1, 1) if total > 1 else (0, 0)), total
        for i in range(2, total + 1):
            recorder.record(entity="customer", direction="import", action="created", cw_id=i, host_id=i, label="B")
            assert (_stored(run_id).done, listed(run_id)) == (1, 1)  # the next ones wait for their batch
        assert recorder.finish() == "succeeded"
        assert (_stored(run_id).done, listed(run_id)) == (total, total)


def test_results_written_behind_a_run_land_whole_and_in_order(app):
    """The batches the recorder writes by itself as a run goes on are written behind it (PostgreSQL): each one in
    full, in the order recorded, before anything reads the results or ends the attempt."""
    run_id = _run()
    recorder = RunRecorder(db.engine, run_id, flush_every=3)
    recorder.start()
    for n in range(10):
        recorder.record(entity="customer", direction="import", action="unchanged", cw_id=100 + n, host_id=n + 1,
                        label=f"Company {n}")
    assert recorder.completed_keys("customer")[1] == {100 + n for n in range(10)}  # waits for the batch behind
    for n in range(10, 20):
        recorder.record(entity="customer", direction="import", action="created", cw_id=100 + n, host_id=n + 1,
                        label=f"Company {n}")
    assert recorder.finish() == "succeeded"
    run = _stored(run_id)
    assert run.done == 20 and run.counts == {"unchanged": 10, "created": 10}
    listed = db.session.execute(select(SyncItem.cw_id).where(SyncItem.run_id == run_id).order_by(SyncItem.id))
    assert list(listed.scalars()) == [100 + n for n in range(20)]


def _failing_batch(flush_every: int = 2) -> tuple[int, RunRecorder]:
    """A run whose first batch of results cannot be written (an entity too long for its column)."""
    run_id = _run()
    recorder = RunRecorder(db.engine, run_id, flush_every=flush_every)
    recorder.start()
    recorder.record(entity="customer", direction="import", action="unchanged", cw_id=1, host_id=1, label="A")
    recorder.record(entity="c" * 30, direction="import", action="unchanged", cw_id=2, host_id=2, label="B")
    return run_id, recorder


def test_a_batch_written_behind_that_fails_is_raised_where_the_run_goes_on(app):
    run_id, recorder = _failing_batch()
    with pytest.raises(DBAPIError):  # the next batch waits for the one before, and says it failed
        for n in range(3, 5):
            recorder.record(entity="customer", direction="import", action="unchanged", cw_id=n, host_id=n, label="C")
    assert db.session.execute(select(SyncItem).where(SyncItem.run_id == run_id)).first() is None  # nothing half-written


def test_a_batch_written_behind_that_fails_ends_the_run_failed_saying_why(app):
    run_id, recorder = _failing_batch()
    assert recorder.finish() == "failed"
    run = _stored(run_id)
    assert run.status == "failed" and "could not be written" not in run.message
    assert run.message.startswith("Unexpected error: DataError") and "value too long" in run.message, run.message
    assert run.items == []  # nothing half-written


def test_a_run_that_waits_after_a_batch_that_failed_fails_instead(app):
    run_id, recorder = _failing_batch()
    recorder.wait(reason="ConnectWise is unreachable", next_try_at=None, give_up_at=None)
    run = _stored(run_id)
    assert run.status == "failed" and run.message.startswith("Unexpected error: DataError"), run.message
