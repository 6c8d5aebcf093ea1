"""The RQ glue on real Redis: submit, duplicates, retries, status, lost runs, retention."""

from __future__ import annotations

import datetime as dt

import pytest
from colcw_test_kinds import attempts_key, effects_key
from rq.job import Job, JobStatus
from sqlalchemy import func, select

from colcw_plugin.extension import run_job
from colcw_plugin.models import SyncItem, SyncRun
from colcw_plugin.sync.jobs import history, recovery
from helpers import ConnectionDropped, run_scheduler_once, runtime, tune_runtime
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def items(run_id: int) -> list[int]:
    return list(db.session.execute(select(SyncItem.host_id).where(SyncItem.run_id == run_id)
                                   .order_by(SyncItem.host_id)).scalars())


def test_submitted_run_is_recorded_before_it_runs_and_the_job_gets_only_its_id(jobs_app, redis_conn, drain_queue):
    submitted = runtime().submit(db.session, "test_count", {"n": 3}, actor=ADMIN)
    assert submitted.duplicate is False and submitted.enqueued is True
    run = submitted.run
    assert db.session.get(SyncRun, run.id).status == "queued"  # committed before any worker saw it
    job = Job.fetch(run.rq_job_id, connection=redis_conn)
    assert job.args == (run.id,) and job.kwargs == {}
    assert job.id.startswith(f"colcw-run-{run.id}-")  # the run's own job: no other run ever carries its id
    assert f"colcw run #{run.id}: Count 3 test items" in job.description
    assert job.meta["colcw_run_id"] == run.id and job.meta["kind"] == "test_count"

    assert drain_queue() == 1
    db.session.expire_all()
    done = db.session.get(SyncRun, run.id)
    assert done.status == "succeeded" and done.done == done.total == 3
    assert items(run.id) == [1, 2, 3]
    assert Job.fetch(run.rq_job_id, connection=redis_conn).get_status() == JobStatus.FINISHED


def test_the_same_job_is_not_queued_twice_while_one_is_pending(jobs_app, redis_conn, drain_queue):
    first = runtime().submit(db.session, "test_count", {"n": 2}, actor=ADMIN).run
    again = runtime().submit(db.session, "test_count", {"n": 2}, actor=ADMIN)
    other = runtime().submit(db.session, "test_count", {"n": 5}, actor=ADMIN)
    assert again.duplicate is True and again.enqueued is True and again.run.id == first.id
    assert other.duplicate is False and other.run.id != first.id
    assert db.session.scalar(select(func.count(SyncRun.id))) == 2
    assert runtime().queue.rq.count == 2

    assert drain_queue() == 2
    # Finished: the same job may run again, as a new run.
    submitted = runtime().submit(db.session, "test_count", {"n": 2}, actor=ADMIN)
    third = submitted.run
    assert submitted.duplicate is False and third.id not in (first.id, other.run.id)
    drain_queue()
    db.session.expire_all()
    assert db.session.get(SyncRun, third.id).status == "succeeded"


def test_a_transient_failure_is_retried_with_the_same_run_until_it_succeeds(jobs_app, redis_conn, drain_queue):
    run = runtime().submit(db.session, "test_count", {"n": 2, "fail": "transient", "transient_times": 2}, actor=ADMIN).run
    assert drain_queue() == 3  # two 503s, then the third attempt works
    db.session.expire_all()
    done = db.session.get(SyncRun, run.id)
    assert int(redis_conn.get(attempts_key(run.id))) == 3
    assert done.status == "succeeded" and items(run.id) == [1, 2]


def test_transient_failures_beyond_the_retries_fail_the_run_with_the_reason(jobs_app, redis_conn, drain_queue):
    run = runtime().submit(db.session, "test_count", {"n": 2, "fail": "transient"}, actor=ADMIN).run
    assert drain_queue() == 3  # the first attempt and two retries (COLCW_RETRY_INTERVALS has two)
    db.session.expire_all()
    failed = db.session.get(SyncRun, run.id)
    assert failed.status == "failed" and failed.attempts == 3
    assert "ConnectWise is unavailable" in failed.message and "repeated transient failures" in failed.message
    assert Job.fetch(run.rq_job_id, connection=redis_conn).get_status() == JobStatus.FAILED
    # Nothing was done: Retry offers the whole job again.
    assert history.retry_params(db.session, runtime().kinds, failed) is None  # the test kind has no Retry


def test_a_permanent_error_is_not_retried(jobs_app, redis_conn, drain_queue):
    run = runtime().submit(db.session, "test_count", {"n": 2, "fail": "permanent"}, actor=ADMIN).run
    assert drain_queue() == 1  # retries are configured, and not used
    assert int(redis_conn.get(attempts_key(run.id))) == 1
    job = Job.fetch(run.rq_job_id, connection=redis_conn)
    assert job.get_status() == JobStatus.FAILED
    db.session.expire_all()
    failed = db.session.get(SyncRun, run.id)
    assert failed.status == "failed" and "refused" in failed.message and "fix the request" in failed.message
    assert "nothing to do" not in failed.message  # it stopped before any record: that is not "nothing to do"


