"""What a run's page says of the attempt under way, with real ``colcw worker`` subprocesses (QA: an ops walkthrough
freezing a worker's work horse under a slow ConnectWise):

* while a record takes its time, the requests it sent show ("ConnectWise requests 0" with company POSTs sent);
* once the scheduler resumed the run on another worker, the page no longer says "Interrupted: … resumed
  automatically" but what the new attempt does;
* that attempt, waiting for the records its frozen earlier attempt still holds, says so (not "another export");
* when it goes on and ends, nothing of the interruption is left in the message;
* a run not resumed because another run of the same work is active says that, not "resumed automatically"."""

from __future__ import annotations

import contextlib
import os
import re
import signal
from html import unescape

import pytest
from jobs_support import descendants, wait_until, worker_env
from sqlalchemy import select, update

from colcw_plugin.cw import conditions as C
from colcw_plugin.models import RepMapping, SyncRun
from colcw_plugin.sync.jobs import recovery
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db
from host_stub.models import StoreSite, utcnow

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}
JOBS = "/admin/integration/connectwise/jobs"
SLOW_MS = 4000  # each company POST: long enough to look at the page while they are under way


def fresh(run_id: int) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def text(resp) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))).split())


def page(client, run_id: int) -> str:
    return text(client.get(f"{JOBS}/runs/{run_id}"))


def row(client, run_id: int) -> str:
    return text(client.get(f"{JOBS}/history-rows?run={run_id}"))


def shown_requests(shown: str) -> int:
    found = re.search(r"ConnectWise requests (\d+)", shown)
    assert found, shown
    return int(found.group(1))


def _customers(cw_client, n: int) -> list[int]:
    from customers.customer_support import make_customer

    member = cw_client.members.list(conditions=C.eq("identifier", "admin1"), fields=["id"])[0]
    store = db.session.execute(select(StoreSite)).scalars().first()
    db.session.add(RepMapping(user_id=store.default_rep_id, member_id=member["id"], member_identifier="admin1"))
    db.session.commit()
    return [make_customer(name=f"Frozen Co {i:02d}", account_number=f"FROZ{i:02d}").id for i in range(n)]


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _frozen_and_resumed(jobs_app, processes, redis_conn, run_id: int, first) -> list[int]:
    """SIGSTOP the first worker's work horse, let the scheduler resume the run, start another worker; the horse."""
    horses = descendants(first.pid)
    assert horses, "the worker forked no work horse"
    _signal(horses, signal.SIGSTOP)
    wait_until(lambda: not redis_conn.exists(f"colcw:run:{run_id}:alive"), timeout=10,
               message="the frozen attempt's liveness key to expire")
    assert recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=0) == [run_id]
    processes.start(["colcw", "worker"], worker_env(jobs_app))
    return horses


def test_a_resumed_run_says_what_its_attempt_does_at_each_stage(
        jobs_app, connected, cw_client, redis_conn, processes, admin_client):
    _customers(cw_client, 3)
    connected.add_fault(latency_ms=SLOW_MS, method="POST", path="company/companies$")
    run_id = runtime().submit(db.session, "customer_export", {"all": True}, actor=ADMIN).run.id
    first = processes.start(["colcw", "worker"], worker_env(jobs_app, COLCW_LIVENESS_SECONDS=1))

    # 1. A record under way: its requests show before it has its outcome.
    wait_until(lambda: any(r["method"] == "POST" and r["path"].endswith("company/companies")
                           for r in connected.requests()), timeout=60, message="the first company POST")
    wait_until(lambda: (lambda r: r.api_requests > 0 and r.done == 0)(fresh(run_id)), timeout=SLOW_MS / 2000,
               message="the run's requests to show while its first records are under way")
    shown = page(admin_client, run_id)
    assert "Records none finished yet" in shown, shown  # at work on its first records
    assert shown_requests(shown) > 0 and "Running — 0 / 3" in shown, shown

    # 2. Its work horse freezes (SIGSTOP) holding the customers' locks; the scheduler takes it for dead once its
    # liveness key expired and resumes the run.
    horses = _frozen_and_resumed(jobs_app, processes, redis_conn, run_id, first)
    try:
        # 3. Another worker takes it and waits for the records the frozen attempt still holds.
        waiting = wait_until(lambda: (lambda r: r if r.status == "running" and r.waiting_reason else None)(
            fresh(run_id)), timeout=60, message="the resumed attempt to wait for the held customers")
        shown = page(admin_client, run_id)
        listed = row(admin_client, run_id)
        status = admin_client.get(f"/colcw/runs/{run_id}/status.json").get_json()
        said = ("Waiting for this run's earlier attempt to let go of some of these 3 customers: its worker stopped "
                "answering but has not ended. This attempt goes on as soon as that process ends, or comes back and "
                "stops (the run is this attempt's now); if it still holds some of these 3 customers after 2 minutes, "
                "those still held wait for a later pass of this run.")
        assert said in shown, shown
        assert said[:150] in listed, listed  # (the history row cuts it short)
        for either in (shown, listed):
            assert "Waiting for another export" not in either and "Interrupted" not in either, either
        assert status["message"] == ("Resumed automatically after its worker stopped, at 0 of 3 customers; the records "
                                     "already done are skipped."), status
        assert waiting.attempts == 2 and waiting.interruptions == 1
        wait_until(lambda: all(r["status"] is not None for r in connected.requests() if r["method"] == "POST"),
                   timeout=SLOW_MS / 500, message="ConnectWise to carry out the frozen attempt's POSTs")
    finally:
        # 4. The frozen process ends (its locks with it): the resumed attempt goes on and finishes the run.
        _signal(horses, signal.SIGKILL)
    done = wait_until(lambda: (lambda r: r if r.status not in ("queued", "running", "waiting") else None)(
        fresh(run_id)), timeout=90, message="the resumed attempt to end the run")
    assert done.status == "succeeded", (done.status, done.message)
    shown = page(admin_client, run_id)
    assert "Interrupted" not in shown and "Resumed automatically" not in shown and "Waiting for" not in shown, shown
    assert "Succeeded — 3 / 3" in shown and "Attempts 2 (1 after its worker stopped)" in shown, shown
    assert shown_requests(shown) == done.api_requests > 0
    names = sorted(c["name"] for c in cw_client.companies.list(fields=["name"]) if c["name"].startswith("Frozen"))
    assert names == ["Frozen Co 00", "Frozen Co 01", "Frozen Co 02"], names  # each once


