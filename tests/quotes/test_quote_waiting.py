"""The rep's export page says why an export waits while it waits (issue 11): ConnectWise failing, or
another export of the same document holding it."""

from __future__ import annotations

import re
import threading

import pytest
from htmx_loads import loaded
from quote_support import fresh, items, line, wait_until

from colcw_plugin.models import RecordState
from colcw_plugin.sync.quotes.list_status import row_states
from colcw_plugin.sync.quotes.locks import document_lock
from helpers import runtime, tune_runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]

RILEY = {"id": None, "email": "riley@demo.example", "role": "rep"}




def _listed(client, number: str, state: str) -> bool:
    """Whether the Quotes list filtered by ConnectWise state ``state`` shows ``number``."""
    return f">{number}</a>" in client.get(f"/quotes/?cw={state}").get_data(as_text=True)


def test_an_export_waiting_for_connectwise_says_so_on_the_export_page_then_finishes_by_itself(
        world, connected, app, monkeypatch, redis_conn, drain_queue, rep_client):
    tune_runtime(monkeypatch, app, record_retry_intervals=(), retry_intervals=(0.5,))
    doc = world.quote([line("OPT-7010")], name="Patient")
    connected.add_fault(status=503, method="POST", path="sales/opportunities$", count=1)
    run = runtime().submit(db.session, "quote_export", {"document_id": doc.id}, actor=RILEY).run
    assert drain_queue() == 1  # one attempt; the next is due in half a second (RQ's scheduler moves it)
    waiting = fresh(run.id)
    assert waiting.status == "waiting" and waiting.done == 0 and items(waiting) == []
    part = rep_client.get(f"/colcw/documents/{doc.id}/export/run?run={run.id}").get_data(as_text=True)
    assert "Waiting to try again" in part
    assert "1 quote / order waiting for ConnectWise (HTTP 503" in part and "next try at" in part
    page = rep_client.get(f"/colcw/documents/{doc.id}/export?run={run.id}").get_data(as_text=True)
    assert "1 quote / order waiting for ConnectWise" in page
    # While its run waits, the document has not failed: not on its page, not in the Quotes list.
    assert "Last export failed" not in loaded(rep_client, f"/documents/{doc.id}")  # with its panel
    assert row_states(db.session, [doc.id])[doc.id].state == RecordState.NOT_LINKED
    assert not _listed(rep_client, doc.number, "failed") and _listed(rep_client, doc.number, "not_linked")

    wait_until(lambda: runtime().queue.release_overdue(grace_seconds=0), timeout=10, message="the next try")
    drain_queue()
    done = fresh(run.id)
    assert done.status == "succeeded" and done.attempts == 2 and done.done == done.total == 1
    assert [i.action for i in items(done)] == ["created"]
    assert len(world.opportunities()) == 1
    part = rep_client.get(f"/colcw/documents/{doc.id}/export/run?run={run.id}").get_data(as_text=True)
    assert "waiting for ConnectWise" not in part


def test_an_export_waiting_for_another_export_of_the_document_says_so(world, connected, app, redis_conn,
                                                                      worker_thread, rep_client):
    doc = world.quote([line("OPT-7010")], name="Busy")
    release = threading.Event()
    held = threading.Event()
    engine, doc_id, number = db.engine, doc.id, doc.number

    def other_export():  # another process exporting the same document holds its lock
        with document_lock(engine, doc_id):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=other_export, daemon=True)
    holder.start()
    assert held.wait(10)
    run = runtime().submit(db.session, "quote_export", {"document_id": doc_id}, actor=RILEY).run
    try:
        wait_until(lambda: "Waiting for another export of" in fresh(run.id).waiting_reason, timeout=20,
                   message="the run to say what it waits for")
        part = rep_client.get(f"/colcw/documents/{doc_id}/export/run?run={run.id}").get_data(as_text=True)
        assert f"Waiting for another export of {number} to finish" in part
    finally:
        release.set()
        holder.join(10)
    wait_until(lambda: fresh(run.id).status == "succeeded", timeout=30, message="the export to finish")
    assert fresh(run.id).waiting_reason == ""


def test_an_export_given_up_on_for_a_transient_failure_says_nothing_needs_fixing(
        world, connected, app, monkeypatch, redis_conn, drain_queue, rep_client):
    """ConnectWise answering 503 until the run gives up: the document's last export failed, and what to do is to
    export it again once ConnectWise answers, not to fix something ConnectWise never named."""
    tune_runtime(monkeypatch, app, record_retry_intervals=(), retry_intervals=())
    doc = world.quote([line("OPT-7010")], name="Unlucky")
    connected.add_fault(status=503, method="POST", path="sales/opportunities$")
    run = runtime().submit(db.session, "quote_export", {"document_id": doc.id}, actor=RILEY).run
    drain_queue()
    connected.clear_faults()
    assert fresh(run.id).status == "failed" and world.opportunities() == []
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", loaded(rep_client, f"/documents/{doc.id}")))
    assert "Last export failed:" in page and "HTTP 503" in page, page
    assert "Fix what ConnectWise named" not in page, page
    assert ("Nothing in it needs fixing: ConnectWise answered with a server error. Export it again once "
            "ConnectWise answers") in page, page


def test_an_export_cancelled_while_it_waited_says_it_was_cancelled_not_that_connectwise_failed(
        world, connected, app, monkeypatch, redis_conn, drain_queue, rep_client):
    from colcw_plugin.sync.jobs.recovery import cancel

    tune_runtime(monkeypatch, app, record_retry_intervals=(), retry_intervals=(600,))
    doc = world.quote([line("OPT-7010")], name="Cancelled while waiting")
    connected.add_fault(status=503, method="POST", path="sales/opportunities$")
    run = runtime().submit(db.session, "quote_export", {"document_id": doc.id}, actor=RILEY).run
    assert drain_queue() == 1
    assert fresh(run.id).status == "waiting"
    cancel(db.session, runtime().queue, run.id, actor={"email": "admin@demo.example", "role": "admin"})
    db.session.commit()
    assert fresh(run.id).status == "cancelled"

    panel = loaded(rep_client, f"/documents/{doc.id}")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", panel))
    assert "Last export failed" not in text
    assert (f"Last export cancelled: run #{run.id} was cancelled while it waited to try {doc.number} again (its "
            "last try failed: ") in text
    assert "HTTP 503" in text and "Nothing in it needs fixing: export it again." in text
