"""QA's duplicate: a quote export's worker freezes (SIGSTOP) while ConnectWise still works on its opportunity POST; the
run is resumed on another worker; the frozen process is killed, and ConnectWise carries the POST out only after the
resumed attempt looked the opportunity up by name and found none. The resumed attempt must not create a second
opportunity: the earlier attempt's create intent (its token in the opportunity's notes), which its frozen sender never
marked ended, makes it wait for that POST (at most COLCW_CREATE_SETTLE_SECONDS after it was sent) and take the
opportunity it made. ConnectWise ends with one opportunity for the document, holding its line."""

from __future__ import annotations

import contextlib
import os
import signal

import pytest
from jobs_support import descendants, wait_until, worker_env

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs import recovery
from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}
LATE_MS = 20000  # how long ConnectWise takes to carry out the frozen attempt's POST (it sleeps, then creates)
# The bound on waiting for it: past LATE_MS and the resumed attempt's passes, far short of production's minutes.
SETTLE = {"COLCW_CREATE_SETTLE_SECONDS": 90}


def _fresh(run_id: int) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def _said(run_id: int) -> str:
    run = _fresh(run_id)
    return f"{run.status}: {run.message} / {run.waiting_reason} / {[(i.action, i.message) for i in run.items]}"


def _posts(connected) -> list[dict]:
    return [r for r in connected.requests() if r["method"] == "POST" and r["path"].endswith("sales/opportunities")]


def test_an_opportunity_post_landing_after_the_resumed_attempts_look_up_is_not_made_twice(
        jobs_app, connected, box, redis_conn, processes):
    from quotes.quote_support import line, make_world

    world = make_world(connected, box)
    doc = world.quote([line("OPT-7010")], name="Frozen deal")
    # Only the first POST is slow: ConnectWise sleeps LATE_MS before it creates the opportunity.
    connected.add_fault(latency_ms=LATE_MS, method="POST", path="sales/opportunities$", count=1)
    run_id = runtime().submit(db.session, "quote_export", {"document_ids": [doc.id]}, actor=ADMIN).run.id
    first = processes.start(["colcw", "worker"], worker_env(jobs_app, COLCW_LIVENESS_SECONDS=1, **SETTLE))
    wait_until(lambda: _posts(connected), timeout=60, message="the opportunity's POST")
    horses = descendants(first.pid)
    assert horses, "the worker forked no work horse"
    for pid in horses:
        os.kill(pid, signal.SIGSTOP)
    try:
        wait_until(lambda: not redis_conn.exists(f"colcw:run:{run_id}:alive"), timeout=10,
                   message="the frozen attempt's liveness key to expire")
        assert recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=0) == [run_id]
        # (The resumed attempt tries a record again 3, 10 and 20 s after a transient failure, in its own passes: the
        # later attempts RQ would schedule wait for RQ's scheduler, which the frozen worker's descendants took along.)
        processes.start(["colcw", "worker"], worker_env(jobs_app, COLCW_RECORD_RETRY_INTERVALS="3,10,20", **SETTLE))
        wait_until(lambda: (lambda r: r.status == "running" and r.waiting_reason)(_fresh(run_id)), timeout=60,
                   message="the resumed attempt to wait for the document its frozen attempt holds")
        assert world.opportunities() == []  # the frozen attempt's POST is still in ConnectWise's hands
    finally:
        for pid in horses:  # the frozen process ends (its locks with it) before ConnectWise carried its POST out
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    try:
        done = wait_until(lambda: (lambda r: r if r.status not in ("queued", "running", "waiting") else None)(
            _fresh(run_id)), timeout=120, message="the resumed attempt to end the run")
    except AssertionError as e:
        raise AssertionError(f"{e}: {_said(run_id)}; POSTs {_posts(connected)}") from None
    # Whatever the run did, ConnectWise has carried out every POST before the outcome is judged.
    wait_until(lambda: all(r["status"] is not None for r in _posts(connected)), timeout=LATE_MS / 500,
               message="ConnectWise to carry out the frozen attempt's POST")
    opportunities = world.opportunities()
    assert [o["name"] for o in opportunities] == ["Frozen deal"], opportunities
    [opp] = opportunities
    assert [(p["catalogItem"]["identifier"], p["integrationXRef"]) for p in world.products(opp["id"])] == [
        ("OPT-7010", f"colcw:{doc.id}:{doc.lines[0].id}")]
    assert done.status == "succeeded", (done.status, done.message)
    assert len(_posts(connected)) == 1, _posts(connected)  # the resumed attempt took the frozen attempt's opportunity