def test_a_resumed_quote_export_says_it_waits_for_its_frozen_attempt_not_another_export(
        jobs_app, connected, box, redis_conn, processes, admin_client):
    """QA's run: a quote export frozen while ConnectWise was slow to create its opportunity; the resumed attempt waits
    for the document's lock, which the frozen process holds."""
    from quotes.quote_support import line, make_world

    world = make_world(connected, box)
    doc = world.quote([line("OPT-7010")])
    number = doc.number
    connected.add_fault(latency_ms=SLOW_MS, method="POST", path="sales/opportunities$")
    run_id = runtime().submit(db.session, "quote_export", {"document_ids": [doc.id]}, actor=ADMIN).run.id
    first = processes.start(["colcw", "worker"], worker_env(jobs_app, COLCW_LIVENESS_SECONDS=1))
    wait_until(lambda: any(r["method"] == "POST" and r["path"].endswith("sales/opportunities")
                           for r in connected.requests()), timeout=60, message="the opportunity's POST")
    horses = _frozen_and_resumed(jobs_app, processes, redis_conn, run_id, first)
    try:
        wait_until(lambda: (lambda r: r.status == "running" and r.waiting_reason)(fresh(run_id)), timeout=60,
                   message="the resumed attempt to wait for the document")
        shown = page(admin_client, run_id)
        assert (f"Waiting for this run's earlier attempt to let go of {number}: its worker stopped answering but has "
                "not ended. This attempt goes on as soon as that process ends, or comes back and stops (the run is "
                f"this attempt's now); if it still holds {number} after 2 minutes, {number} fails, to be exported "
                "again later.") in shown, shown
        assert f"Waiting for another export of {number}" not in shown, shown
        # (ConnectWise carries out the frozen attempt's POST before that process ends: a POST still under way when
        # it ends is another matter, a write ConnectWise applies after its client is gone.)
        wait_until(lambda: any(r["method"] == "POST" and r["path"].endswith("sales/opportunities")
                               and r["status"] is not None for r in connected.requests()), timeout=SLOW_MS / 500,
                   message="ConnectWise to carry out the frozen attempt's POST")
    finally:
        _signal(horses, signal.SIGKILL)
    done = wait_until(lambda: (lambda r: r if r.status not in ("queued", "running", "waiting") else None)(
        fresh(run_id)), timeout=90, message="the resumed attempt to end the run")
    assert done.status == "succeeded", (done.status, done.message)
    shown = page(admin_client, run_id)
    assert "Interrupted" not in shown and "Waiting for" not in shown, shown
    assert len(world.opportunities()) == 1, world.opportunities()  # the frozen attempt's POST is not made twice


def test_a_run_not_resumed_because_the_same_work_is_active_says_so(jobs_app, redis_conn, admin_client):
    """The scheduler finds a run whose worker died while another run of the same work is queued: the dead run stays
    interrupted for a person, and its message says why and which run — not that it was resumed automatically."""
    other = runtime().submit(db.session, "test_count", {"n": 2}, actor=ADMIN).run
    dead = create_run(db.session, runtime().kinds, "test_count", {"n": 2}, actor=ADMIN)
    db.session.commit()
    db.session.execute(update(SyncRun).where(SyncRun.id == dead.id).values(
        status="running", heartbeat_at=utcnow(), started_at=utcnow(), attempts=1, total=2))
    db.session.commit()

    assert recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=0) == [dead.id]
    run = fresh(dead.id)
    assert run.status == "interrupted" and run.finished_at is not None, (run.status, run.message)
    shown = page(admin_client, dead.id)
    assert f"Not resumed: run #{other.id} (queued) does the same work now. Resume this run once that one has ended " \
        "(records already done are skipped)." in shown, shown
    assert "resumed automatically" not in shown, shown
    assert fresh(other.id).status == "queued"
