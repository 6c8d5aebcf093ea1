"""A document exported on a thread of its own whose database connection PostgreSQL refuses ("sorry, too many clients
already") waits for its run's next pass and is exported then, once: it is not failed as an unexpected error asking a
person to report it (colcw_plugin/sync/jobs/database.py); one whose connection drops after ConnectWise created its
opportunity is not created twice. The refusal is made at the driver's connect, the drop at a statement, for the export
threads' connections only; everything else is real (PostgreSQL, the sandbox over HTTP)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import psycopg
from quote_support import line
from sqlalchemy import event, select

from colcw_plugin.models import SyncItem
from colcw_plugin.sync.jobs.runs import create_run
from helpers import ConnectionDropped, runtime, tune_runtime
from host_stub.extensions import db

REFUSAL = ('connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  sorry, too many clients '
           'already')


def _posts(world) -> list[dict]:
    return [r for r in world.sandbox.requests() if r["method"] == "POST" and r["path"].endswith("sales/opportunities")]


def test_documents_whose_connection_the_database_refuses_wait_for_the_next_pass_and_are_exported_once(
        world, app, monkeypatch):
    tune_runtime(monkeypatch, app, concurrency=3, record_retry_intervals=(0.2,))
    ids = [world.quote([line("OPT-7010")], name=f"Refused deal {i}").id for i in range(3)]
    refused: list[str] = []
    lock = threading.Lock()

    def refuse(dialect, record, cargs, cparams):
        with lock:
            if threading.current_thread().name.startswith("colcw-export") and len(refused) < 2:
                refused.append(threading.current_thread().name)
                raise psycopg.OperationalError(REFUSAL)

    engine = db.engine
    event.listen(engine, "do_connect", refuse)
    try:
        db.session.remove()
        engine.dispose()  # the pool's connections closed: each document's thread opens one of its own
        run = world.export({"document_ids": ids})
    finally:
        event.remove(engine, "do_connect", refuse)

    assert len(refused) == 2, refused
    assert run.status == "succeeded", run.message
    assert sorted(o["name"] for o in world.opportunities()) == [f"Refused deal {i}" for i in range(3)]
    assert len(_posts(world)) == 3  # each document's opportunity created once
    items = db.session.execute(select(SyncItem.host_id, SyncItem.action, SyncItem.message)
                               .where(SyncItem.run_id == run.id, SyncItem.entity == "document")).all()
    assert sorted((host_id, action) for host_id, action, _ in items) == [(i, "created") for i in ids], items


def test_documents_the_database_keeps_refusing_end_not_done_saying_so(world, app, monkeypatch):
    tune_runtime(monkeypatch, app, concurrency=2, record_retry_intervals=(0.1,))
    ids = [world.quote([line("OPT-7010")], name=f"Always refused {i}").id for i in range(2)]

    def refuse(dialect, record, cargs, cparams):
        if threading.current_thread().name.startswith("colcw-export"):
            raise psycopg.OperationalError(REFUSAL)

    engine = db.engine
    event.listen(engine, "do_connect", refuse)
    try:
        db.session.remove()
        engine.dispose()
        run = world.export({"document_ids": ids})
    finally:
        event.remove(engine, "do_connect", refuse)

    assert world.opportunities() == [] and _posts(world) == []
    assert (run.status, run.message) == ("failed", "2 quotes / orders not done: colcw's database did not take a "
                                        "connection; colcw held it back (ConnectWise answered every request): "
                                        f"{REFUSAL} (quotes / orders: 2 not attempted)")
    assert "Unexpected error" not in run.message and "Report this" not in run.message
    items = db.session.execute(select(SyncItem.host_id, SyncItem.action, SyncItem.message)
                               .where(SyncItem.run_id == run.id, SyncItem.entity == "document")).all()
    assert sorted((host_id, action) for host_id, action, _ in items) == [(i, "not_attempted") for i in ids], items


def test_a_connection_dropped_after_the_opportunity_was_created_leaves_one_opportunity(world, app, monkeypatch):
    """The connection goes as colcw saves the export of a document whose opportunity ConnectWise has just created (its
    id not recorded yet): the next pass finds that opportunity by its create intent and does not create a second."""
    tune_runtime(monkeypatch, app, concurrency=2, record_retry_intervals=(0.2,))
    ids = [world.quote([line("OPT-7010")], name=f"Dropped deal {i}").id for i in range(2)]
    dropped: list[str] = []
    lock = threading.Lock()

    def drop(conn, cursor, statement, parameters, context, executemany):
        if not threading.current_thread().name.startswith("colcw-export"):
            return
        with lock:  # (both documents' threads: one drop)
            # The statement saving the export with its opportunity's id, in the thread whose POST created it.
            if not dropped and "INSERT INTO colcw_document_exports" in statement and _posts(world):
                dropped.append(statement)
                raise psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly")

    engine = db.engine
    event.listen(engine, "before_cursor_execute", drop)
    try:
        run = world.export({"document_ids": ids})
    finally:
        event.remove(engine, "before_cursor_execute", drop)

    assert len(dropped) == 1, dropped
    assert run.status == "succeeded", run.message
    opportunities = world.opportunities()
    assert sorted(o["name"] for o in opportunities) == ["Dropped deal 0", "Dropped deal 1"]
    assert len(_posts(world)) == 2  # none created twice
    for opp in opportunities:
        assert [p["catalogItem"]["identifier"] for p in world.products(opp["id"])] == ["OPT-7010"]


def _next_attempt(run):
    """The run's next attempt, when the queue would start it."""
    time.sleep(max(0.0, run.next_try_at.replace(tzinfo=dt.UTC).timestamp() - time.time()))
    return runtime().execute(db.session, run.id, queued=True)


