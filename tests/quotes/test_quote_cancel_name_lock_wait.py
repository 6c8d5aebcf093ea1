"""A quote export whose linked opportunity is gone from ConnectWise goes by its opportunity name, under that name's
lock; while another export holds the lock, an admin's cancel ends the run within seconds (not after the lock's two
minutes, as "busy"): the document is not reached, and no opportunity is created."""

from __future__ import annotations

import pytest
from lock_support import held_elsewhere
from quote_support import cancel_and_wait_for_end, fresh, items, line, wait_until

from colcw_plugin.sync.quotes.locks import name_lock
from helpers import runtime, tune_runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}




@pytest.mark.parametrize("concurrency", [1, 4])
def test_an_export_waiting_for_the_name_of_a_gone_opportunity_is_cancelled_within_seconds(
        world, connected, app, monkeypatch, redis_conn, worker_thread, concurrency):
    tune_runtime(monkeypatch, app, concurrency=concurrency)
    gone_doc = world.quote([line("LAT-5440")], name="Gone deal")
    assert world.export(gone_doc.id).status == "succeeded"
    [opp] = world.opportunities()
    assert world.sandbox.api("DELETE", f"sales/opportunities/{opp['id']}").status_code == 204
    free = world.quote([line("OPT-7010")], name="Goes first")
    engine, company_id = db.engine, world.company_id
    # another process creating "Gone deal" for the company holds the name's lock
    release, holder = held_elsewhere(lambda: name_lock(engine, company_id, "Gone deal"))
    try:
        run_id = runtime().submit(db.session, "quote_export", {"document_ids": [free.id, gone_doc.id]},
                                  actor=ADMIN).run.id
        wait_until(lambda: "Waiting for another export creating the opportunity \"Gone deal\"" in
                   fresh(run_id).waiting_reason, timeout=30, message="the run to wait for the name's lock")
        done = cancel_and_wait_for_end(run_id, ADMIN)
    finally:
        release.set()
        holder.join(10)
    assert done.status == "cancelled", (done.status, done.message)
    outcomes = {i.host_id: i for i in items(done)}
    assert outcomes[free.id].action == "created"
    assert outcomes[gone_doc.id].action == "not_attempted", outcomes[gone_doc.id].message
    assert "the run was cancelled by admin@demo.example" in outcomes[gone_doc.id].message
    assert done.waiting_reason == ""
    # Only the free document's opportunity: nothing was created for the one that waited.
    assert [o["name"] for o in world.opportunities()] == ["Goes first"]
    # Exported again later, it goes by its name as before: a new "Gone deal" with its line.
    again = world.export(gone_doc.id)
    assert again.status == "succeeded", again.message
    recreated = next(o for o in world.opportunities() if o["name"] == "Gone deal")
    assert [p["catalogItem"]["identifier"] for p in world.products(recreated["id"])] == ["LAT-5440"]
