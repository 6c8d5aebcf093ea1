"""A run whose worker died says so on its page and its history row as soon as it can be known, with what colcw does
and when; the scheduler resumes it at once when RQ already saw its work horse die, and never a run whose worker is
merely slow (real ``colcw worker`` subprocesses: its work horse SIGKILLed, or the whole worker)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import signal
from html import unescape

import pytest
from colcw_test_kinds import effects_key
from jobs_support import descendants, wait_until, worker_env

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs import recovery
from helpers import runtime, tune_runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}
JOBS = "/admin/integration/connectwise/jobs"


def fresh(run_id: int) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def text(resp) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))).split())


def page(client, run_id: int) -> str:
    return text(client.get(f"{JOBS}/runs/{run_id}"))


def bar(client, run_id: int) -> str:
    return text(client.get(f"/colcw/runs/{run_id}/progress?details=1&zone=UTC"))


def row(client, run_id: int) -> str:
    return text(client.get(f"{JOBS}/history-rows?run={run_id}"))


def kill_horse(worker) -> None:
    """SIGKILL the worker's work horse only: the worker lives and sees it die (RQ: "Work-horse terminated
    unexpectedly")."""
    horses = descendants(worker.pid)
    assert horses, "the worker forked no work horse"
    for pid in horses:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def started(processes, jobs_app, run_id: int, done: int, **env):
    worker = processes.start(["colcw", "worker"], worker_env(jobs_app, **env))
    wait_until(lambda: fresh(run_id).done == done, message=f"the worker to finish {done} items")
    return worker


def test_a_killed_work_horse_is_shown_at_once_and_its_run_resumed_at_the_next_check(
        jobs_app, redis_conn, processes, admin_client):
    run_id = runtime().submit(db.session, "test_count", {"n": 5, "stall_at": 3, "stall_seconds": 120},
                              actor=ADMIN).run.id
    worker = started(processes, jobs_app, run_id, 2, COLCW_LIVENESS_SECONDS=60)
    alive = admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True)
    assert "Running" in alive and f'id="run-worker-{run_id}"' not in alive and "data-worker" not in alive, alive

    kill_horse(worker)
    job_id = fresh(run_id).rq_job_id
    wait_until(lambda: runtime().queue.fetch(job_id).get_status(refresh=True) == "failed",
               message="the worker to see its horse die")
    assert fresh(run_id).status == "running"  # nobody told the database; its liveness key lives on (60 s)
    for shown in (page(admin_client, run_id), bar(admin_client, run_id), row(admin_client, run_id)):
        assert "Its worker stopped at" in shown and "2 of 5 records done" in shown, shown
        assert "the process running it ended" in shown, shown
        # No scheduler runs in this test: the page says so, and how to start one.
        assert "colcw resumes it (records already done are skipped) at its scheduler's next check, but no colcw " \
            "scheduler is running: start one with “flask --app host_stub colcw scheduler”" in shown, shown

    status = admin_client.get(f"/colcw/runs/{run_id}/status.json").get_json()
    assert status["status"] == "running" and status["worker"]["state"] == "stopped", status

    # The first worker, idle now, would take the resumed run the moment it is queued, before the check below reads
    # it queued: the test's own burst worker runs it instead.
    processes.kill(worker)
    # Its heartbeat is seconds old (the scheduler waited two minutes for it): RQ's word is enough.
    assert recovery.detect_interrupted(db.session, runtime().queue) == [run_id]
    resumed = fresh(run_id)
    assert resumed.status == "queued" and resumed.interruptions == 1, resumed.message
    burst = processes.start(["colcw", "worker", "--burst"], worker_env(jobs_app))
    assert burst.wait(timeout=60) == 0, burst.stdout.read()
    done = fresh(run_id)
    assert done.status == "succeeded" and done.done == done.total == 5, done.message
    assert sorted(int(x) for x in redis_conn.lrange(effects_key(run_id), 0, -1)) == [1, 2, 3, 4, 5]
    assert "(1 after its worker stopped)" in page(admin_client, run_id)


def test_with_a_scheduler_running_the_page_says_it_resumes_the_run(jobs_app, redis_conn, processes, admin_client):
    from colcw_plugin.sync.jobs.scheduler import LEADER_KEY

    run_id = runtime().submit(db.session, "test_count", {"n": 4, "stall_at": 2, "stall_seconds": 120},
                              actor=ADMIN).run.id
    worker = started(processes, jobs_app, run_id, 1, COLCW_LIVENESS_SECONDS=60)
    redis_conn.set(LEADER_KEY, "another machine's scheduler", ex=60)
    kill_horse(worker)
    job_id = fresh(run_id).rq_job_id
    wait_until(lambda: runtime().queue.fetch(job_id).get_status(refresh=True) == "failed",
               message="the worker to see its horse die")
    shown = page(admin_client, run_id)
    assert "Its worker stopped at" in shown and "colcw resumes it (records already done are skipped) within seconds" \
        in shown, shown


def test_a_dead_machine_is_said_not_heard_from_and_left_until_its_heartbeat_is_old(
        jobs_app, redis_conn, processes, admin_client):
    """The worker and its horse both killed (the machine died): RQ cannot tell; once the run's liveness key expired
    the page says since when it was not heard from and when colcw resumes it — and the scheduler waits till then."""
    run_id = runtime().submit(db.session, "test_count", {"n": 4, "stall_at": 3, "stall_seconds": 120},
                              actor=ADMIN).run.id
    worker = started(processes, jobs_app, run_id, 2, COLCW_LIVENESS_SECONDS=1)
    processes.kill(worker)
    wait_until(lambda: not redis_conn.exists(f"colcw:run:{run_id}:alive"), message="the liveness key to expire")
    run = fresh(run_id)
    resume_at = (run.heartbeat_at + dt.timedelta(seconds=120)).strftime("%H:%M:%S")
    wait_until(lambda: "has not been heard from" in page(admin_client, run_id), message="the page to say so")
    shown = page(admin_client, run_id)
    assert f"since {run.heartbeat_at:%H:%M:%S} UTC" in shown, shown
    assert f"colcw resumes it (records already done are skipped) at {resume_at} UTC unless it is heard from again, " \
        "but no colcw scheduler is running" in shown, shown
    assert "has not been heard from" in row(admin_client, run_id)
    # Silence alone is no proof: the scheduler leaves it until its heartbeat is two minutes old.
    assert recovery.detect_interrupted(db.session, runtime().queue) == []
    assert fresh(run_id).status == "running"


def test_a_slow_worker_shows_no_progress_since_and_is_never_resumed(
        jobs_app, redis_conn, processes, admin_client, monkeypatch):
    tune_runtime(monkeypatch, jobs_app, stalled_after_seconds=0)
    run_id = runtime().submit(db.session, "test_count", {"n": 4, "stall_at": 3, "stall_seconds": 120},
                              actor=ADMIN).run.id
    started(processes, jobs_app, run_id, 2, COLCW_LIVENESS_SECONDS=60)
    run = fresh(run_id)
    shown = page(admin_client, run_id)
    assert f"No progress since {run.heartbeat_at:%H:%M:%S} UTC: its worker is alive" in shown, shown
    assert "Its worker stopped" not in shown and "heard from" not in shown
    assert "No progress since" in row(admin_client, run_id)
    # Alive, however old its heartbeat, and its RQ job still started: not resumed.
    assert recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=0) == []
    assert recovery.detect_interrupted(db.session, runtime().queue) == []
    assert fresh(run_id).status == "running"
