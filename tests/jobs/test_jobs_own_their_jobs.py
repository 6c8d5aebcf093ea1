"""Every run owns its RQ jobs (issue 11): a later submission never takes over an earlier run's job, the
same work is still not queued twice, and every queued run starts with no colcw scheduler running."""

from __future__ import annotations

import pytest
from colcw_test_kinds import effects_key
from jobs_support import wait_until, worker_env
from rq.job import Job
from sqlalchemy import func, select

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs import recovery
from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def fresh(run_id: int) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def test_a_queued_run_whose_job_was_lost_is_queued_again_by_the_next_submit_of_the_same_work(
        jobs_app, redis_conn, drain_queue):
    first = runtime().submit(db.session, "test_count", {"n": 2}, actor=ADMIN).run
    lost_job = first.rq_job_id
    Job.fetch(lost_job, connection=redis_conn).delete()  # deleted in rq-dashboard, or Redis lost it
    submitted = runtime().submit(db.session, "test_count", {"n": 2}, actor=ADMIN)
    again = submitted.run
    assert submitted.duplicate is True and again.id == first.id  # the same work: the same run ...
    assert again.rq_job_id != lost_job and again.rq_job_id.startswith(f"colcw-run-{first.id}-")  # ... with a job
    assert db.session.scalar(select(func.count(SyncRun.id))) == 1
    assert drain_queue() == 1
    assert fresh(first.id).status == "succeeded"


def test_different_runs_never_share_a_job(jobs_app, redis_conn, drain_queue):
    one = runtime().submit(db.session, "test_count", {"n": 1}, actor=ADMIN).run
    drain_queue()
    two = runtime().submit(db.session, "test_count", {"n": 1}, actor=ADMIN).run  # the same work once more
    assert two.id != one.id and two.rq_job_id != one.rq_job_id
    assert Job.fetch(one.rq_job_id, connection=redis_conn).args == (one.id,)  # the first run's job is its own
    drain_queue()
    assert fresh(two.id).status == "succeeded"


@pytest.mark.slow
def test_without_a_scheduler_every_queued_run_starts_and_ends(jobs_app, redis_conn, processes):
    """Several submits, a duplicate, a transient failure retried after a delay, a resumed run and a run whose
    job was lost: one worker (with RQ's scheduler for delayed attempts), no ``colcw scheduler`` process."""
    submitted = [runtime().submit(db.session, "test_count", {"n": n}, actor=ADMIN).run.id for n in (1, 2, 3)]
    duplicate = runtime().submit(db.session, "test_count", {"n": 2}, actor=ADMIN)
    assert duplicate.duplicate and duplicate.run.id == submitted[1]
    flaky = runtime().submit(db.session, "test_count", {"n": 2, "fail": "transient", "transient_times": 1},
                             actor=ADMIN).run.id
    resumed = runtime().submit(db.session, "test_count", {"n": 4}, actor=ADMIN).run
    runtime().queue.withdraw(resumed)
    db.session.execute(SyncRun.__table__.update().where(SyncRun.id == resumed.id).values(status="interrupted"))
    db.session.commit()
    assert recovery.resume(db.session, runtime().queue, resumed.id, actor=ADMIN).duplicate is False
    lost = runtime().submit(db.session, "test_count", {"n": 5}, actor=ADMIN).run
    Job.fetch(lost.rq_job_id, connection=redis_conn).delete()
    assert runtime().submit(db.session, "test_count", {"n": 5}, actor=ADMIN).run.id == lost.id

    env = worker_env(jobs_app, COLCW_RETRY_INTERVALS="1")
    processes.start(["colcw", "worker"], env)
    every = [*submitted, flaky, resumed.id, lost.id]
    wait_until(lambda: all(fresh(r).status == "succeeded" for r in every), timeout=60,
               message="every run to end")
    assert fresh(flaky).attempts == 2  # the 503, then the delayed second attempt
    for run_id in every:
        run = fresh(run_id)
        assert run.done == run.total
        assert len(redis_conn.lrange(effects_key(run_id), 0, -1)) == run.total  # each item once
