"""A run's messages about a worker that stopped, and a run cancelled by Reset anyway, count its records as its kind
names them (as its Retry button and its cancel message do): an import of chosen companies says "2 of 4 companies",
not "2 of 4 records"."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import update

from colcw_plugin.models import SyncRun
from colcw_plugin.models.runs import WAIT_TIME_FORMAT, in_zone
from colcw_plugin.sync.jobs import recovery
from colcw_plugin.sync.jobs.queue import new_job_id
from helpers import csrf_from, runtime, tune_runtime
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
RESET = "/admin/integration/connectwise/reset"
ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}
COMPANIES = [101, 102, 103, 104]
SELECTION = {"entity": "customer", "key": "cw", "direction": "import", "ids": COMPANIES}


def _import_of_chosen_companies(**values) -> SyncRun:
    """An import of four chosen companies, as its attempt left it (withdrawn from RQ: no worker takes it)."""
    run = runtime().submit(db.session, "customer_import", {"company_ids": COMPANIES}, actor=ADMIN).run
    runtime().queue.withdraw(run)
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(
        **{"attempts": 1, "total": 4, "done": 2, "selection": SELECTION, **values}))
    db.session.commit()
    db.session.expire_all()
    return db.session.get(SyncRun, run.id)


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_an_interrupted_import_of_chosen_companies_counts_companies(admin_client, jobs_app, monkeypatch):
    tune_runtime(monkeypatch, jobs_app, auto_resumes=0)  # given up at once: its message stays for a person
    beat = dt.datetime(2026, 7, 1, 18, 30, 5)
    run = _import_of_chosen_companies(status="running", started_at=beat, heartbeat_at=beat)

    # As the scheduler does (sync/jobs/scheduler.py): with the app's kinds.
    assert recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=60,
                                       kinds=runtime().kinds) == [run.id]

    said = ("Interrupted: the worker stopped after 2 of 4 companies (last heartbeat 2026-07-01 18:30:05 UTC), for the "
            "1st time.")
    db.session.expire_all()
    message = db.session.get(SyncRun, run.id).message
    assert message.startswith(said + " "), message
    assert said in _text(admin_client.get(f"{JOBS}/runs/{run.id}?zone=UTC").get_data(as_text=True))


def test_a_silent_workers_note_counts_companies(admin_client, jobs_app):
    beat = (utcnow() - dt.timedelta(seconds=30)).replace(microsecond=0)
    run = _import_of_chosen_companies(status="running", started_at=beat, heartbeat_at=beat)
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(rq_job_id=new_job_id(run.id)))
    db.session.commit()  # a job of its own that RQ knows nothing of, and no liveness key: not heard from

    said = (f"Its worker has not been heard from since {in_zone(beat, 'UTC', WAIT_TIME_FORMAT)} (2 of 4 companies "
            "done): its process or its machine may have stopped.")
    bar = _text(admin_client.get(f"/colcw/runs/{run.id}/progress?details=1&zone=UTC").get_data(as_text=True))
    assert said in bar, bar
    status = admin_client.get(f"/colcw/runs/{run.id}/status.json").get_json()
    assert status["worker"]["state"] == "silent" and status["worker"]["text"].startswith(said), status


def test_reset_anyway_cancels_an_import_of_chosen_companies_counting_companies(admin_client, jobs_app, monkeypatch):
    """Reset anyway cancels the waiting import; a running run that does not stop in time makes it refuse, so nothing
    is deleted and the cancelled run's message can be read."""
    monkeypatch.setattr(recovery, "STOP_ALL_WAIT_SECONDS", 0.5)
    run = _import_of_chosen_companies(status="waiting", done=0, waiting_reason="ConnectWise keeps failing")
    stuck = runtime().submit(db.session, "test_count", {"n": 5}, actor=ADMIN).run
    runtime().queue.withdraw(stuck)
    db.session.execute(update(SyncRun).where(SyncRun.id == stuck.id).values(
        status="running", started_at=utcnow(), heartbeat_at=utcnow()))  # no worker: it never stops
    db.session.commit()

    token = csrf_from(admin_client.get(RESET).get_data(as_text=True))
    resp = admin_client.post(RESET, data={"csrf_token": token, "confirm": "RESET", "force": "on"})
    assert resp.status_code == 400  # refused: the stuck run still runs, nothing deleted

    said = "Cancelled by admin@demo.example while waiting (0 of 4 companies done; 4 not done)."
    db.session.expire_all()
    assert db.session.get(SyncRun, run.id).message == said
    assert said in _text(admin_client.get(f"{JOBS}/runs/{run.id}").get_data(as_text=True))