def test_a_job_delivered_twice_runs_once(jobs_app, redis_conn, drain_queue):
    run = runtime().submit(db.session, "test_count", {"n": 2}, actor=ADMIN).run
    drain_queue()
    assert "nothing to do" in run_job(run.id)  # a stray second delivery of a finished run
    assert redis_conn.llen(effects_key(run.id)) == 2


def test_run_status_reports_progress_and_the_final_result(jobs_app, drain_queue):
    working = runtime().submit(db.session, "test_count", {"n": 8}, actor=ADMIN).run
    queued = history.run_status(db.session, runtime().kinds, working.id)
    assert queued["status"] == "queued" and queued["percent"] == 0 and queued["final"] is False
    db.session.execute(SyncRun.__table__.update().where(SyncRun.id == working.id).values(
        status="running", total=8, done=2))  # as a worker reports progress
    db.session.commit()
    assert history.run_status(db.session, runtime().kinds, working.id)["percent"] == 25

    run = runtime().submit(db.session, "test_count", {"n": 4}, actor=ADMIN).run
    drain_queue()
    final = history.run_status(db.session, runtime().kinds, run.id)
    assert final == final | {"status": "succeeded", "final": True, "done": 4, "total": 4, "percent": 100,
                             "counts": {"created": 4}}
    assert "4 created" in final["message"]
    assert history.run_status(db.session, runtime().kinds, 999_999) is None


def test_a_queued_run_lost_by_redis_is_enqueued_again(jobs_app, redis_conn, drain_queue):
    run = runtime().submit(db.session, "test_count", {"n": 2}, actor=ADMIN).run
    redis_conn.flushdb()  # Redis restarted without persistence
    assert recovery.requeue_lost(db.session, runtime().queue, older_than_seconds=0) == [run.id]
    assert recovery.requeue_lost(db.session, runtime().queue, older_than_seconds=0) == []  # now it is queued again
    drain_queue()
    db.session.expire_all()
    assert db.session.get(SyncRun, run.id).status == "succeeded"


def test_history_older_than_the_retention_is_purged_and_active_runs_are_kept(jobs_app, redis_conn, drain_queue):
    old = runtime().submit(db.session, "test_count", {"n": 2}, actor=ADMIN).run.id
    drain_queue()
    recent = runtime().submit(db.session, "test_count", {"n": 1}, actor=ADMIN).run
    drain_queue()
    stuck = runtime().submit(db.session, "test_count", {"n": 3}, actor=ADMIN).run  # still queued
    long_ago = utcnow() - dt.timedelta(days=91)
    db.session.execute(SyncRun.__table__.update().where(SyncRun.id.in_([old, stuck.id]))
                       .values(created_at=long_ago))
    db.session.commit()

    assert history.maybe_purge(db.session, redis_conn, 90) == 1
    assert history.maybe_purge(db.session, redis_conn, 90) is None  # at most hourly
    remaining = set(db.session.execute(select(SyncRun.id)).scalars())
    assert remaining == {recent.id, stuck.id}
    assert items(old) == [] and items(recent.id) == [1]


def test_an_unknown_job_type_is_refused(jobs_app):
    with pytest.raises(ValueError, match="Unknown job type"):
        runtime().submit(db.session, "nope", {})
    assert db.session.scalar(select(func.count(SyncRun.id))) == 0


def test_a_run_recorded_when_redis_fails_before_the_enqueue_is_kept_and_queued_once_redis_is_back(
        jobs_app, redis_conn, drain_queue, monkeypatch):
    import redis

    queue = runtime().queue
    real_enqueue = queue.enqueue

    def redis_dies(run):
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(queue, "enqueue", redis_dies)
    submitted = runtime().submit(db.session, "test_count", {"n": 2}, actor=ADMIN)
    assert submitted.enqueued is False and submitted.duplicate is False
    run_id = submitted.run.id
    db.session.expire_all()
    kept = db.session.get(SyncRun, run_id)
    assert kept.status == "queued" and "Not queued yet" in kept.message  # recorded, and says why it waits
    assert runtime().queue.rq.count == 0

    monkeypatch.setattr(queue, "enqueue", real_enqueue)  # Redis answers again
    tune_runtime(monkeypatch, jobs_app, lost_after_seconds=0)

    run_scheduler_once()  # the scheduler's housekeeping queues it
    assert runtime().queue.rq.count == 1
    assert drain_queue() == 1
    db.session.expire_all()
    done = db.session.get(SyncRun, run_id)
    assert done.status == "succeeded" and items(run_id) == [1, 2]
    assert "Not queued yet" not in done.message