def test_a_document_exported_alone_whose_connection_drops_waits_for_the_runs_next_attempt(world, app, monkeypatch):
    """Not on a thread of its own (one document, or ``COLCW_CONCURRENCY=1``): the run's own connection drops as colcw
    saves the export of the document whose opportunity ConnectWise has just created. The run waits as a whole for its
    next attempt, saying why, which finds that opportunity by its create intent: one opportunity, one line, no
    "Unexpected error" for a person to report."""
    tune_runtime(monkeypatch, app, concurrency=1, retry_intervals=(1,))
    doc = world.quote([line("OPT-7010")], name="Alone deal")
    run = create_run(db.session, runtime().kinds, "quote_export", {"document_id": doc.id})
    db.session.commit()

    with ConnectionDropped(db.engine, lambda s: "INSERT INTO colcw_document_exports" in s and _posts(world)) as drop:
        first = runtime().execute(db.session, run.id, queued=True)
    assert len(drop.dropped) == 1
    assert first.status == "waiting", first.message
    assert first.waiting_reason.startswith("colcw's database did not take a connection ("), first.waiting_reason
    assert first.waiting_reason.endswith("): the run waits as a whole"), first.waiting_reason
    assert "Unexpected error" not in (first.message or "")

    second = _next_attempt(first)
    assert second.status == "succeeded", second.message
    (opp,) = world.opportunities()
    assert opp["name"] == "Alone deal" and len(_posts(world)) == 1
    assert [p["catalogItem"]["identifier"] for p in world.products(opp["id"])] == ["OPT-7010"]


def test_a_document_exported_in_the_foreground_whose_connection_drops_is_not_done_saying_why(world, app,
                                                                                             monkeypatch):
    """In the foreground (the command line: no later attempt) the run ends with the document "not done", saying colcw's
    database did not take a connection, not as an unexpected error."""
    tune_runtime(monkeypatch, app, concurrency=1)
    doc = world.quote([line("OPT-7010")], name="Foreground deal")

    with ConnectionDropped(db.engine, lambda s: "INSERT INTO colcw_create_intents" in s) as drop:
        run = world.export(doc.id)
    assert len(drop.dropped) == 1
    assert (run.status, run.message) == ("failed", "1 quote / order not done: colcw's database did not take a "
                                        "connection; colcw held it back (ConnectWise answered every request): "
                                        "terminating connection due to administrator command (quotes / orders: 1 not "
                                        "attempted)")
    assert world.opportunities() == [] and _posts(world) == []  # dropped before the opportunity's create was sent
    (item,) = db.session.execute(select(SyncItem.action, SyncItem.resolution).where(SyncItem.run_id == run.id)).all()
    assert tuple(item) == ("not_attempted", "Try again in a few minutes.")
