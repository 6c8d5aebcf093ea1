"""A run cancelled while it waits to retry (ConnectWise kept failing) names its records not attempted as a run cancelled
while running does ("Evergreen Dental (DEMO00012): the run was cancelled by …"), not "customer #1": in its log, its CSV and
``colcw runs show``."""

from __future__ import annotations

import html

import pytest
from customers.customer_support import make_customer
from sqlalchemy import select

from colcw_plugin.cw import conditions as C
from colcw_plugin.models import RepMapping, SyncItem, SyncRun
from helpers import csrf_from, runtime, tune_runtime
from host_stub.extensions import db
from host_stub.models import StoreSite

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.sandbox]

JOBS = "/admin/integration/connectwise/jobs"
ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def _map_default_rep(cw_client) -> None:
    member = cw_client.members.list(conditions=C.eq("identifier", "admin1"), fields=["id"])[0]
    store = db.session.execute(select(StoreSite)).scalars().first()
    db.session.add(RepMapping(user_id=store.default_rep_id, member_id=member["id"], member_identifier="admin1"))
    db.session.commit()


def test_a_run_cancelled_while_waiting_to_retry_names_its_records(jobs_app, connected, cw_client, admin_client,
                                                                  drain_queue, monkeypatch):
    tune_runtime(monkeypatch, jobs_app, retry_intervals=(3600,), record_retry_intervals=(0, 0))
    _map_default_rep(cw_client)
    names = {make_customer(name=f"Waiting Co {i}", account_number=f"WAIT{i}").id: f"Waiting Co {i} (WAIT{i})"
             for i in range(3)}
    connected.add_fault(status=503, path="company/")
    run_id = runtime().submit(db.session, "customer_export", {"all": True}, actor=ADMIN).run.id
    drain_queue()
    db.session.expire_all()
    run = db.session.get(SyncRun, run_id)
    assert run.status == "waiting", (run.status, run.message)

    history = admin_client.get(f"{JOBS}?tab=history").get_data(as_text=True)
    assert f"{JOBS}/runs/{run_id}/cancel" in history
    resp = admin_client.post(f"{JOBS}/runs/{run_id}/cancel",
                             data={"csrf_token": csrf_from(history), "next": f"{JOBS}?tab=history"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(SyncRun, run_id).status == "cancelled"

    items = db.session.execute(select(SyncItem).where(SyncItem.run_id == run_id)).scalars().all()
    assert sorted(i.host_id for i in items) == sorted(names)
    for item in items:
        assert item.action == "not_attempted"
        assert item.label == names[item.host_id]
        assert item.message.startswith(f"{names[item.host_id]}: "), item.message
        assert "customer #" not in item.message
    log = html.unescape(admin_client.get(f"{JOBS}/runs/{run_id}").get_data(as_text=True))
    assert all(name in log for name in names.values()) and "customer #" not in log


def test_a_run_whose_worker_died_too_often_names_its_records(jobs_app, connected, cw_client, drain_queue,
                                                             monkeypatch):
    """The scheduler's look for dead workers closes a run it no longer resumes by itself the same way: its records not
    reached are named, not "customer #1"."""
    from sqlalchemy import update

    from colcw_plugin.sync.jobs import recovery
    from host_stub.models import utcnow

    tune_runtime(monkeypatch, jobs_app, retry_intervals=(3600,), record_retry_intervals=(0, 0), auto_resumes=0)
    _map_default_rep(cw_client)
    names = {make_customer(name=f"Dead Co {i}", account_number=f"DEAD{i}").id: f"Dead Co {i} (DEAD{i})"
             for i in range(2)}
    connected.add_fault(status=503, path="company/")
    run_id = runtime().submit(db.session, "customer_export", {"all": True}, actor=ADMIN).run.id
    drain_queue()  # (it selected its records, then waits for ConnectWise)
    # As its worker left it when it died mid-attempt: running, its heartbeat old, its job gone.
    db.session.execute(update(SyncRun).where(SyncRun.id == run_id).values(
        status="running", heartbeat_at=utcnow().replace(year=2020), rq_job_id="colcw-run-999999-deadbeef"))
    db.session.commit()
    assert recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=0, kinds=runtime().kinds) == [run_id]
    db.session.expire_all()
    items = db.session.execute(select(SyncItem).where(SyncItem.run_id == run_id)).scalars().all()
    assert sorted(i.host_id for i in items) == sorted(names)
    for item in items:
        assert item.action == "not_attempted" and item.label == names[item.host_id], (item.label, item.message)
