"""While ConnectWise's company lookup (``/login/companyinfo``) keeps failing, one attempt of a customer export makes
one lookup (its client's tries of it): the reads the export sends ahead side by side (shared/prefetch.py) need the
API's address too, and each used to make the lookup again once the one before it had failed (three lookups, each
its own tries, 3 s apart behind a 429's Retry-After). The client's lookup is single-flight: one in flight, the others
wait for its answer, a transient failure included. Counted in the sandbox's request log."""

from __future__ import annotations

import pytest
from customer_support import companies, make_customer

from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime, tune_runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]


TRIES = 2  # the client's own tries of one request (a lookup): a second one after the Retry-After or a back-off


def _client_trying_twice(session, settings=None):
    return runtime().client(session, settings=settings, max_attempts=TRIES)


@pytest.mark.parametrize("status", [429, 503])
def test_one_attempt_makes_one_lookup_while_the_company_lookup_fails(sync_ready, app, monkeypatch, status):
    tune_runtime(monkeypatch, app, retry_intervals=(1, 1), record_retry_intervals=(), unreachable_after=1,
                 concurrency=1)
    customer = make_customer(name="Looked Up Once", account_number="CI11")  # with its contact: reads sent ahead
    runtime().codebases.forget_all()  # the run's client asks the login host first, as a new worker's does
    sync_ready.add_fault(status=status, retry_after=3, path="login/companyinfo")
    sync_ready.clear_requests()
    run = create_run(db.session, runtime().kinds, "customer_export", {"customer_ids": [customer.id]})
    db.session.commit()

    first = runtime().execute(db.session, run.id, queued=True, make_client=_client_trying_twice)

    assert first.status == "waiting", first.message
    sent = sync_ready.requests()
    lookups = [r for r in sent if "login/companyinfo" in r["path"]]
    assert len(lookups) == TRIES, [(r["path"], r["status"], round(r["time"] - sent[0]["time"], 1)) for r in sent]
    assert [r for r in sent if "login/companyinfo" not in r["path"]] == []  # nothing reached the API meanwhile
    assert companies(sync_ready, conditions='identifier = "CI11"') == []


def test_a_lookup_refused_with_a_retry_after_stays_the_answer_until_then(sync_ready, app, monkeypatch):
    """With its own tries spent at once, the first lookup's 429 ends its flight before the other reads need the
    address: they take that answer (ConnectWise asked to wait 3 s) instead of each waiting 3 s to ask again."""
    tune_runtime(monkeypatch, app, retry_intervals=(1, 1), record_retry_intervals=(), unreachable_after=1,
                 concurrency=1)
    customer = make_customer(name="Asked Once", account_number="CI12")
    runtime().codebases.forget_all()
    sync_ready.add_fault(status=429, retry_after=3, path="login/companyinfo")
    sync_ready.clear_requests()
    run = create_run(db.session, runtime().kinds, "customer_export", {"customer_ids": [customer.id]})
    db.session.commit()

    first = runtime().execute(db.session, run.id, queued=True,
                              make_client=lambda session, settings=None: runtime().client(
                                  session, settings=settings, max_attempts=1))

    assert first.status == "waiting", first.message
    assert "ConnectWise is rate-limiting colcw" in first.waiting_reason, first.waiting_reason
    sent = sync_ready.requests()
    assert len(sent) == 1 and "login/companyinfo" in sent[0]["path"], [(r["path"], r["status"]) for r in sent]
    assert companies(sync_ready, conditions='identifier = "CI12"') == []
