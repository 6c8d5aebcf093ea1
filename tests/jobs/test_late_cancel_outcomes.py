"""A cancel that comes after a run's last record stops nothing: the run keeps its own status and its kind's own
message, with a note saying the cancel came late — whether the service looks for the request after its last page,
or the run's worker died before closing it (the scheduler closes it then). And an interrupted run's message writes
its counts as every other message does ("2,000 of 20,026").

The runs here run in this process (the admin's cancel comes from another session, as from another machine)."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from jobs_support import run_to_end
from sqlalchemy import update
from sqlalchemy.orm import Session

from colcw_plugin.models import SyncItem, SyncRun
from colcw_plugin.sync.jobs import recovery
from colcw_plugin.sync.jobs.kinds import JobKind, SyncContext
from helpers import runtime, tune_runtime
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}
LATE = "An admin's cancel (admin@demo.example) came after its last record."


def _ask_to_stop(ctx: SyncContext) -> None:
    with Session(bind=ctx.session.get_bind()) as other:
        assert recovery.cancel(other, runtime().queue, ctx.run_id, actor=ADMIN).status == "cancelling"
    ctx.recorder.flush()  # the run's next write learns of it


def _paged(ctx: SyncContext) -> str:
    """An import in pages of 3 (as the customer import reads pages of 1,000) that looks for a request to stop
    between pages — after its last one too — and says what it did in its own words. The admin cancels once
    ``cancel_at`` records are recorded."""
    p = ctx.params
    n = int(p["n"])
    if p.get("select"):
        ctx.recorder.set_total(n, entity="company", ids=range(1, n + 1), key="cw", direction="import")
    else:
        ctx.recorder.set_total(n)
    for start in range(1, n + 1, 3):
        for i in range(start, min(start + 3, n + 1)):
            ctx.recorder.record(entity="company", direction="import", action="created", cw_id=i, label=f"Co {i}")
            if p.get("cancel_at") == i:
                _ask_to_stop(ctx)
        ctx.recorder.stop_if_requested()  # between pages: everything before is committed and recorded
    return f"Imported {n} companies from ConnectWise; the next import reads what changed since now"


PAGED = JobKind(name="test_paged", label="Test paged", run=_paged,
                describe=lambda session, p, scheduled=False: f"Import {p.get('n')} test companies")


def _run(**params) -> SyncRun:
    """Run the paged kind to its end in this process; the run as it ended."""
    return run_to_end(PAGED, **params)


@pytest.mark.parametrize("select", [False, True], ids=["counted", "selected"])
def test_a_cancel_taken_after_the_last_page_keeps_the_kinds_own_message(admin_client, jobs_app, select):
    run = _run(n=6, cancel_at=6, select=select)
    assert run.status == "succeeded", run.message
    assert run.message == ("Imported 6 companies from ConnectWise; the next import reads what changed since now "
                           f"(6 created). {LATE}"), run.message
    page = html.unescape(admin_client.get(f"{JOBS}/runs/{run.id}").get_data(as_text=True))
    assert "Imported 6 companies from ConnectWise" in page and LATE in page


def test_a_cancel_taken_between_pages_still_stops_the_run(jobs_app):
    run = _run(n=9, cancel_at=3, select=True)
    assert run.status == "cancelled"
    assert run.message == "Cancelled by admin@demo.example while running (3 of 9 companies done; 6 not done)."


# --- the scheduler closing a stopping run whose worker died -------------------------------------------------------


def _stopping_run(*, done: int, total: int, items: int = 0, selected: bool = False) -> int:
    """A run an admin asked to stop whose worker died (no job, an old heartbeat) after ``done`` of ``total``."""
    run = runtime().submit(db.session, "test_count", {"n": total}, actor=ADMIN).run
    runtime().queue.withdraw(run)
    counts = {"created": done} if done else {}
    values = dict(status="running", started_at=utcnow(), heartbeat_at=utcnow() - dt.timedelta(minutes=5),
                  attempts=1, total=total, done=done, counts=counts, entity_counts={"test": counts} if done else {})
    if selected:
        values["selection"] = {"entity": "test", "key": "host", "direction": "export",
                               "ids": list(range(1, total + 1))}
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(**values))
    for i in range(1, items + 1):
        db.session.add(SyncItem(run_id=run.id, at=utcnow(), entity="test", direction="export", host_id=i,
                                label=f"item {i}", action="created", message=f"item {i} created"))
    db.session.commit()
    assert recovery.cancel(db.session, runtime().queue, run.id, actor=ADMIN).status == "cancelling"
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id)
                       .values(heartbeat_at=utcnow() - dt.timedelta(minutes=5)))
    db.session.commit()
    return run.id


def _fresh(run_id: int) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


@pytest.mark.parametrize("selected", [False, True], ids=["counted", "selected"])
def test_a_stopping_run_whose_worker_died_after_its_last_record_keeps_its_own_status(admin_client, jobs_app,
                                                                                      selected):
    run_id = _stopping_run(done=3, total=3, items=3 if selected else 0, selected=selected)
    assert recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=60) == [run_id]
    run = _fresh(run_id)
    assert run.status == "succeeded" and run.finished_at is not None, run.message
    assert run.message.startswith(f"3 created. {LATE} Its worker stopped before it closed the run (last heartbeat "), \
        run.message
    assert run.counts == {"created": 3} and run.reached == 3 and run.percent == 100
    page = html.unescape(admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True))
    assert 'data-status="succeeded"' in page and LATE in page
    assert recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=60) == []  # closed once


def test_a_stopping_run_whose_worker_died_part_way_still_ends_cancelled(jobs_app):
    run_id = _stopping_run(done=2, total=3, items=2, selected=True)
    assert recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=60) == [run_id]
    run = _fresh(run_id)
    assert run.status == "cancelled"
    assert run.message.startswith("Cancelled by admin@demo.example while running (2 of 3 tests done; 1 not "
                                  "done). Its worker stopped before it acknowledged"), run.message


def test_an_interrupted_run_without_a_list_of_ids_cancelled_says_they_are_not_listed(jobs_app):
    run = runtime().submit(db.session, "test_count", {"n": 3000}, actor=ADMIN).run  # an import of all companies, say
    runtime().queue.withdraw(run)
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(
        status="interrupted", started_at=utcnow(), attempts=1, total=3000, done=2, counts={"created": 2}))
    db.session.commit()
    assert recovery.cancel(db.session, runtime().queue, run.id, actor=ADMIN).status == "cancelled"
    run = _fresh(run.id)
    assert run.message.startswith("Cancelled by admin@demo.example while interrupted (2 of 3,000 records done; the "
                                  "2,998 not done are not listed: Run the whole job again reaches them"), run.message


# --- an interrupted run's message ------------------------------------------------------------------------------------


@pytest.mark.parametrize("resumes", [True, False], ids=["resumed", "given-up"])
def test_an_interrupted_runs_message_separates_thousands(jobs_app, resumes):
    run = runtime().submit(db.session, "test_count", {"n": 20026}, actor=ADMIN).run
    runtime().queue.withdraw(run)
    limit = runtime().queue.settings.auto_resumes
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(
        status="running", started_at=utcnow(), heartbeat_at=utcnow() - dt.timedelta(minutes=5), attempts=1,
        total=20026, done=2000, counts={"created": 2000}, interruptions=0 if resumes else limit))
    db.session.commit()
    assert recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=60) == [run.id]
    message = _fresh(run.id).message
    assert message.startswith("Interrupted: the worker stopped after 2,000 of 20,026 records (last heartbeat "), \
        message
    runtime().queue.withdraw(_fresh(run.id))


@pytest.mark.parametrize(("auto_resumes", "nth"), [(0, "1st"), (1, "2nd"), (2, "3rd"), (3, "4th")])
def test_a_run_interrupted_once_too_often_says_how_often_in_plain_english(jobs_app, monkeypatch, auto_resumes, nth):
    tune_runtime(monkeypatch, jobs_app, auto_resumes=auto_resumes)
    run = runtime().submit(db.session, "test_count", {"n": 4}, actor=ADMIN).run
    runtime().queue.withdraw(run)
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(
        status="running", started_at=utcnow(), heartbeat_at=utcnow() - dt.timedelta(minutes=5), attempts=1,
        total=4, done=1, counts={"created": 1}, interruptions=auto_resumes))
    db.session.commit()
    assert recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=60) == [run.id]
    run = _fresh(run.id)
    assert run.status == "interrupted"
    assert "records (last heartbeat " in run.message and f"UTC), for the {nth} time. Resume it" in run.message, \
        run.message
