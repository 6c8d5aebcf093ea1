"""A bulk customer export cancelled while it runs starts no other customer: the ones being sent side by side end
whole and are recorded, and nothing is sent for any other (a cancelled export of 40 went on from 2 to 18 records
and created 3 companies after the cancel: the run's thread, waiting for a slow customer, did not see the request
while its other workers kept taking customers). Against the sandbox, slowed down, cancelled from another thread
through the runs' cancel service as the Cancel button does."""

from __future__ import annotations

import threading
import time

from customer_support import companies, make_customer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from colcw_plugin.models import CUSTOMER, Link, SyncItem, SyncRun
from colcw_plugin.sync.jobs import recovery, runs
from colcw_plugin.sync.jobs.recorder import RunRecorder
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime, tune_runtime
from host_stub.extensions import db

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}
ANSWER = 1.0  # the sandbox's delay on every company create
# From the cancel to a create that still reaches ConnectWise: one whose worker asked just before the cancel was
# committed, on its way. A worker that did not ask would start its next customer as its create ends, about
# ANSWER after the cancel (the cancel comes as a create reaches ConnectWise).
SENDING = 0.25


class LooksEveryTime(RunRecorder):
    """The run's recorder, looking at the run every time it is asked whether to stop, not once a second: what is
    tested is that each worker asks before it starts a customer, not how often the recorder reads the run."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **{**kwargs, "flush_seconds": 0.0})


def _posts(sandbox) -> list[float]:
    """When each company create reached ConnectWise."""
    return sorted(r["time"] for r in sandbox.requests()
                  if r["method"] == "POST" and r["path"].endswith("/company/companies"))


def test_a_cancelled_export_starts_no_other_customer(sync_ready, app, monkeypatch):
    # Two workers: one waits on the slow customer, the other takes the rest one after another, so its next customer
    # would start about ANSWER after the cancel if it did not ask first.
    tune_runtime(monkeypatch, app, concurrency=2)
    monkeypatch.setattr(runs, "RunRecorder", LooksEveryTime)
    for i in range(30):
        make_customer(name=f"Stop Co {i:02d}", account_number=f"STOP{i:02d}", contacts=[])
    # One of the first customers is slow (the run's thread waits for it); every create takes a while.
    sync_ready.add_fault(latency_ms=8000, method="POST", path="company/companies$", nth=1)
    sync_ready.add_fault(latency_ms=int(ANSWER * 1000), method="POST", path="company/companies$")
    sync_ready.clear_requests()
    job = create_run(db.session, runtime().kinds, "customer_export", {"all": True}, trigger="manual", actor=ADMIN)
    db.session.commit()
    run_id, engine, queue = job.id, db.engine, runtime().queue
    asked: list[float] = []

    def cancel_once_under_way() -> None:
        deadline = time.monotonic() + 60
        while len(_posts(sync_ready)) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        with Session(bind=engine) as session:
            asked.append(time.time())
            assert recovery.cancel(session, queue, run_id, actor=ADMIN).status == "cancelling"

    canceller = threading.Thread(target=cancel_once_under_way)
    canceller.start()
    done = runtime().execute(db.session, run_id)
    canceller.join()
    db.session.expire_all()
    done = db.session.get(SyncRun, run_id)
    assert done.status == "cancelled", (done.status, done.message)

    posts = _posts(sync_ready)
    # No create started once the workers could see the request: only those already being sent ended.
    late = [t - asked[0] for t in posts if t > asked[0] + SENDING]
    assert late == [], late
    assert len(posts) < 30
    # Each company created is linked and recorded; no customer is recorded that was not exported.
    made = companies(sync_ready)
    linked = db.session.scalar(select(func.count()).select_from(Link).where(Link.entity == CUSTOMER))
    recorded = db.session.scalar(select(func.count()).select_from(SyncItem).where(
        SyncItem.run_id == run_id, SyncItem.entity == CUSTOMER, SyncItem.action == "created"))
    assert len(made) == linked == recorded == len(posts), (len(made), linked, recorded, len(posts))
