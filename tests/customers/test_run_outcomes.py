"""Runs converge by themselves (issue 11): transient ConnectWise failures are retried per record inside
the run and by later attempts; every selected record ends with exactly one outcome; what waits says why
on the run's pages while it waits; Retry re-runs failed and not attempted records. Against the sandbox
over HTTP, on real PostgreSQL and Redis."""

from __future__ import annotations

from collections import Counter

import pytest
from customer_support import companies, items, make_customer, run
from rq.registry import ScheduledJobRegistry

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs import history, recovery
from helpers import csrf_from, runtime, tune_runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def customers(n: int) -> list[int]:
    return [make_customer(contacts=[], name=f"Convergent {i}", account_number=f"CONV{i:02d}").id for i in range(n)]


def fresh(run_id: int) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def outcomes(run_: SyncRun) -> Counter:
    """How many outcomes each selected customer has (must be exactly one)."""
    return Counter(i.host_id for i in items(run_, "customer"))


def test_records_failing_transiently_are_tried_again_in_the_run_and_each_ends_with_one_outcome(
        sync_ready, monkeypatch, app):
    tune_runtime(monkeypatch, app, record_retry_intervals=(0,), unreachable_after=5)
    ids = customers(5)
    # Two company creates answered 503 (a POST that got an answer is not repeated by the client).
    sync_ready.add_fault(status=503, method="POST", path="company/companies$", count=2)
    done = run("customer_export", {"all": True})
    assert done.status == "succeeded", done.message
    assert done.done == done.total == 5
    assert outcomes(done) == Counter(dict.fromkeys(ids, 1))  # no "failed" then "created" for one record
    assert [i.action for i in items(done, "customer")] == ["created"] * 5
    assert sorted(c["identifier"] for c in companies(sync_ready)) == [f"CONV{i:02d}" for i in range(5)]


def test_what_still_fails_waits_with_its_reason_then_ends_not_attempted_and_retry_reruns_it(
        sync_ready, monkeypatch, app, redis_conn, drain_queue, admin_client):
    tune_runtime(monkeypatch, app, record_retry_intervals=(0,), retry_intervals=(60,), unreachable_after=0)
    ids = customers(3)
    sync_ready.add_fault(status=503, method="POST", path="company/companies$")
    submitted = runtime().submit(db.session, "customer_export", {"all": True}, actor=ADMIN)
    assert drain_queue() == 1

    waiting = fresh(submitted.run.id)
    assert waiting.status == "waiting" and waiting.attempts == 1
    assert waiting.done == 0 and waiting.total == 3
    assert "3 customers waiting for ConnectWise (HTTP 503" in waiting.wait_text
    assert "next try at" in waiting.wait_text and "left as not attempted" in waiting.wait_text
    assert waiting.rq_job_id in ScheduledJobRegistry(queue=runtime().queue.rq).get_job_ids()  # RQ holds the next try
    assert items(waiting) == []  # waiting is not an outcome
    # Shown where a person looks while it waits: the run page, its progress bar and the history list.
    page = admin_client.get(f"/admin/integration/connectwise/jobs/runs/{waiting.id}").get_data(as_text=True)
    assert "3 customers waiting for ConnectWise" in page
    progress = admin_client.get(f"/colcw/runs/{waiting.id}/progress").get_data(as_text=True)
    assert "3 customers waiting for ConnectWise" in progress and "next try at" in progress
    listing = admin_client.get("/admin/integration/connectwise/jobs?tab=history").get_data(as_text=True)
    assert "3 customers waiting for ConnectWise" in listing
    assert admin_client.get(f"/colcw/runs/{waiting.id}/status.json").get_json()["waiting"] == waiting.wait_text

    # The next try is due (the worker's RQ scheduler moves it; here the housekeeping does): still failing,
    # and the attempts are spent, so the records end "not attempted", with why.
    assert runtime().queue.release_overdue(grace_seconds=-3600) == 1
    assert drain_queue() == 1
    ended = fresh(submitted.run.id)
    assert ended.status == "failed" and ended.attempts == 2
    assert ended.done == ended.total == 3  # every record has its outcome
    left = items(ended, "customer")
    assert [i.action for i in left] == ["not_attempted"] * 3 and outcomes(ended) == Counter(dict.fromkeys(ids, 1))
    assert all("stopped after repeated transient failures" in i.message and "HTTP 503" in i.message for i in left)
    assert "Convergent 0 (CONV00)" in left[0].label
    assert ended.wait_text == ""
    assert history.retry_label(db.session, runtime().kinds, ended) == "Retry the 3 not attempted customers"

    # Retry from the run's page re-runs them once ConnectWise answers again.
    sync_ready.clear_faults()
    page = admin_client.get(f"/admin/integration/connectwise/jobs/runs/{ended.id}").get_data(as_text=True)
    assert "Retry the 3 not attempted customers" in page
    resp = admin_client.post(f"/admin/integration/connectwise/jobs/runs/{ended.id}/retry", data={"csrf_token": csrf_from(page)})
    assert resp.status_code == 302
    retry = db.session.query(SyncRun).filter(SyncRun.retry_of_id == ended.id).one()
    assert retry.params == {"customer_ids": sorted(ids)}
    drain_queue()
    assert fresh(retry.id).status == "succeeded" and fresh(retry.id).done == 3
    assert len(companies(sync_ready)) == 3


