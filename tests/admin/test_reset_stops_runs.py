"""Reset anyway while runs are active: it stops them first — queued and waiting runs are cancelled, running ones asked
to stop, and their workers (another process, on any machine) stop at the next safe point — and deletes only once none
is still running; nothing writes afterwards. A run that has not stopped within a few seconds makes Reset refuse,
deleting nothing. And a run whose row went anyway writes nothing more: its next write, or look, stops it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from admin_support import BASE
from customers.customer_support import make_customer
from jobs.jobs_support import wait_until
from sqlalchemy import delete, func, select

from colcw_plugin.cw import conditions as C
from colcw_plugin.models import Link, RepMapping, SyncRun
from colcw_plugin.setup import reset as reset_service
from colcw_plugin.setup.reset import colcw_tables
from colcw_plugin.sync.jobs import recovery
from colcw_plugin.sync.jobs.recorder import RunGone, RunRecorder
from helpers import csrf_from, runtime
from host_stub.extensions import db
from host_stub.models import StoreSite

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def _counts() -> dict[str, int]:
    db.session.rollback()
    return {t.name: db.session.execute(select(func.count()).select_from(t)).scalar_one() for t in colcw_tables()}


def _post_reset(admin_client, **data):
    token = csrf_from(admin_client.get(BASE + "/reset").get_data(as_text=True))
    return admin_client.post(BASE + "/reset", data={"csrf_token": token, **data})


@pytest.fixture()
def worker(app):
    """A real ``colcw worker`` (another process than the admin's page), killed at teardown."""
    env = dict(os.environ)
    env.update({"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": app.config["REDIS_URL"],
                "SECRET_KEY": app.config["SECRET_KEY"], "COLCW_ENCRYPTION_KEY": app.config["COLCW_ENCRYPTION_KEY"],
                "COLCW_ALLOW_HTTP": "1"})
    procs: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "flask"), "--app", "host_stub", "colcw", "worker"],
                                env=env, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # its own process group: the worker and its work horse
        proc.wait(timeout=10)


def _customers(cw_client, n: int) -> None:
    """``n`` customers with two contacts each, and the rep exports act for mapped to a member."""
    member = cw_client.members.list(conditions=C.eq("identifier", "admin1"), fields=["id"])[0]
    store = db.session.execute(select(StoreSite)).scalars().first()
    db.session.add(RepMapping(user_id=store.default_rep_id, member_id=member["id"], member_identifier="admin1"))
    db.session.commit()
    for i in range(n):
        make_customer(name=f"Reset Co {i:02d}", account_number=f"RST{i:02d}")


def test_reset_anyway_stops_a_running_export_first_and_nothing_is_written_afterwards(
        admin_client, connected, cw_client, redis_conn, worker):
    _customers(cw_client, 30)
    connected.add_fault(latency_ms=1200, method="POST", path="company/companies$")  # a slow ConnectWise
    run_id = runtime().submit(db.session, "customer_export", {"all": True}, actor=ADMIN).run.id
    worker()

    def exporting():
        db.session.expire_all()
        run = db.session.get(SyncRun, run_id)
        return run.status == "running" and run.done >= 1

    wait_until(exporting, 60, message="the export to be under way")
    page = " ".join(admin_client.get(BASE + "/reset").get_data(as_text=True).split())
    assert "1 synchronization run is queued or running." in page
    resp = _post_reset(admin_client, confirm="RESET", force="on")
    assert resp.status_code == 302, resp.get_data(as_text=True)

    after = _counts()
    assert after.pop("colcw_config_changes") == 1  # the record of the reset
    assert not any(after.values()), after
    time.sleep(4)  # the worker had customers left: none of them is exported now
    after = _counts()
    assert after.pop("colcw_config_changes") == 1
    assert not any(after.values()), after
    queue = runtime().queue
    assert queue.rq.count == 0 and queue.failed_job_ids() == []


def test_reset_anyway_deletes_nothing_while_a_run_has_not_stopped(admin_client, connected, redis_conn, monkeypatch):
    monkeypatch.setattr(recovery, "STOP_ALL_WAIT_SECONDS", 0.5)
    running = SyncRun(kind="customer_export", status="running", counts={})  # its worker never acknowledges
    queued = SyncRun(kind="quote_export", status="queued", counts={})
    db.session.add_all([running, queued])
    db.session.commit()
    before = _counts()

    resp = _post_reset(admin_client, confirm="RESET", force="on")
    text = " ".join(resp.get_data(as_text=True).split())
    assert resp.status_code == 400, text
    assert (f"Run #{running.id} is still stopping: its worker stops it at the next safe point (between records or "
            "pages). Nothing was deleted; try Reset again in a minute.") in text
    after = _counts()
    assert after == before, (before, after)  # nothing deleted: the connection, the runs
    db.session.expire_all()
    assert db.session.get(SyncRun, running.id).status == "cancelling"  # asked to stop, as Cancel asks
    assert db.session.get(SyncRun, queued.id).status == "cancelled"


def test_reset_never_deletes_a_run_a_worker_runs_even_when_forced(connected):
    run = SyncRun(kind="customer_export", status="running", counts={})  # claimed by a worker a moment ago
    db.session.add(run)
    db.session.commit()
    before = _counts()
    with pytest.raises(reset_service.ResetRefused, match=f"Run #{run.id} is still stopping"):
        reset_service.reset_all(db.session, "admin@demo.example", force=True)
    db.session.rollback()
    assert _counts() == before


def _started(n_flush_seconds: float = 0.0) -> tuple[int, RunRecorder]:
    run = SyncRun(kind="customer_export", status="queued", counts={})
    db.session.add(run)
    db.session.commit()
    recorder = RunRecorder(db.engine, run.id, flush_seconds=n_flush_seconds)
    recorder.start()  # written at once: this attempt owns the run
    return run.id, recorder


def _gone(run_id: int) -> None:
    db.session.execute(delete(SyncRun).where(SyncRun.id == run_id))  # (its results go with it: ON DELETE CASCADE)
    db.session.commit()


def test_a_run_whose_row_is_gone_writes_nothing_more_and_leaves_no_transaction_open(connected):
    # Its next result: refused, and the attempt stops.
    run_id, recorder = _started()
    recorder.record(entity="customer", direction="export", action="created", host_id=1, label="A")
    _gone(run_id)
    with pytest.raises(RunGone):
        recorder.record(entity="customer", direction="export", action="created", host_id=2, label="B")
    assert not recorder._session.in_transaction()
    with pytest.raises(RunGone):  # and every later write or look says so again
        recorder.stop_if_requested()

    # Several results at once (the foreign key refuses them): the same, not the database's error.
    run_id, recorder = _started(n_flush_seconds=60)
    recorder.record_all(entity="customer", direction="export", action="created",
                        records=[(i, None, f"C{i}", "") for i in range(1, 4)])
    _gone(run_id)
    with pytest.raises(RunGone):
        recorder.flush()
    assert not recorder._session.in_transaction()

    # Between two writes, the service's look for a request to stop (between records) finds it gone.
    run_id, recorder = _started()
    _gone(run_id)
    assert recorder.stop_requested()
    with pytest.raises(RunGone):
        recorder.stop_if_requested()
    assert db.session.scalar(select(func.count()).select_from(Link)) == 0
