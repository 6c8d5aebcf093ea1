"""``flask colcw cancel RUN_ID``: the page's Cancel from the command line — a queued run is cancelled at once, a
running one is asked to stop and its worker stops it at the next safe point; an unknown run or one that has ended
is refused with exit status 1; --wait waits for the run to stop and says how it ended."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import update

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs.kinds import JobKind, SyncContext
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def _cancel(app, *args, user: str = "deploy"):
    """The command as ``user`` runs it (the operating-system user, as getpass finds it)."""
    return app.test_cli_runner().invoke(args=["colcw", "cancel", *args], env={"LOGNAME": user})


def _fresh(run_id: int) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def test_a_queued_run_is_cancelled_at_once(app, jobs_app):
    run = runtime().submit(db.session, "test_count", {"n": 3}, actor=ADMIN).run
    assert runtime().queue.rq.count == 1
    result = _cancel(app, str(run.id), "--by", "ops@demo.example")
    assert result.exit_code == 0, result.output
    assert result.output == f"Run #{run.id} cancelled. Cancelled by ops@demo.example before it started.\n"
    done = _fresh(run.id)
    assert done.status == "cancelled" and done.finished_at is not None
    assert runtime().queue.rq.count == 0  # its job is withdrawn: no worker will start it


def test_a_running_run_is_asked_to_stop(app, jobs_app):
    run = runtime().submit(db.session, "test_count", {"n": 5}, actor=ADMIN).run
    runtime().queue.withdraw(run)
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(
        status="running", started_at=utcnow(), heartbeat_at=utcnow(), attempts=1, total=5, done=2))
    db.session.commit()
    result = _cancel(app, str(run.id))
    assert result.exit_code == 0, result.output
    assert result.output == (f"Run #{run.id}: cancel requested; it stops at the next safe point (once the record it "
                             "is working on is saved) and ends as cancelled.\n")
    stopping = _fresh(run.id)
    assert stopping.status == "cancelling" and stopping.finished_at is None
    assert stopping.message.startswith("Cancel requested by command line (deploy): ") and stopping.stop_requested_at

    again = _cancel(app, str(run.id), user="ops")  # asked again: the first request stands, said with its time in UTC
    assert again.exit_code == 0, again.output
    assert again.output.startswith(f"Run #{run.id} is already stopping. Cancel requested by command line (deploy) at "
                                   f"{stopping.stop_requested_at:%Y-%m-%d %H:%M:%S} UTC: the run ends as cancelled ")
    assert _fresh(run.id).message == stopping.message


def test_without_by_the_command_line_credits_the_operating_system_user(app, jobs_app):
    run = runtime().submit(db.session, "test_count", {"n": 3, "sleep": 1}, actor=ADMIN).run
    result = _cancel(app, str(run.id), user="root")
    assert result.exit_code == 0, result.output
    assert result.output == f"Run #{run.id} cancelled. Cancelled by command line (root) before it started.\n"
    assert _fresh(run.id).message == "Cancelled by command line (root) before it started."


def test_an_unknown_or_ended_run_is_refused_with_exit_status_one(app, jobs_app):
    result = _cancel(app, "987654")
    assert result.exit_code == 1 and "Error: Run #987654 does not exist." in result.output, result.output

    run = create_run(db.session, runtime().kinds, "test_count", {"n": 2}, actor=ADMIN)
    db.session.commit()
    runtime().execute(db.session, run.id)
    assert _fresh(run.id).status == "succeeded"
    result = _cancel(app, str(run.id))
    assert result.exit_code == 1, result.output
    assert f"Error: Run #{run.id} has already ended (succeeded): there is nothing to cancel." in result.output
    assert _fresh(run.id).status == "succeeded"

    assert _cancel(app, "not-a-number").exit_code == 2  # click's usage error


def _slow(ctx: SyncContext) -> str:
    """Records one item at a time, looking for a request to stop between items (a test waits on ``started``)."""
    n = int(ctx.params["n"])
    ctx.recorder.set_total(n, entity="test", ids=range(1, n + 1))
    for i in range(1, n + 1):
        ctx.recorder.stop_if_requested()
        ctx.recorder.record(entity="test", direction="export", action="created", host_id=i, label=f"item {i}")
        ctx.recorder.flush()
        if i == 2:
            STARTED.set()
            RELEASE.wait(10)
            ctx.recorder.flush()  # its next write reads the run's status back (as a busy run's next record would)
    return f"did {n} items"


STARTED, RELEASE = threading.Event(), threading.Event()
SLOW = JobKind(name="test_slow_cli", label="Test slow", run=_slow,
               describe=lambda session, p, scheduled=False: f"Slow {p.get('n')} items")


def _slow_run_started(app, n: int) -> tuple[int, threading.Thread]:
    """A run of ``n`` slow items working in another thread, at its second item (held there until RELEASE)."""
    if SLOW.name not in runtime().kinds:
        runtime().kinds.register(SLOW)
    STARTED.clear()
    RELEASE.clear()
    run_id = create_run(db.session, runtime().kinds, SLOW.name, {"n": n}, actor=ADMIN).id
    db.session.commit()

    def work():
        with app.app_context():
            try:
                runtime().execute(db.session, run_id)
            finally:
                db.session.remove()

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    assert STARTED.wait(10)
    return run_id, worker


def test_a_run_cancelled_from_the_command_line_stops_at_its_next_safe_point(app, jobs_app):
    run_id, worker = _slow_run_started(app, 6)
    result = _cancel(app, str(run_id), "--by", "ops@demo.example")
    assert result.exit_code == 0 and "cancel requested" in result.output, result.output
    RELEASE.set()
    worker.join(20)
    run = _fresh(run_id)
    assert run.status == "cancelled"
    assert run.message == "Cancelled by ops@demo.example while running (2 of 6 tests done; 4 not done)."


def test_wait_says_how_the_run_ended_once_it_stopped(app, jobs_app):
    run_id, worker = _slow_run_started(app, 5)
    threading.Timer(1.0, RELEASE.set).start()  # the worker saves the record it is on a second later
    result = _cancel(app, str(run_id), "--wait", "--by", "ops@demo.example")
    worker.join(20)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"Run #{run_id}: cancel requested; it stops at the next safe point (once the record it is working on is "
        "saved) and ends as cancelled.",
        f"Run #{run_id} cancelled: Cancelled by ops@demo.example while running (2 of 5 tests done; 3 not done)."]


def test_wait_gives_up_after_its_timeout_with_exit_status_one(app, jobs_app):
    run = runtime().submit(db.session, "test_count", {"n": 7}, actor=ADMIN).run
    runtime().queue.withdraw(run)
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(
        status="running", started_at=utcnow(), heartbeat_at=utcnow(), attempts=1, total=7, done=1))
    db.session.commit()
    result = _cancel(app, str(run.id), "--wait", "--timeout", "1")
    assert result.exit_code == 1, result.output
    assert f"Error: Run #{run.id} is still stopping after 1 s" in result.output
    assert _fresh(run.id).status == "cancelling"  # the request stands
