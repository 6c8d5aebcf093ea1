"""A worker killed mid-run (a real ``colcw worker`` subprocess, SIGKILLed with its work horse)."""

from __future__ import annotations

import pytest
from colcw_test_kinds import effects_key
from jobs_support import wait_until, worker_env
from sqlalchemy import select, update

from colcw_plugin.models import SyncItem, SyncRun
from colcw_plugin.sync.jobs import recovery
from helpers import runtime, tune_runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def fresh(run_id: int) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def test_a_killed_worker_leaves_the_run_interrupted_and_resuming_completes_it_without_duplicates(
        jobs_app, redis_conn, processes, monkeypatch):
    tune_runtime(monkeypatch, jobs_app, auto_resumes=0)  # no automatic resume: a person resumes it
    run_id = runtime().submit(db.session, "test_count", {"n": 6, "stall_at": 4, "stall_seconds": 120}, actor=ADMIN).run.id
    env = worker_env(jobs_app, COLCW_LIVENESS_SECONDS=1)
    worker = processes.start(["colcw", "worker"], env)
    wait_until(lambda: fresh(run_id).done == 3, message="the worker to finish 3 of 6 items")
    # Alive and working (stalled inside item 4): not interrupted, however old its heartbeat.
    assert recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=0) == []

    processes.kill(worker)
    assert fresh(run_id).status == "running"  # nobody told the database
    assert recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=300) == []  # heartbeat still recent
    wait_until(lambda: recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=0) == [run_id],
               message="the liveness key to expire")
    interrupted = fresh(run_id)
    assert interrupted.status == "interrupted"
    assert "after 3 of 6 records" in interrupted.message and "Resume" in interrupted.message

    resumed = recovery.resume(db.session, runtime().queue, run_id, actor=ADMIN)
    assert resumed.duplicate is False and resumed.enqueued is True and resumed.run.status == "queued"
    burst = processes.start(["colcw", "worker", "--burst"], env)
    assert burst.wait(timeout=60) == 0, burst.stdout.read()

    done = fresh(run_id)
    assert done.status == "succeeded", done.message
    assert done.done == done.total == 6
    recorded = db.session.execute(select(SyncItem.host_id).where(SyncItem.run_id == run_id)).scalars().all()
    assert sorted(recorded) == [1, 2, 3, 4, 5, 6]  # one record per item
    effects = [int(x) for x in redis_conn.lrange(effects_key(run_id), 0, -1)]
    assert sorted(effects) == [1, 2, 3, 4, 5, 6]  # nothing done twice


def test_a_run_whose_worker_died_is_resumed_without_a_person_and_finishes_once(jobs_app, redis_conn, processes):
    run_id = runtime().submit(db.session, "test_count", {"n": 5, "stall_at": 3, "stall_seconds": 120}, actor=ADMIN).run.id
    env = worker_env(jobs_app, COLCW_LIVENESS_SECONDS=1)
    worker = processes.start(["colcw", "worker"], env)
    wait_until(lambda: fresh(run_id).done == 2, message="the worker to finish 2 of 5 items")
    processes.kill(worker)
    # What the dead attempt last said it waited for must not outlive it.
    db.session.execute(update(SyncRun).where(SyncRun.id == run_id).values(
        waiting_reason="ConnectWise is rate-limiting colcw: trying the request again in 30 s"))
    db.session.commit()
    wait_until(lambda: recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=0) == [run_id],
               message="the liveness key to expire")
    resumed = fresh(run_id)
    assert resumed.status == "queued" and resumed.interruptions == 1
    assert "resumed automatically" in resumed.message
    assert resumed.waiting_reason == "" and resumed.wait_text == ""
    burst = processes.start(["colcw", "worker", "--burst"], env)
    assert burst.wait(timeout=60) == 0, burst.stdout.read()
    done = fresh(run_id)
    assert done.status == "succeeded" and done.done == done.total == 5, done.message
    effects = sorted(int(x) for x in redis_conn.lrange(effects_key(run_id), 0, -1))
    assert effects == [1, 2, 3, 4, 5]  # nothing done twice


def test_only_an_interrupted_run_can_be_resumed(jobs_app, drain_queue):
    run = runtime().submit(db.session, "test_count", {"n": 1}, actor=ADMIN).run
    drain_queue()
    with pytest.raises(ValueError, match="only an interrupted run can be resumed"):
        recovery.resume(db.session, runtime().queue, run.id, actor=ADMIN)


def test_a_running_run_shows_its_connectwise_requests_as_it_goes(jobs_app, drain_queue, redis_conn):
    """A long run's page read 0 requests until the attempt ended (a rate-limited import looked idle)."""
    import colcw_test_kinds

    run = runtime().submit(db.session, "test_count", {"n": 3, "ask": True}, actor=ADMIN).run
    drain_queue()
    seen = [int(x) for x in redis_conn.lrange(colcw_test_kinds.seen_key(run.id), 0, -1)]
    assert len(seen) == 3 and seen[0] >= 1 and seen == sorted(seen) and seen[2] - seen[0] == 2, seen
    db.session.expire_all()
    done = db.session.get(SyncRun, run.id)
    assert done.status == "succeeded" and done.api_requests == seen[-1]  # the end adds nothing twice