def test_a_run_that_cannot_reach_connectwise_waits_as_a_whole_and_resumes_where_it_stopped(
        sync_ready, monkeypatch, app, redis_conn, drain_queue):
    # One customer at a time: "two creates in a row" is then the order they are sent (side by side, the fault
    # could fall on the first and third create, with a success between them).
    tune_runtime(monkeypatch, app, record_retry_intervals=(5,), retry_intervals=(0, 60), unreachable_after=2,
                 concurrency=1)
    customers(4)
    fault = sync_ready.add_fault(status=503, method="POST", path="company/companies$", count=2)
    submitted = runtime().submit(db.session, "customer_export", {"all": True}, actor=ADMIN)
    # Two creates in a row fail: no record-by-record retry (no 5 s pass), the run waits as a whole; the next
    # attempt (0 s later) finds ConnectWise answering and finishes, skipping nothing twice.
    assert drain_queue() == 2
    done = fresh(submitted.run.id)
    assert done.status == "succeeded", done.message
    assert done.attempts == 2 and done.done == done.total == 4
    assert [i.action for i in items(done, "customer")] == ["created"] * 4
    assert len(companies(sync_ready)) == 4
    assert fault["id"]


def test_the_whole_run_waiting_says_connectwise_keeps_failing(sync_ready, monkeypatch, app, redis_conn,
                                                                    drain_queue, admin_client):
    tune_runtime(monkeypatch, app, record_retry_intervals=(), retry_intervals=(120,), unreachable_after=2)
    customers(3)
    sync_ready.add_fault(status=503, method="POST", path="company/companies$")
    submitted = runtime().submit(db.session, "customer_export", {"all": True}, actor=ADMIN)
    drain_queue()
    waiting = fresh(submitted.run.id)
    assert waiting.status == "waiting"
    assert waiting.wait_text.startswith("ConnectWise keeps failing (HTTP 503")
    assert "the run waits as a whole" in waiting.wait_text
    page = admin_client.get(f"/admin/integration/connectwise/jobs/runs/{waiting.id}").get_data(as_text=True)
    assert "ConnectWise keeps failing" in page and "Cancel run" in page

    # Cancelled while it waits: what it did not reach ends "not attempted", and Retry offers it.
    cancelled = recovery.cancel(db.session, runtime().queue, waiting.id, actor=ADMIN)
    assert cancelled.status == "cancelled" and cancelled.done == cancelled.total == 3
    assert {i.action for i in items(cancelled, "customer")} == {"not_attempted"}
    assert all("cancelled by admin@demo.example" in i.message for i in items(cancelled, "customer"))
    assert history.retry_label(db.session, runtime().kinds, cancelled) == "Retry the 3 not attempted customers"


def test_progress_counts_records_not_attempts_when_a_run_is_resumed(sync_ready, monkeypatch, app):
    ids = customers(4)
    first = run("customer_export", {"customer_ids": ids})
    assert first.done == first.total == 4
    # Resumed after it had finished (a stray resume, a worker that died after its last record): every record
    # is skipped, none counted twice.
    db.session.execute(SyncRun.__table__.update().where(SyncRun.id == first.id).values(status="interrupted"))
    db.session.commit()
    again = runtime().execute(db.session, first.id)
    assert again.done == again.total == 4
    assert outcomes(again) == Counter(dict.fromkeys(ids, 1))
