"""A due schedule whose job another request is queueing at that moment (the queue's per-work lock held, as by a Run
now of the same job on another machine) is not lost: the tick leaves it due, fires the other due schedules, does not
fail, and the next tick — once the lock is free — queues its run, exactly once, even with two schedulers ticking.
Likewise a run recorded but not queued (an event's, while Redis was down) whose work is being queued when the
scheduler's housekeeping requeues lost runs: the others are queued, and it is at the next tick; and a run whose
worker died, met by a busy lock when the scheduler resumes it, is left queued for a later tick, not interrupted for good.
Real PostgreSQL and Redis; the lock held from another connection, as another web process holds it."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import redis
from sqlalchemy import select

from colcw_plugin.models import Schedule, SyncRun
from colcw_plugin.sync.jobs import recovery, scheduler
from colcw_plugin.sync.jobs.queue import new_job_id, work_key
from colcw_plugin.sync.jobs.runs import create_run
from colcw_plugin.sync.jobs.schedules import create_schedule, parse_timing
from helpers import redis_down, run_scheduler_once, runtime, tune_runtime
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _overdue(name: str, n: int) -> Schedule:
    """A daily schedule of ``test_count`` due a while ago (so the real clock's tick fires it)."""
    s = create_schedule(db.session, name=name, kind="test_count", params={"n": n},
                        timing=parse_timing({"frequency": "daily", "time": "02:30", "timezone": "UTC"}),
                        actor="admin@demo.example", now=_now() - dt.timedelta(days=2))
    db.session.commit()
    return s


def _runs(schedule_id: int) -> list[SyncRun]:
    db.session.expire_all()
    return list(db.session.execute(select(SyncRun).where(SyncRun.schedule_id == schedule_id)
                                   .order_by(SyncRun.id)).scalars())


@pytest.fixture()
def other(redis_url, jobs_app, monkeypatch):
    """Another web process's connection to the same Redis; pages wait 0.3 s for a lock it holds."""
    tune_runtime(monkeypatch, jobs_app, submit_lock_wait_seconds=0.3)
    return redis.Redis.from_url(redis_url)


def test_a_due_schedule_met_by_a_busy_lock_is_queued_at_the_next_tick_exactly_once(other, app, drain_queue):
    busy, free = _overdue("Busy count", 2), _overdue("Free count", 3)
    due = busy.next_run_at
    lock = other.lock(f"colcw:submit:{work_key('test_count', {'n': 2})}", timeout=30)
    assert lock.acquire(blocking=False)
    try:
        # The scheduler's own loop (flask colcw scheduler --once): it fires what it can, and counts it.
        assert run_scheduler_once(app) == 1
        assert _runs(busy.id) == [] and len(_runs(free.id)) == 1  # the other due schedule fired all the same
        db.session.expire_all()
        assert db.session.get(Schedule, busy.id).next_run_at == due  # not claimed: still due
    finally:
        lock.release()

    # The lock is free: two schedulers tick at the same moment (two machines); the run is queued once.
    barrier, fired = threading.Barrier(2), []

    def one_scheduler():
        with app.app_context():
            barrier.wait()
            fired.extend(scheduler.tick(db.session, runtime().queue, runtime().kinds))
            db.session.remove()

    threads = [threading.Thread(target=one_scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert [(f.schedule_id, f.due_at) for f in fired] == [(busy.id, due)]
    assert run_scheduler_once(app) == 0  # and not again
    [run] = _runs(busy.id)
    assert run.trigger == "schedule" and run.status == "queued"
    assert runtime().queue.is_working(run.rq_job_id, run.id)  # in RQ, not only recorded
    db.session.expire_all()
    schedule = db.session.get(Schedule, busy.id)
    assert schedule.next_run_at > _now() and schedule.last_run_id == run.id
    drain_queue()
    db.session.expire_all()
    assert db.session.get(SyncRun, run.id).status == "succeeded"
    assert len(_runs(busy.id)) == 1 and len(_runs(free.id)) == 1


def test_a_lost_run_whose_work_is_being_queued_waits_for_the_next_tick_and_the_others_are_queued(other, app,
                                                                                                 monkeypatch,
                                                                                                 drain_queue):
    # Two runs recorded but not in RQ (an event's submit met Redis down): the scheduler's housekeeping queues them.
    back = redis_down(monkeypatch, app)
    busy = runtime().submit(db.session, "test_count", {"n": 2}, trigger="event", record_when_queue_down=True).run
    free = runtime().submit(db.session, "test_count", {"n": 3}, trigger="event", record_when_queue_down=True).run
    back()
    assert not runtime().queue.is_working(busy.rq_job_id, busy.id)
    lock = other.lock(f"colcw:submit:{work_key('test_count', {'n': 2})}", timeout=30)
    assert lock.acquire(blocking=False)
    try:
        queued = recovery.requeue_lost(db.session, runtime().queue, older_than_seconds=0)
    finally:
        lock.release()
    assert queued == [free.id]  # the other one is queued; the busy one is left for the next tick, not an error
    assert recovery.requeue_lost(db.session, runtime().queue, older_than_seconds=0) == [busy.id]
    assert drain_queue() == 2
    db.session.expire_all()
    assert [db.session.get(SyncRun, r.id).status for r in (busy, free)] == ["succeeded", "succeeded"]


def test_a_run_whose_worker_died_while_its_work_is_being_queued_is_resumed_at_a_later_tick(other, drain_queue):
    run = create_run(db.session, runtime().kinds, "test_count", {"n": 2})
    run.status, run.rq_job_id = "running", new_job_id(run.id)  # its worker died: no job, no liveness key
    run.heartbeat_at = utcnow() - dt.timedelta(minutes=10)
    db.session.commit()
    lock = other.lock(f"colcw:submit:{work_key('test_count', {'n': 2})}", timeout=30)
    assert lock.acquire(blocking=False)
    try:
        assert recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=0) == [run.id]
    finally:
        lock.release()
    db.session.expire_all()
    assert db.session.get(SyncRun, run.id).status == "queued"  # not left interrupted, which nothing would resume
    assert recovery.requeue_lost(db.session, runtime().queue, older_than_seconds=0) == [run.id]
    assert drain_queue() == 1
    db.session.expire_all()
    assert db.session.get(SyncRun, run.id).status == "succeeded"
