"""A run the scheduler resumes after its worker died is interrupted for a moment: marked so, then queued again (the
work's lock, Redis). A page that looked at it in that moment (its progress bar, the status JSON, the job history's
poll) took it for ended and stopped following it: the run page showed "Interrupted" while the run went on to succeed
(seen as a browser test whose page never said "Succeeded" on a loaded machine). Such a run has not ended
(SyncRun.has_ended); one given up, interrupted for good, has. Real PostgreSQL and Redis; the pages through Flask's
client, in the very moment between the two writes. A scheduler that dies in that moment leaves the run to the next
tick, which queues it (recovery.requeue_lost)."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from sqlalchemy import select, update

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs import recovery
from colcw_plugin.sync.jobs.queue import claim, new_job_id
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime, tune_runtime
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}
JOBS = "/admin/integration/connectwise/jobs"


def _dead_worker_run() -> int:
    """A run whose worker took it and died: running, its heartbeat old, no job of its at work."""
    run = create_run(db.session, runtime().kinds, "test_count", {"n": 4}, actor=ADMIN)
    run.rq_job_id = new_job_id(run.id)  # (its job gone with the worker: not in RQ)
    db.session.commit()
    run_id = run.id
    assert claim(db.session, run_id)
    db.session.execute(update(SyncRun).where(SyncRun.id == run_id)
                       .values(heartbeat_at=utcnow() - dt.timedelta(minutes=10), done=2, total=4))
    db.session.commit()
    return run_id


def _fresh(run_id: int) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def _seen_between(monkeypatch, admin_client, run_id: int) -> dict:
    """What the pages answer while detect_interrupted has marked the run and not queued it yet."""
    seen: dict = {}
    real = recovery.enqueue_existing

    engine = db.engine

    def look() -> None:  # (as another request would: its own session and connection, not the scheduler's)
        with engine.connect() as conn:
            seen["status"] = conn.execute(select(SyncRun.status).where(SyncRun.id == run_id)).scalar_one()
        seen["progress"] = admin_client.get(f"/colcw/runs/{run_id}/progress?details=1&seen=running")
        seen["json"] = admin_client.get(f"/colcw/runs/{run_id}/status.json").get_json()
        seen["history"] = admin_client.get(f"{JOBS}?tab=history").get_data(as_text=True)
        seen["page"] = admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True)

    def look_then_queue(session, queue, run, **kwargs):
        thread = threading.Thread(target=look)
        thread.start()
        thread.join(30)
        return real(session, queue, run, **kwargs)

    monkeypatch.setattr(recovery, "enqueue_existing", look_then_queue)
    assert recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=0) == [run_id]
    return seen


def _bar(resp) -> str:
    found = re.search(r'<div class="colcw-progress"[^>]*>', resp.get_data(as_text=True))
    assert found, resp.get_data(as_text=True)
    return found.group(0)


def test_a_page_that_looks_at_a_run_while_it_is_resumed_goes_on_following_it(app, redis_conn, admin_client,
                                                                             monkeypatch):
    run_id = _dead_worker_run()

    seen = _seen_between(monkeypatch, admin_client, run_id)

    assert seen["status"] == "interrupted"  # the moment itself
    bar = _bar(seen["progress"])
    assert 'data-final="false"' in bar and "hx-get=" in bar, bar  # it asks for the run again
    assert "colcw-run-finished" not in seen["progress"].headers.get("HX-Trigger", "")
    assert seen["json"]["final"] is False, seen["json"]
    polled = re.search(r'id="history-poll"[^>]*data-runs="([^"]*)"', seen["history"])
    assert polled and str(run_id) in polled.group(1).split(), seen["history"][:2000]
    assert 'id="resume-run"' not in seen["page"]  # it is being resumed: no Resume for a person to click meanwhile

    db.session.expire_all()
    assert db.session.get(SyncRun, run_id).status == "queued"  # and it was resumed


def test_a_run_interrupted_for_good_has_ended_for_its_pages(app, redis_conn, admin_client, monkeypatch):
    tune_runtime(monkeypatch, app, auto_resumes=0)  # given up at once: Resume is a person's
    run_id = _dead_worker_run()

    assert recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=0) == [run_id]

    progress = admin_client.get(f"/colcw/runs/{run_id}/progress?details=1&seen=running")
    bar = _bar(progress)
    assert 'data-final="true"' in bar and "hx-get=" not in bar, bar
    assert "colcw-run-finished" in progress.headers.get("HX-Trigger", "")
    assert admin_client.get(f"/colcw/runs/{run_id}/status.json").get_json()["final"] is True
    assert 'id="resume-run"' in admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True)  # Resume is a person's


class _SchedulerKilled(BaseException):
    """The scheduler's process ending there (a machine lost, SIGKILL): nothing after it runs."""


def test_a_run_its_scheduler_marked_and_never_queued_is_queued_by_the_next_tick(app, redis_conn, monkeypatch):
    """The scheduler marks the run interrupted to resume it, and dies before it queues it: the run said "resumed
    automatically" and stayed interrupted for ever, its pages following it. The next tick's requeue_lost queues it."""
    run_id = _dead_worker_run()

    def die(*args, **kwargs):
        raise _SchedulerKilled

    monkeypatch.setattr(recovery, "enqueue_existing", die)
    with pytest.raises(_SchedulerKilled):
        recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=0)
    db.session.rollback()
    monkeypatch.undo()
    left = _fresh(run_id)
    assert (left.status, left.finished_at) == ("interrupted", None)
    assert "resumed automatically" in left.message

    assert recovery.requeue_lost(db.session, runtime().queue) == [run_id]
    run = _fresh(run_id)
    assert run.status == "queued" and run.message == left.message
    assert runtime().queue.is_working(run.rq_job_id, run_id)  # in RQ, waiting for a worker
    assert recovery.requeue_lost(db.session, runtime().queue) == []  # once


def test_a_run_interrupted_for_good_is_not_queued_by_the_scheduler(app, redis_conn, monkeypatch):
    tune_runtime(monkeypatch, app, auto_resumes=0)
    run_id = _dead_worker_run()
    assert recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=0) == [run_id]

    assert recovery.requeue_lost(db.session, runtime().queue) == []
    assert _fresh(run_id).status == "interrupted"  # Resume is a person's
