"""ConnectWise answering the company lookup (``/login/companyinfo``, how a client finds the tenant's codebase) with a
429 or a 5xx is busy or failing, not at a wrong address: the run waits for it as for any such answer (a 429's
Retry-After first) and says it is rate-limited or failing, then goes through; it used to fail the whole run with
"check the site URL". A company ConnectWise does not know still fails the run at once, saying to check the company
id. Faults injected in the sandbox on that path; outcomes read in the sandbox's request log and tenant."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from customer_support import companies, make_customer

from colcw_plugin.setup.connection import get_settings
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime, tune_runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]

RETRY_AFTER = 3


def _client_without_own_retries(session, settings=None):
    """The run's client with its own tries spent at once (as once they ran out): the run's own handling is seen."""
    return runtime().client(session, settings=settings, max_attempts=1)


def _as_epoch(naive_utc: dt.datetime) -> float:
    return naive_utc.replace(tzinfo=dt.UTC).timestamp()


@pytest.mark.parametrize("status, said", [(429, "ConnectWise is rate-limiting colcw"),
                                          (503, "ConnectWise keeps failing (HTTP 503")])
def test_a_busy_company_lookup_makes_the_run_wait_then_go_through(sync_ready, app, monkeypatch, status, said):
    tune_runtime(monkeypatch, app, retry_intervals=(1, 1), record_retry_intervals=(), unreachable_after=1,
                 concurrency=1)
    customer = make_customer(contacts=[], name="Looked Up Later", account_number="CI01")
    runtime().codebases.forget_all()  # the run's client asks the login host first, as a new worker's does
    sync_ready.add_fault(status=status, retry_after=RETRY_AFTER, path="login/companyinfo")
    sync_ready.clear_requests()
    run = create_run(db.session, runtime().kinds, "customer_export", {"customer_ids": [customer.id]})
    db.session.commit()

    first = runtime().execute(db.session, run.id, queued=True, make_client=_client_without_own_retries)

    assert first.status == "waiting", first.message
    assert said in first.waiting_reason and "Check the site URL" not in first.waiting_reason, first.waiting_reason
    lookups = sorted((r for r in sync_ready.requests() if "login/companyinfo" in r["path"]), key=lambda r: r["time"])
    times = [r["time"] - lookups[0]["time"] for r in lookups]
    assert lookups and {r["status"] for r in lookups} == {status}, times
    if status == 429:  # no lookup, and no next try, before ConnectWise's Retry-After
        assert all(b - a >= RETRY_AFTER for a, b in zip(times, times[1:], strict=False)), times
        assert _as_epoch(first.next_try_at) >= lookups[-1]["time"] + RETRY_AFTER
    assert companies(sync_ready, conditions='identifier = "CI01"') == []

    sync_ready.clear_faults()  # ConnectWise answers again
    time.sleep(max(0.0, _as_epoch(first.next_try_at) - time.time()))  # as the queue re-enqueues it then
    second = runtime().execute(db.session, run.id, queued=True, make_client=_client_without_own_retries)

    assert second.status == "succeeded", second.message
    (made,) = companies(sync_ready, conditions='identifier = "CI01"')
    assert made["name"] == "Looked Up Later"


def test_a_company_connectwise_does_not_know_still_fails_the_run_at_once(sync_ready, app, monkeypatch):
    tune_runtime(monkeypatch, app, retry_intervals=(1, 1), unreachable_after=1, concurrency=1)
    customer = make_customer(contacts=[], name="Nowhere", account_number="CI02")
    settings = get_settings(db.session)
    settings.company_id = "nosuchcompany"
    db.session.commit()
    run = create_run(db.session, runtime().kinds, "customer_export", {"customer_ids": [customer.id]})
    db.session.commit()

    done = runtime().execute(db.session, run.id, queued=True, make_client=_client_without_own_retries)

    assert done.status == "failed", (done.status, done.waiting_reason)
    assert "Check the company id" in done.message, done.message
    assert companies(sync_ready, conditions='identifier = "CI02"') == []
