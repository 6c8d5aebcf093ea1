"""A quote export waiting for another export of a document (its lock, held elsewhere) is cancelled within seconds,
not after the lock's two minutes: it ends cancelled — the document it waited for not reached, not failed "busy" —
with one worker or several side by side."""

from __future__ import annotations

import pytest
from lock_support import held_elsewhere
from quote_support import cancel_and_wait_for_end, fresh, items, line, wait_until

from colcw_plugin.sync.quotes.locks import document_lock
from helpers import runtime, tune_runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}




@pytest.mark.parametrize("concurrency", [1, 4])
def test_an_export_waiting_for_a_held_document_is_cancelled_within_seconds(world, connected, app, monkeypatch,
                                                                           redis_conn, worker_thread, concurrency):
    tune_runtime(monkeypatch, app, concurrency=concurrency)
    free = world.quote([line("OPT-7010")], name="Goes first")
    held_doc = world.quote([line("LAT-5440")], name="Held elsewhere")
    engine, held_id = db.engine, held_doc.id
    # another process exporting the document holds its lock
    release, holder = held_elsewhere(lambda: document_lock(engine, held_id))
    try:
        run_id = runtime().submit(db.session, "quote_export", {"document_ids": [free.id, held_id]}, actor=ADMIN).run.id
        # (Its progress is written with its next record: the free document's outcome may not show yet.)
        wait_until(lambda: "Waiting for another export of" in fresh(run_id).waiting_reason, timeout=30,
                   message="the run to wait for the held document")
        done = cancel_and_wait_for_end(run_id, ADMIN)
    finally:
        release.set()
        holder.join(10)
    assert done.status == "cancelled", (done.status, done.message)
    assert done.message == "Cancelled by admin@demo.example while running (1 of 2 quotes / orders done; 1 not done).", \
        done.message
    outcomes = {i.host_id: i for i in items(done)}
    assert outcomes[free.id].action == "created"
    assert outcomes[held_id].action == "not_attempted", outcomes[held_id].message
    assert "the run was cancelled by admin@demo.example" in outcomes[held_id].message
    assert "still running" not in outcomes[held_id].message  # not failed as busy
    assert done.waiting_reason == ""
    assert len(world.opportunities()) == 1  # the held document's export wrote nothing
