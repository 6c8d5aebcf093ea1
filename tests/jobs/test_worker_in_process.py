"""colcw's worker runs a run of one record a person waits for (a rep's export of one document) in its own process, on
the connections and compiled statements it keeps, and forks a work horse for any other run (issue 14: a forked job
started cold, about 0.2 s for a one-line quote against 0.05 s in the worker's process). A real ``colcw worker``
process runs them; each test run stores the id of the process that ran it. With such a worker listening, Export now
waits for the export it queued, so the page it leads to opens on the outcome."""

from __future__ import annotations

import pytest
from colcw_test_kinds import pid_key
from jobs_support import wait_until, worker_env
from quotes.quote_support import line, make_world
from rq.job import Job

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs.queue import IN_PROCESS
from helpers import csrf_from, runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def _run(redis_conn, params: dict) -> tuple[SyncRun, int]:
    """Submit a test run, wait for it to end: the run and the id of the process that ran it."""
    run = runtime().submit(db.session, "test_count", params, actor=ADMIN).run
    run_id = run.id

    def ended():
        db.session.expire_all()
        done = db.session.get(SyncRun, run_id)
        return done if done.status in ("succeeded", "failed") else None

    done = wait_until(ended, message=f"run #{run_id} to end")
    return done, int(redis_conn.get(pid_key(run_id)))


def test_a_one_record_run_runs_in_the_worker_process_and_any_other_in_a_forked_one(jobs_app, redis_conn, processes):
    worker = processes.start(["colcw", "worker"], worker_env(jobs_app))
    one, ran_in = _run(redis_conn, {"n": 1, "one": True})
    assert one.status == "succeeded" and ran_in == worker.pid
    assert Job.fetch(one.rq_job_id, connection=redis_conn).meta[IN_PROCESS] is True

    bulk, forked = _run(redis_conn, {"n": 2})
    assert bulk.status == "succeeded" and forked not in (worker.pid, 0)
    assert Job.fetch(bulk.rq_job_id, connection=redis_conn).meta[IN_PROCESS] is False

    # A run that fails in the worker's process leaves it working: the next one runs there too.
    failed, ran_in = _run(redis_conn, {"n": 1, "one": True, "fail": "permanent"})
    assert failed.status == "failed" and "refused" in failed.message and ran_in == worker.pid
    again, ran_in = _run(redis_conn, {"n": 3, "one": True})
    assert again.status == "succeeded" and again.done == 3 and ran_in == worker.pid
    assert worker.poll() is None  # still running


def test_the_worker_running_a_job_itself_is_kept_alive_for_the_job_s_whole_timeout(redis_conn):
    """Nothing renews the worker's heartbeat while it performs a job itself (no horse to watch): its key lives as
    long as the job may, as RQ's SimpleWorker keeps it; a forked job's as RQ's forking worker keeps it."""
    from colcw_plugin.sync.jobs.queue import ColcwWorker, JobQueue

    queue = JobQueue(redis_conn)
    worker = ColcwWorker([queue.rq], connection=redis_conn)
    mine = Job.create("colcw_plugin.extension.run_job", args=(1,), connection=redis_conn, timeout=6 * 3600,
                      meta={IN_PROCESS: True})
    forked = Job.create("colcw_plugin.extension.run_job", args=(2,), connection=redis_conn, timeout=6 * 3600,
                        meta={IN_PROCESS: False})
    assert worker.get_heartbeat_ttl(mine) == 6 * 3600 + 60
    assert worker.get_heartbeat_ttl(forked) == worker.job_monitoring_interval + 60


def test_export_now_lands_on_the_outcome_when_a_worker_ends_the_export_within_its_wait(jobs_app, connected, box,
                                                                                        rep_client, processes,
                                                                                        monkeypatch):
    """With a worker listening, Export now waits (at most views.documents.OUTCOME_WAIT_SECONDS) for the export it
    queued: the page it leads to shows the outcome, not a progress bar that finds it ended at its first look."""
    world = make_world(connected, box)
    processes.start(["colcw", "worker"], worker_env(jobs_app))
    wait_until(lambda: runtime().queue.workers(), message="the worker to listen")
    doc = world.quote([line("OPT-7010")], name="Waited for")
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    queue, waits = runtime().queue, []
    ended_within = queue.ended_within

    def watched(job_id, seconds):  # the request's own session, while it waits: no transaction, no connection held
        waits.append(db.session().in_transaction())
        return ended_within(job_id, seconds)

    monkeypatch.setattr(queue, "ended_within", watched)
    resp = rep_client.post(f"/colcw/documents/{doc.id}/export", data={"csrf_token": csrf_from(page)})
    assert resp.status_code == 302 and "run=" in resp.location
    assert waits == [False]
    landed = rep_client.get(resp.location).get_data(as_text=True)
    [opp] = world.opportunities()
    assert 'id="colcw-outcome" data-action="created"' in landed and f"recid={opp['id']}" in landed
    assert "colcw-progress-bar" not in landed
