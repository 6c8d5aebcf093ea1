"""A queued run that ConnectWise rate-limits for longer than a few seconds does not sleep the Retry-After in its
worker (QA: a run slept 90 s twice in-process, holding the only worker while live updates queued behind it): its
attempt ends at once, the run waits, RQ holds its next attempt for when ConnectWise asked, and the worker is free for
other runs meanwhile. A real ``colcw worker`` process; the sandbox answers 429 with a 60 s Retry-After."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import pytest
from customer_support import make_customer
from rq import Worker
from rq.registry import ScheduledJobRegistry

from colcw_plugin.models import SyncRun
from helpers import runtime
from host_stub.extensions import db

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "jobs"))
from jobs_support import Processes, wait_until, worker_env  # noqa: E402

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox, pytest.mark.slow]

RETRY_AFTER = 60
ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


@pytest.fixture()
def processes():
    procs = Processes()
    yield procs
    procs.stop_all()


def _run(run_id: int) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def test_a_long_retry_after_ends_the_attempt_and_frees_the_worker(app, sync_ready, processes):
    customer = make_customer(contacts=[], name="Throttled", account_number="THR90")
    sync_ready.add_fault(status=429, retry_after=RETRY_AFTER, path="company/companies")
    sync_ready.clear_requests()
    run = runtime().submit(db.session, "customer_export", {"customer_ids": [customer.id]}, actor=ADMIN).run
    run_id = run.id
    started = time.monotonic()
    processes.start(["colcw", "worker"], worker_env(app))

    waiting = wait_until(lambda: (r := _run(run_id)).status == "waiting" and r, timeout=25,
                         message="the run to wait for its next attempt")
    assert time.monotonic() - started < 25  # not after a Retry-After slept in the worker
    limited = [r for r in sync_ready.requests() if r["status"] == 429]
    assert len(limited) == 1  # nothing sent again into the Retry-After
    next_try = waiting.next_try_at.replace(tzinfo=dt.UTC).timestamp()
    assert next_try >= limited[0]["time"] + RETRY_AFTER - 1  # its next attempt is for when ConnectWise asked
    assert "rate-limit" in (waiting.waiting_reason or "")
    queue = runtime().queue
    wait_until(lambda: _run(run_id).rq_job_id in ScheduledJobRegistry(queue=queue.rq).get_job_ids(), timeout=5,
               message="RQ to hold its next attempt until then")
    # The worker is free for other runs meanwhile.
    wait_until(lambda: all(w.get_current_job_id() is None for w in Worker.all(connection=queue.connection)),
               timeout=5, message="the worker to be free")


def test_a_record_rate_limited_for_long_waits_for_the_next_attempt_not_between_passes(app, sync_ready, processes):
    """The lookup goes through and the record's own create is rate-limited: the record waits (per record, not the run
    as a whole), and the pause before the next pass over it, which would be the Retry-After, is not slept in the
    worker either: the attempt ends and the run waits for its next one, queued for then."""
    customer = make_customer(contacts=[], name="Throttled create", account_number="THR91")
    sync_ready.add_fault(status=429, retry_after=RETRY_AFTER, method="POST", path="company/companies")
    sync_ready.clear_requests()
    run = runtime().submit(db.session, "customer_export", {"customer_ids": [customer.id]}, actor=ADMIN).run
    run_id = run.id
    processes.start(["colcw", "worker"], worker_env(app))

    waiting = wait_until(lambda: (r := _run(run_id)).status == "waiting" and r, timeout=25,
                         message="the run to wait for its next attempt")
    assert waiting.waiting_reason.startswith("1 customer waiting for ConnectWise (rate-limited by ConnectWise")
    limited = [r for r in sync_ready.requests() if r["status"] == 429]
    assert len(limited) == 1
    assert waiting.next_try_at.replace(tzinfo=dt.UTC).timestamp() >= limited[0]["time"] + RETRY_AFTER - 1
    queue = runtime().queue
    wait_until(lambda: _run(run_id).rq_job_id in ScheduledJobRegistry(queue=queue.rq).get_job_ids(), timeout=5,
               message="RQ to hold its next attempt until then")
    wait_until(lambda: all(w.get_current_job_id() is None for w in Worker.all(connection=queue.connection)),
               timeout=5, message="the worker to be free")
