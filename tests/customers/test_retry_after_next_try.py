"""A run never tries ConnectWise again before the Retry-After it was given, whatever its own intervals (QA: 429
"for 120 s" on every request, the run said "the run waits as a whole; next try at …" and its next requests came
30 s later). Whole-run waits (COLCW_RETRY_INTERVALS) and the passes over records (COLCW_RECORD_RETRY_INTERVALS)
both wait it out, and the time they show is the real one. Measured from the sandbox's request log: no request
arrived after a 429 before its Retry-After had passed."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from customer_support import make_customer

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime, tune_runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]

RETRY_AFTER = 3  # seconds; colcw's own intervals below are 1 s


def _client_without_own_retries(session, settings=None):
    """The run's client with its own tries spent at once (as once they ran out): the run's waits are measured."""
    return runtime().client(session, settings=settings, max_attempts=1)


def _as_epoch(naive_utc: dt.datetime) -> float:
    return naive_utc.replace(tzinfo=dt.UTC).timestamp()


# A run reads ConnectWise's reference lists side by side: a request arriving this soon after a 429 was on its way
# before the 429's answer was back (the requests below come 1 s after one without the Retry-After).
IN_FLIGHT = 0.5


def _none_early(log: list[dict]) -> None:
    """No request sent after a 429 was answered arrived before that 429's Retry-After had passed."""
    log = sorted(log, key=lambda r: r["time"])
    for i, r in enumerate(log):
        if r["status"] == 429:
            later = [x["time"] - r["time"] for x in log[i + 1:] if x["time"] - r["time"] > IN_FLIGHT]
            assert all(gap >= RETRY_AFTER for gap in later), _dump(log)


def test_a_run_waiting_as_a_whole_tries_again_only_after_retry_after(sync_ready, app, monkeypatch):
    tune_runtime(monkeypatch, app, retry_intervals=(1, 1), record_retry_intervals=(), unreachable_after=1,
                  concurrency=1)
    customer = make_customer(contacts=[], name="Throttled", account_number="THR01")
    sync_ready.add_fault(status=429, retry_after=RETRY_AFTER, path="company/companies")
    sync_ready.clear_requests()
    run = create_run(db.session, runtime().kinds, "customer_export", {"customer_ids": [customer.id]})
    db.session.commit()

    shown = []
    attempt = runtime().execute(db.session, run.id, queued=True, make_client=_client_without_own_retries)
    while attempt.status == "waiting":
        assert "the run waits as a whole" in attempt.waiting_reason
        shown.append(attempt.next_try_at)
        time.sleep(max(0.0, _as_epoch(attempt.next_try_at) - time.time()))  # as the queue re-enqueues it then
        attempt = runtime().execute(db.session, run.id, queued=True, make_client=_client_without_own_retries)

    log = sync_ready.requests()
    assert len(shown) == 2 and attempt.status == "failed", (attempt.message, _dump(log))  # 2 waits, then given up
    limited = sorted(r["time"] for r in log if r["status"] == 429)
    for next_try in shown:  # the time shown is the real one, never before the last 429's Retry-After
        assert _as_epoch(next_try) >= max(t for t in limited if t < _as_epoch(next_try)) + RETRY_AFTER
    _none_early(log)


def test_a_pass_over_records_waits_out_retry_after_and_says_when(sync_ready, app, monkeypatch):
    tune_runtime(monkeypatch, app, record_retry_intervals=(1,), unreachable_after=0, concurrency=1)
    customer = make_customer(contacts=[], name="Throttled once", account_number="THR02")
    sync_ready.add_fault(status=429, retry_after=RETRY_AFTER, count=1, method="POST", path="company/companies")
    sync_ready.clear_requests()
    run = create_run(db.session, runtime().kinds, "customer_export", {"customer_ids": [customer.id]})
    db.session.commit()
    said = []

    def sleep(seconds):
        if not said:  # the pause between the passes: what the run's pages say meanwhile
            with db.engine.connect() as conn:
                said.append(conn.execute(db.select(SyncRun.waiting_reason, SyncRun.next_try_at)
                                         .where(SyncRun.id == run.id)).one())
        time.sleep(seconds)

    done = runtime().execute(db.session, run.id, queued=True, make_client=_client_without_own_retries, sleep=sleep)

    assert done.status == "succeeded", (done.message, _dump(sync_ready.requests()))
    log = sync_ready.requests()
    (limited,) = [r["time"] for r in log if r["status"] == 429]
    reason, until = said[0]
    assert "trying it again" in reason
    assert _as_epoch(until) >= limited + RETRY_AFTER
    _none_early(log)


def _dump(log):
    t0 = min(r["time"] for r in log)
    return [(round(r["time"] - t0, 2), r["status"], r["method"], r["path"][-40:]) for r in sorted(log, key=lambda r: r["time"])]
