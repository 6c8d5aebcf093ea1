"""A dead worker's job whose RQ execution already expired still leaves RQ when its run is resumed, and one run's
trouble does not stop the scheduler's pass over the others.

After ``kill -9`` of a worker and its work horse, RQ's started registry (``rq:wip:<queue>``) keeps the job's entry
``<job id>:<execution id>`` and the job hash keeps saying "started", while the execution's own hash
(``rq:execution:<job id>:<execution id>``, written with the worker's heartbeat TTL) expires. RQ's ``Job.delete()``
then raised ``ValueError: Execution … not found in Redis`` and deleted nothing: the scheduler's pass crashed, and the
job later turned Failed on the dashboard with a Requeue of a run that had gone on. Real Redis and RQ throughout.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from rq import Worker

from colcw_plugin.sync.jobs.queue import JOB_FUNCTION, JobQueue, new_job_id
from helpers import runtime

pytestmark = [pytest.mark.redis]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def _taken_by_a_dead_worker(queue: JobQueue, job, *, execution_expired: bool) -> None:
    """RQ's own bookkeeping of a worker starting ``job`` (then nothing ends it: the worker was killed); with
    ``execution_expired``, the execution's hash gone as its TTL makes it go after the kill."""
    queue.rq.remove(job)
    worker = Worker([queue.rq], connection=queue.connection, name=f"dead-{job.id}")
    execution = worker.prepare_execution(job)
    worker.prepare_job_execution(job)
    assert queue.connection.exists(execution.key)
    if execution_expired:
        queue.connection.delete(execution.key)


def _started_ids(queue: JobQueue) -> list[str]:
    return queue.rq.started_job_registry.get_job_ids(cleanup=False)


def _rq_fails_abandoned_jobs(queue: JobQueue) -> None:
    """What RQ does once a dead worker's heartbeat lapsed: its started jobs move to the failed registry."""
    queue.rq.started_job_registry.cleanup(timestamp=time.time() + 10 * 86400)


def _keys_of(queue: JobQueue, job_id: str) -> list[bytes]:
    return sorted(k for k in queue.connection.scan_iter(match=f"*{job_id}*") if not k.startswith(b"rq:worker:"))


def test_remove_stale_removes_a_started_job_whose_execution_expired(app, redis_conn):
    queue = runtime(app).queue
    dead = queue.rq.enqueue(JOB_FUNCTION, 7, job_id=new_job_id(7))
    _taken_by_a_dead_worker(queue, dead, execution_expired=True)
    assert _started_ids(queue) == [dead.id]

    assert queue.remove_stale(7) == 1

    assert _started_ids(queue) == [] and queue.fetch(dead.id) is None
    assert _keys_of(queue, dead.id) == []  # no job hash, no executions left behind
    _rq_fails_abandoned_jobs(queue)
    assert queue.failed_job_ids() == []


def _running_with_a_dead_worker(session, queue: JobQueue, n: int, *, execution_expired: bool):
    """A test_count run a worker took and died on: running in the database (its heartbeat an hour old, no liveness
    key), its job started in RQ."""
    from colcw_plugin.models import SyncRun

    run = runtime().submit(session, "test_count", {"n": n}, actor=ADMIN).run
    job = queue.fetch(run.rq_job_id)
    _taken_by_a_dead_worker(queue, job, execution_expired=execution_expired)
    row = session.get(SyncRun, run.id)
    row.status = "running"
    row.heartbeat_at = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=1)
    session.commit()
    return run.id, job.id


def _fresh(run_id: int):
    from colcw_plugin.models import SyncRun
    from host_stub.extensions import db

    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


@pytest.mark.postgres
def test_the_scheduler_resumes_a_run_whose_dead_jobs_execution_expired_and_goes_on(app, redis_conn):
    """The scheduler's pass (detect_interrupted) over two runs whose worker died, the first one's execution already
    expired: both are resumed under new jobs, neither dead job stays in RQ to turn Failed."""
    from colcw_plugin.sync.jobs import recovery
    from host_stub.extensions import db

    queue = runtime().queue
    first, first_dead = _running_with_a_dead_worker(db.session, queue, 1, execution_expired=True)
    second, second_dead = _running_with_a_dead_worker(db.session, queue, 2, execution_expired=False)

    assert recovery.detect_interrupted(db.session, queue, kinds=runtime().kinds) == [first, second]

    for run_id, dead in ((first, first_dead), (second, second_dead)):
        run = _fresh(run_id)
        assert run.status == "queued" and run.rq_job_id != dead and queue.fetch(dead) is None
        assert run.interruptions == 1
    assert _started_ids(queue) == []
    _rq_fails_abandoned_jobs(queue)
    assert queue.failed_job_ids() == []
    assert sorted(queue.rq.job_ids) == sorted([_fresh(first).rq_job_id, _fresh(second).rq_job_id])


class _TroubledQueue(JobQueue):
    """colcw's queue on the test's Redis, but Redis/RQ raising something unforeseen over one run's job."""

    troubled: str = ""

    def is_working(self, job_id, run_id):
        if job_id == self.troubled:
            raise RuntimeError("something unforeseen in RQ")
        return super().is_working(job_id, run_id)


@pytest.mark.postgres
def test_one_runs_failure_does_not_stop_the_pass_over_the_others(app, redis_conn, caplog):
    from colcw_plugin.sync.jobs import recovery
    from host_stub.extensions import db

    rt = runtime()
    queue = _TroubledQueue(rt.queue.connection, rt.queue.settings, urgent=rt.queue.urgent)
    first, first_dead = _running_with_a_dead_worker(db.session, queue, 1, execution_expired=False)
    second, second_dead = _running_with_a_dead_worker(db.session, queue, 2, execution_expired=False)
    queue.troubled = first_dead

    assert recovery.detect_interrupted(db.session, queue, kinds=rt.kinds) == [second]

    assert _fresh(first).status == "running"  # left for the next tick
    assert _fresh(second).status == "queued" and queue.fetch(second_dead) is None
    assert f"run {first}: judging whether its worker died failed" in caplog.text