def test_the_scheduler_housekeeping_marks_dead_runs_interrupted_and_purges_old_history(jobs_app, redis_conn):
    dead = runtime().submit(db.session, "test_count", {"n": 2}, actor=ADMIN).run.id
    runtime().queue.rq.empty()
    old = runtime().submit(db.session, "test_count", {"n": 3}, actor=ADMIN).run.id
    long_ago = utcnow() - dt.timedelta(days=91)
    db.session.execute(SyncRun.__table__.update().where(SyncRun.id == dead).values(
        status="running", heartbeat_at=long_ago))  # its worker died long ago and RQ holds nothing
    db.session.execute(SyncRun.__table__.update().where(SyncRun.id == old).values(
        status="succeeded", created_at=long_ago))
    db.session.commit()

    run_scheduler_once()
    db.session.expire_all()
    found = db.session.get(SyncRun, dead)
    assert found.status == "queued" and found.interruptions == 1  # marked interrupted, and resumed at once
    assert "resumed automatically" in found.message
    assert runtime().queue.is_working(found.rq_job_id, dead)
    assert db.session.get(SyncRun, old) is None


def test_cancelling_a_queued_run_keeps_it_from_running_and_from_being_queued_again(jobs_app, redis_conn, drain_queue):
    run = runtime().submit(db.session, "test_count", {"n": 2}, actor=ADMIN).run
    cancelled = recovery.cancel(db.session, runtime().queue, run.id, actor=ADMIN)
    assert cancelled.status == "cancelled" and "Cancelled by admin@demo.example" in cancelled.message
    assert runtime().queue.rq.count == 0
    assert recovery.requeue_lost(db.session, runtime().queue, older_than_seconds=0) == []
    assert drain_queue() == 0
    assert run_job(run.id).endswith("is cancelled; nothing to do")  # a stray delivery does nothing
    assert redis_conn.llen(effects_key(run.id)) == 0
    with pytest.raises(ValueError, match="only a queued, running, waiting or interrupted run can be cancelled"):
        recovery.cancel(db.session, runtime().queue, run.id, actor=ADMIN)
    again = runtime().submit(db.session, "test_count", {"n": 2}, actor=ADMIN)  # the same job may be queued anew
    assert again.duplicate is False and again.run.id != run.id


def test_a_cancelled_run_picked_up_in_the_foreground_stays_cancelled_and_does_nothing(jobs_app, redis_conn):
    """The command line and the pages run a run in their own process, without the queue's claim: the attempt's start
    is the compare-and-set then, so an admin's cancel that lands first wins there too."""
    run = runtime().submit(db.session, "test_count", {"n": 2}, actor=ADMIN).run
    recovery.cancel(db.session, runtime().queue, run.id, actor=ADMIN)
    done = runtime().execute(db.session, run.id)
    assert done.status == "cancelled" and done.attempts == 0 and done.started_at is None, done.status
    assert redis_conn.llen(effects_key(run.id)) == 0 and items(run.id) == []


def test_a_finished_run_cannot_be_cancelled(jobs_app, drain_queue):
    run = runtime().submit(db.session, "test_count", {"n": 1}, actor=ADMIN).run
    drain_queue()
    with pytest.raises(ValueError, match="is succeeded; only a queued, running, waiting or interrupted run"):
        recovery.cancel(db.session, runtime().queue, run.id, actor=ADMIN)
    db.session.expire_all()
    assert db.session.get(SyncRun, run.id).status == "succeeded"


def test_a_run_whose_worker_the_database_refuses_before_taking_it_stays_queued_for_the_scheduler(
        jobs_app, redis_conn, drain_queue):
    """The worker's connection drops as it takes the run (its claim): nothing of the run was written, its job fails in
    RQ, and the run stays queued (no attempt counted, no worker taken for dead); the scheduler's next pass queues it
    again, and it runs once."""
    run = runtime().submit(db.session, "test_count", {"n": 2}, actor=ADMIN).run
    first_job = run.rq_job_id

    def the_claim(statement: str) -> bool:
        return statement.startswith("UPDATE colcw_sync_runs SET status=") and "attempts" not in statement.split("WHERE")[0]

    with ConnectionDropped(db.engine, the_claim) as drop:
        assert drain_queue() == 1
    assert len(drop.dropped) == 1
    failed = Job.fetch(first_job, connection=redis_conn)
    assert failed.get_status() == JobStatus.FAILED
    # What the queue dashboard shows of it: the run, why, and what happens next, not the driver's traceback alone.
    assert (f"RunNotTaken: run #{run.id} was not taken: colcw's database did not take a connection (terminating "
            "connection due to administrator command). The run stays as it was; the scheduler queues it again once "
            "the database takes connections") in failed.latest_result().exc_string
    db.session.rollback()
    db.session.expire_all()
    left = db.session.get(SyncRun, run.id)
    assert (left.status, left.attempts, left.interruptions) == ("queued", 0, 0)
    assert recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=0) == []

    assert first_job in runtime().queue.failed_job_ids()
    assert recovery.requeue_lost(db.session, runtime().queue, older_than_seconds=0) == [run.id]
    assert first_job not in runtime().queue.failed_job_ids()  # (gone with its requeue: no Requeue left to click)
    assert drain_queue() == 1
    db.session.expire_all()
    done = db.session.get(SyncRun, run.id)
    assert (done.status, done.attempts) == ("succeeded", 1) and items(run.id) == [1, 2]
    assert redis_conn.llen(effects_key(run.id)) == 2  # its work done once
