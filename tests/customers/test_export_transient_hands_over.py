"""A rep's Export to ConnectWise that ConnectWise answers with server errors hands over to the background run, as a
slow answer does: the click answers within a couple of seconds, saying ConnectWise is failing and that colcw tries
again by itself, and the run goes on with its normal back-off (its passes; a run left waiting gets its next attempt
queued in RQ). It held the click 7 s, then said "not attempted … Try again in a few minutes" for the rep to click
again."""

from __future__ import annotations

import dataclasses
import re
import time
from html import unescape

from customer_support import companies, make_customer
from htmx_loads import loaded
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from colcw_plugin.models import SyncRun
from colcw_plugin.views import customers as customer_views
from helpers import csrf_from, runtime
from host_stub.extensions import db


def _export(rep_client, customer_id: int):
    token = csrf_from(rep_client.get("/customers/").get_data(as_text=True))
    started = time.monotonic()
    resp = rep_client.post(f"/colcw/customers/{customer_id}/export", data={"csrf_token": token})
    return resp, time.monotonic() - started


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _run() -> SyncRun:
    db.session.expire_all()
    (run,) = db.session.execute(select(SyncRun).where(SyncRun.kind == "customer_export")).scalars()
    return run


def _until(check, seconds: float = 40):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("not in time")


def test_server_errors_hand_the_export_over_and_it_finishes_by_itself(sync_ready, rep_client, monkeypatch,
                                                                      drain_queue):
    monkeypatch.setattr(customer_views, "EXPORT_WAIT_SECONDS", 10.0, raising=False)
    rt = runtime()
    # The client's own back-off (0.5 s doubling, not the tests' 50 ms): the page is read while it pauses, 1-6 s.
    monkeypatch.setattr(rt, "config", dataclasses.replace(
        rt.config, cw_backoff_seconds=0.5, queue=dataclasses.replace(rt.config.queue, retry_intervals=(1.0, 1.0))))
    customer = make_customer()
    # ConnectWise fails its companies for every one of the client's five tries, then answers again.
    sync_ready.add_fault(status=503, path="company/companies", count=5)
    resp, took = _export(rep_client, customer.id)
    assert resp.status_code == 302 and took < 4.0, took  # (the retries held it 7 s)
    page = _text(loaded(rep_client, f"/customers/{customer.id}"))
    said = re.search(r"Acme Corp is still being exported to ConnectWise \(waiting to retry at \d\d:\d\d:\d\d [A-Z]+: "
                     r"ConnectWise answered HTTP 503\); ConnectWise is failing or busy, so colcw tries again by itself "
                     r"\(nothing to click\) and its result shows on this page once it has finished", page)
    assert said is not None, page
    assert "not attempted" not in page and "Try again in a few minutes" not in page

    # The attempt under way ends waiting for its next one, which RQ holds for its next try: no click needed.
    _until(lambda: _run().status == "waiting" and bool(_run().rq_job_id))
    run = _run()
    assert run.rq_job_id and run.next_try_at is not None, (run.status, run.message)
    assert any(run.rq_job_id in ScheduledJobRegistry(queue=q).get_job_ids() for q in rt.queue.queues)
    page = _text(loaded(rep_client, f"/customers/{customer.id}"))
    assert re.search(r"An export to ConnectWise is under way \(waiting to retry at \d\d:\d\d:\d\d [A-Z]+: ", page), page
    assert "not attempted" not in page

    # Its try due, a worker runs it (RQ's scheduler moves it to the queue; here the colcw scheduler's release).
    time.sleep(1.5)
    assert rt.queue.release_overdue(grace_seconds=0) == 1
    drain_queue()
    assert _run().status == "succeeded", _run().message
    assert [c["identifier"] for c in companies(sync_ready)] == ["ACME1"]
    assert "Acme Corp (ACME1): created in ConnectWise" in loaded(rep_client, f"/customers/{customer.id}")
