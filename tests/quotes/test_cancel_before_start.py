"""A run an admin cancels while it is still queued does nothing, even when a foreground attempt (the command line,
a rep's page) picks it up at the same moment: the attempt's start is a compare-and-set against the cancel, as the
queue's claim is. The quote export writes its start with its total (one statement for two, issue 14), so the
cancel can also land between the two: that start finds the run cancelled too."""

from __future__ import annotations

import pytest
from quote_support import items, line
from sqlalchemy.orm import Session

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs import recovery
from colcw_plugin.sync.jobs.runs import create_run
from colcw_plugin.sync.quotes import job as quote_job
from helpers import runtime, tune_runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def _queued(doc_id: int) -> int:
    run = create_run(db.session, runtime().kinds, "quote_export", {"document_id": doc_id}, trigger="cli")
    db.session.commit()
    return run.id


def _business(requests: list[dict]) -> list[dict]:
    """Requests about the tenant's records (not the client's look-up of the tenant's codebase)."""
    return [r for r in requests if any(p in r["path"] for p in ("sales/", "procurement/", "company/"))]


def _cancel_elsewhere(run_id: int) -> None:
    """An admin's cancel, from another process's session."""
    with Session(bind=db.engine) as other:
        recovery.cancel(other, runtime().queue, run_id, actor=ADMIN)


def test_a_run_cancelled_before_its_attempt_starts_stays_cancelled_and_sends_nothing(world, connected, app,
                                                                                     monkeypatch):
    tune_runtime(monkeypatch, app, concurrency=1)
    doc = world.quote([line("OPT-7010")], name="Cancelled deal")
    run_id = _queued(doc.id)
    _cancel_elsewhere(run_id)
    said = [(i.action, i.message) for i in items(db.session.get(SyncRun, run_id))]
    connected.clear_requests()
    done = runtime().execute(db.session, run_id)
    assert done.status == "cancelled" and "Cancelled by admin@demo.example" in done.message, done.message
    assert done.attempts == 0 and done.started_at is None
    assert _business(connected.requests()) == [] and world.opportunities() == []
    assert [(i.action, i.message) for i in items(done)] == said  # what the cancel wrote, nothing of the attempt


def test_a_cancel_between_the_start_and_the_total_of_a_quote_export_wins(world, connected, app, monkeypatch):
    tune_runtime(monkeypatch, app, concurrency=1)
    doc = world.quote([line("OPT-7010")], name="Cancelled meanwhile")
    run_id = _queued(doc.id)
    selected = quote_job.select_documents

    def select_then_cancelled(session, params):
        ids = selected(session, params)
        _cancel_elsewhere(run_id)  # the admin's click lands while the attempt selects its documents
        return ids

    monkeypatch.setattr(quote_job, "select_documents", select_then_cancelled)
    connected.clear_requests()
    done = runtime().execute(db.session, run_id)
    assert done.status == "cancelled" and done.attempts == 0, (done.status, done.message)
    assert _business(connected.requests()) == [] and world.opportunities() == []
    db.session.expire_all()
    assert db.session.get(SyncRun, run_id).status == "cancelled"


def test_an_uncancelled_quote_export_writes_its_start_with_its_total(world, app, monkeypatch):
    tune_runtime(monkeypatch, app, concurrency=1)
    doc = world.quote([line("OPT-7010")], name="Started deal")
    done = runtime().execute(db.session, _queued(doc.id))
    assert (done.status, done.attempts, done.total, done.done) == ("succeeded", 1, 1, 1), done.message
    assert done.started_at is not None and done.selection["ids"] == [doc.id]
