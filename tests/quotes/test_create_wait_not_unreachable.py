"""A document waiting for an opportunity an earlier attempt asked ConnectWise to create (quotes/intents.py,
``COLCW_CREATE_SETTLE_SECONDS``) is held back by colcw itself: ConnectWise answered every request. Such waits do not
count toward ``COLCW_UNREACHABLE_AFTER`` (three of them in a row made the whole run wait "ConnectWise cannot be
reached", and the documents after them waited for nothing), and a run that stops waiting for one says colcw held it
back, not "ConnectWise answered: an earlier attempt asked ConnectWise to create…"; a queued run whose attempts are
spent waits for it until it is taken for lost. Against the sandbox over HTTP."""

from __future__ import annotations

import datetime as dt

from quote_support import line
from sqlalchemy import select

from colcw_plugin.models import RunStatus, SyncItem
from colcw_plugin.sync.jobs.runs import create_run
from colcw_plugin.sync.quotes import intents
from colcw_plugin.text import COLCW_HELD_BACK
from helpers import runtime, tune_runtime
from host_stub.extensions import db


def _posts(world) -> list[dict]:
    return [r for r in world.sandbox.requests() if r["method"] == "POST" and r["path"].endswith("sales/opportunities")]


def test_documents_waiting_for_an_earlier_create_do_not_make_connectwise_unreachable(world, app, monkeypatch):
    # Three documents in a row wait for an earlier create (far from taken for lost); ConnectWise is taken as
    # unreachable after three records in a row fail.
    tune_runtime(monkeypatch, app, create_settle_seconds=600, record_retry_intervals=(), retry_intervals=(60,),
                 unreachable_after=3, concurrency=1)
    waiting = []
    for i in range(3):  # an earlier attempt claimed each one's create and never said how its POST ended
        doc = world.quote([line("OPT-7010")], name=f"Claimed deal {i}")
        intents.claim(db.session, doc.id, world.company_id, f"Claimed deal {i}")
        waiting.append(doc)
    free = world.quote([line("OPT-7010")], name="Free deal")
    run = create_run(db.session, runtime().kinds, "quote_export",
                     {"document_ids": [*(d.id for d in waiting), free.id]})
    db.session.commit()
    run = runtime().execute(db.session, run.id, queued=True)  # one attempt
    # The document after them was exported in this attempt: ConnectWise answered, nothing made the run wait as a whole.
    assert [o["name"] for o in world.opportunities()] == ["Free deal"], run.waiting_reason
    assert len(_posts(world)) == 1
    assert run.status == RunStatus.WAITING, run.message
    assert "cannot be reached" not in run.waiting_reason and "as a whole" not in run.waiting_reason, \
        run.waiting_reason
    assert run.waiting_reason.startswith("3 quotes / orders waiting"), run.waiting_reason


def test_a_run_that_stops_waiting_for_an_earlier_create_says_colcw_held_it_back(world, app, monkeypatch):
    tune_runtime(monkeypatch, app, create_settle_seconds=600, record_retry_intervals=(1,), concurrency=1)
    waiting = world.quote([line("OPT-7010")], name="Claimed deal")
    intents.claim(db.session, waiting.id, world.company_id, "Claimed deal")
    free = world.quote([line("OPT-7010")], name="Free deal")
    run = world.export({"document_ids": [waiting.id, free.id]})  # in the foreground: no later attempt
    assert run.status == RunStatus.PARTIAL, run.message
    assert "; ConnectWise answered:" not in run.message, run.message
    assert run.message.startswith(
        "1 quote / order not done: ConnectWise may still be creating the opportunity an earlier attempt asked for; "
        f"{COLCW_HELD_BACK}: an earlier attempt asked ConnectWise to create its opportunity \"Claimed deal\""), \
        run.message
    [left] = db.session.execute(select(SyncItem).where(SyncItem.run_id == run.id,
                                                       SyncItem.host_id == waiting.id)).scalars().all()
    assert "once ConnectWise answers again" not in (left.resolution or ""), left.resolution
    assert [o["name"] for o in world.opportunities()] == ["Free deal"]


def test_a_queued_run_whose_attempts_are_spent_waits_for_the_earlier_create_to_settle_not_giving_it_up(
        world, app, monkeypatch):
    # Its attempts spent long before the earlier create is taken for lost (600 s after it was claimed): the run waits
    # once more, until then, rather than leaving the document "not done" for a person to retry (the attempt then
    # creates it: tests/quotes/test_opportunity_create_intent.py).
    tune_runtime(monkeypatch, app, create_settle_seconds=600, record_retry_intervals=(), retry_intervals=(0,),
                 concurrency=1)
    waiting = world.quote([line("OPT-7010")], name="Claimed deal")
    claimed = intents.claim(db.session, waiting.id, world.company_id, "Claimed deal")
    free = world.quote([line("OPT-7010")], name="Free deal")
    run = create_run(db.session, runtime().kinds, "quote_export", {"document_ids": [waiting.id, free.id]})
    db.session.commit()
    first = runtime().execute(db.session, run.id, queued=True)
    assert first.status == RunStatus.WAITING, first.message
    last = runtime().execute(db.session, run.id, queued=True)  # its attempts spent
    assert last.status == RunStatus.WAITING, last.message
    settles = claimed.sent + dt.timedelta(seconds=600)
    assert settles <= last.next_try_at <= settles + dt.timedelta(seconds=2), (last.next_try_at, claimed.sent)
    assert "cannot be reached" not in last.waiting_reason and "as a whole" not in last.waiting_reason, \
        last.waiting_reason
    assert last.waiting_reason.startswith("1 quote / order waiting"), last.waiting_reason
    assert [o["name"] for o in world.opportunities()] == ["Free deal"]
