"""A run's stale jobs leave RQ's registries when colcw retries or resumes the run, and only that run's.

JobQueue finds a run's jobs by their ids (``colcw-run-<id>-<token>``, queue.new_job_id): Redis picks them out of the
registry, so neither the whole failed list nor another run's job comes over the wire. Every assertion reads the
test's own Redis: what the registries hold, and what Redis answered the queue.
"""

from __future__ import annotations

import time

import pytest
import redis
from jobs_support import wait_until, worker_env
from rq.job import JobStatus

from colcw_plugin.sync.jobs.queue import JOB_FUNCTION, JobQueue
from helpers import csrf_from, runtime, tune_runtime

pytestmark = [pytest.mark.redis]


class RecordingRedis(redis.Redis):
    """A Redis client that keeps every command it sent and every reply it got."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent: list[tuple] = []

    def execute_command(self, *args, **options):
        reply = super().execute_command(*args, **options)
        self.sent.append((args, reply))
        return reply


def _failed(queue: JobQueue, job_id: str, run_id: int) -> str:
    """A job of colcw's for ``run_id`` in RQ's failed registry (as a work-horse killed mid-run leaves it)."""
    job = queue.rq.enqueue(JOB_FUNCTION, run_id, job_id=job_id)
    queue.rq.remove(job)
    job.set_status(JobStatus.FAILED)
    queue.rq.failed_job_registry.add(job, ttl=3600, exc_string="Work-horse terminated unexpectedly")
    return job_id


def _mentions(reply, text: str) -> bool:
    if isinstance(reply, bytes):
        return text.encode() in reply
    if isinstance(reply, str):
        return text in reply
    if isinstance(reply, (list, tuple, set)):
        return any(_mentions(r, text) for r in reply)
    if isinstance(reply, dict):
        return any(_mentions(k, text) or _mentions(v, text) for k, v in reply.items())
    return False


def test_remove_stale_takes_this_runs_failed_jobs_and_reads_no_other_runs(app, redis_conn):
    settings = runtime(app).queue.settings
    queue = JobQueue(RecordingRedis.from_url(app.config["REDIS_URL"]), settings)
    dead = _failed(queue, "colcw-run-1-0000aaaa", 1)
    kept = _failed(queue, "colcw-run-1-0000bbbb", 1)  # the job the run goes on under (keep)
    others = [_failed(queue, f"colcw-run-{n}-0000cccc", n) for n in (12, 21, 100)]  # 12 and 100 begin as 1 does
    queue.connection.sent.clear()

    assert queue.remove_stale(1, keep=kept) == 1

    for (command, *args), reply in queue.connection.sent:  # what remove_stale asked Redis, and what came back
        for other in others:
            assert not _mentions(args, other) and not _mentions(reply, other), \
                f"{command} {args[:2]} read another run's job ({other})"
    assert sorted(queue.failed_job_ids()) == sorted([kept, *others])
    assert queue.fetch(dead) is None and all(queue.fetch(j) is not None for j in [kept, *others])


# --- a worker's machine died: its job stays "started" in RQ, and turns Failed only later -------------------------

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def _fresh(run_id: int):
    from colcw_plugin.models import SyncRun
    from host_stub.extensions import db

    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def _started_ids(queue: JobQueue) -> list[str]:
    return queue.rq.started_job_registry.get_job_ids(cleanup=False)


def _rq_fails_abandoned_jobs(queue: JobQueue) -> None:
    """What RQ does once a dead worker's heartbeat has lapsed (a worker's maintenance, or rq-dashboard listing the
    started jobs): its started jobs move to the failed registry, where the dashboard offers Requeue."""
    queue.rq.started_job_registry.cleanup(timestamp=time.time() + 10 * 86400)


@pytest.mark.postgres
@pytest.mark.slow
def test_a_run_resumed_after_its_machine_died_leaves_no_ghost_job_in_rq(jobs_app, redis_conn, processes,
                                                                        monkeypatch, admin_client):
    """A real ``colcw worker`` SIGKILLed with its work horse mid-run (its machine dying), the run resumed by a person
    (Resume on its page) and finished by another worker: the dead attempt's job is gone from RQ's started registry
    as soon as the run is resumed, and RQ has nothing of the run to fail later, so the dashboard never offers a
    Requeue of it."""
    from colcw_plugin.sync.jobs import recovery
    from host_stub.extensions import db

    tune_runtime(monkeypatch, jobs_app, auto_resumes=0)  # a person resumes it
    queue = runtime().queue
    run_id = runtime().submit(db.session, "test_count", {"n": 4, "stall_at": 2, "stall_seconds": 120}, actor=ADMIN).run.id
    env = worker_env(jobs_app, COLCW_LIVENESS_SECONDS=1)
    worker = processes.start(["colcw", "worker"], env)
    wait_until(lambda: _fresh(run_id).done == 1, message="the worker to finish 1 of 4 items")
    dead = _fresh(run_id).rq_job_id
    processes.kill(worker)
    assert _started_ids(queue) == [dead]  # RQ still takes it for running
    wait_until(lambda: recovery.detect_interrupted(db.session, queue, stale_seconds=0) == [run_id],
               message="the liveness key to expire")

    resp = admin_client.post(f"/admin/integration/connectwise/jobs/runs/{run_id}/resume",
                             data={"csrf_token": csrf_from(admin_client.get("/admin/integration/connectwise/jobs")
                                                           .get_data(as_text=True))})
    assert resp.status_code == 302
    resumed = _fresh(run_id)
    assert resumed.status == "queued" and resumed.rq_job_id != dead
    assert dead not in _started_ids(queue) and queue.fetch(dead) is None
    _rq_fails_abandoned_jobs(queue)
    assert queue.failed_job_ids() == []

    burst = processes.start(["colcw", "worker", "--burst"], env)
    assert burst.wait(timeout=60) == 0, burst.stdout.read()
    assert _fresh(run_id).status == "succeeded"
    _rq_fails_abandoned_jobs(queue)
    assert queue.failed_job_ids() == [] and _started_ids(queue) == []


@pytest.mark.postgres
def test_retrying_a_run_removes_its_dead_workers_started_job(jobs_app, drain_queue):
    """A run whose worker's machine died and that ended (it ran out of automatic resumes): its last job is still
    "started" in RQ. Retry removes it with the run's failed jobs; another run's started job stays."""
    from rq import Worker

    from colcw_plugin.sync.jobs import recovery
    from colcw_plugin.sync.jobs.queue import new_job_id
    from host_stub import services
    from host_stub.extensions import db

    rt = runtime()
    queue = rt.queue
    customer = services.save_customer({"account_number": "ZZ1", "name": "Nowhere ZZ1", "state": "ZZ"})
    run = rt.submit(db.session, "customer_export", {"customer_id": customer.id}, actor=ADMIN).run
    drain_queue()
    run = _fresh(run.id)
    assert run.status == "failed" and queue.failed_job_ids() == [run.rq_job_id]
    # An earlier attempt of the run, and a job of another run, each taken by a worker that then died (RQ's own
    # bookkeeping of a worker starting a job; nothing ends them).
    dead_worker = Worker([queue.rq], connection=queue.connection, name="dead-machine")
    dead, other = (queue.rq.enqueue(JOB_FUNCTION, n, job_id=new_job_id(n)) for n in (run.id, run.id + 1000))
    for job in (dead, other):
        queue.rq.remove(job)
        dead_worker.prepare_execution(job)
        dead_worker.prepare_job_execution(job)
    assert sorted(_started_ids(queue)) == sorted([dead.id, other.id])

    retried = recovery.retry(db.session, queue, rt.kinds, run.id, actor=ADMIN)
    assert retried is not None and not retried.already
    assert _started_ids(queue) == [other.id] and queue.fetch(dead.id) is None
    _rq_fails_abandoned_jobs(queue)
    assert queue.failed_job_ids() == [other.id]  # only the other run's job turns Failed


@pytest.mark.postgres
def test_requeue_of_a_ghost_of_a_run_that_went_on_removes_it_and_says_so(jobs_app, admin_client):
    """A dead attempt's job that turned Failed after the run went on under another job (as before dead workers'
    started jobs were removed on resume): Requeue on the dashboard removes it and names the run's job; nothing is
    queued, and the run's own job stays."""
    from colcw_plugin.sync.jobs.queue import new_job_id
    from colcw_plugin.views.dashboard import RQ_PREFIX
    from host_stub.extensions import db

    queue = runtime().queue
    run = runtime().submit(db.session, "test_count", {"n": 1}, actor=ADMIN).run
    ghost = _failed(queue, new_job_id(run.id), run.id)
    token = csrf_from(admin_client.get("/admin/integration/connectwise/jobs").get_data(as_text=True))

    resp = admin_client.post(f"{RQ_PREFIX}/job/{ghost}/requeue", headers={"X-CSRFToken": token})

    assert resp.status_code == 409, resp.get_json()
    assert resp.get_json()["message"] == (
        f"Job {ghost} is an earlier attempt of run #{run.id}, which went on as job {run.rq_job_id} and is queued: "
        "this stale job is removed. Follow the run on its page.")
    assert queue.fetch(ghost) is None and queue.failed_job_ids() == []
    assert queue.rq.job_ids == [run.rq_job_id] and _fresh(run.id).status == "queued"
