"""Runs converge by themselves under faults (issue 11, sized for CI; ``bench/soak_convergence.py`` is the
10x soak): 60 customers, 150 contacts and 40 quotes exported while about a fifth of ConnectWise's answers
fail (429, 500, 503, dropped connections, writes that hang past the read timeout and are applied all the
same) and one worker is killed mid-run. Nobody presses Retry or Resume: every run ends succeeded, the
sandbox holds every record and line exactly once, and every run's counts add up."""

from __future__ import annotations

import time

import fault_world
import pytest
from jobs_support import wait_until, worker_env

from colcw_plugin.models import FINAL_RUN_STATUSES, SyncRun
from helpers import runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.sandbox, pytest.mark.slow]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}
# Small intervals so the test converges in seconds; the bound is their sum (about 40 s of waiting).
SETTINGS = {"COLCW_RETRY_INTERVALS": "1,1,2,2,3,3,4,4,5,5,5,5", "COLCW_RECORD_RETRY_INTERVALS": "0.5,1",
            "COLCW_UNREACHABLE_AFTER": "4", "COLCW_LIVENESS_SECONDS": "1", "COLCW_INTERRUPTED_AFTER_SECONDS": "2",
            "COLCW_LOST_AFTER_SECONDS": "3", "COLCW_CW_READ_TIMEOUT": "1", "COLCW_CONCURRENCY": "2",
            "COLCW_RATE_LIMIT_PER_MINUTE": "100000", "COLCW_AUTO_RESUMES": "5"}


def done(run_id: int) -> int:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id).done


def ended(run_ids: list[int]) -> bool:
    db.session.expire_all()
    return all(db.session.get(SyncRun, r).status in FINAL_RUN_STATUSES for r in run_ids)


def test_exports_converge_under_faults_and_a_killed_worker_with_nothing_lost_or_duplicated(
        connected, jobs_app, redis_conn, processes):
    connected.set_throttle(per_minute=None, in_flight=None)
    t0 = time.monotonic()
    world = fault_world.build(connected, customers=60, contacts=150, documents=40)
    env = worker_env(jobs_app, **SETTINGS)
    doomed = processes.start(["colcw", "worker"], env)
    processes.start(["colcw", "worker"], env)
    processes.start(["colcw", "worker"], env)
    processes.start(["colcw", "scheduler", "--interval", "1"], env)
    fault_world.arm_faults(connected)
    started = time.monotonic()
    print(f"built in {started - t0:.1f} s")

    ids = sorted(world.customers)
    customer_runs = [runtime().submit(db.session, "customer_export", {"customer_ids": ids[k::4], "selected": True},
                                      actor=ADMIN).run.id for k in range(4)]
    # Kill one worker (with its work horse) while it is in the middle of a run.
    wait_until(lambda: max(done(r) for r in customer_runs) >= 3, timeout=60,
               message="the customer exports to get going")
    processes.kill(doomed)
    wait_until(lambda: ended(customer_runs), timeout=120, message="the customer exports to end")
    print(f"customers in {time.monotonic() - started:.1f} s")

    docs = fault_world.documents_of(world)
    quote_runs = [runtime().submit(db.session, "quote_export", {"document_ids": docs[k::3], "selected": True},
                                   actor=ADMIN).run.id for k in range(3)]
    wait_until(lambda: ended(quote_runs), timeout=120, message="the quote exports to end")
    seconds = time.monotonic() - started

    connected.clear_faults()
    problems = fault_world.run_problems(customer_runs + quote_runs)
    assert problems == [], problems
    found = fault_world.audit(connected, world)
    assert (found["duplicates"], found["missing"]) == (0, 0), found["details"]
    assert found["companies"] == 60 and found["opportunities"] == 40
    print(f"converged in {seconds:.1f} s")
