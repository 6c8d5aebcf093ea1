"""Sales orders export Won; converting an exported quote sets Won (unless another quote still feeds it)."""

from __future__ import annotations

from quote_support import items, line
from sqlalchemy import select

from colcw_plugin import models as links
from colcw_plugin.models import SyncItem, SyncRun
from colcw_plugin.sync.jobs import recovery
from helpers import redis_down, runtime
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Document


def _conversion_runs() -> list[SyncRun]:
    return list(db.session.execute(select(SyncRun).where(SyncRun.trigger == "event").order_by(SyncRun.id)).scalars())


def test_sales_order_exports_as_a_won_opportunity(world):
    order = world.quote([line("OPT-7010")], name="Direct order", doc_type="order")
    run = world.export(order.id)
    assert run.status == "succeeded", run.message
    [opp] = world.opportunities()
    status = world.status_of(opp["id"])
    assert status["wonFlag"] and status["closedFlag"]


def test_converting_an_exported_quote_sets_its_opportunity_won(world, drain_queue):
    quote = world.quote([line("OPT-7010", qty=2), line("LAT-5440")], name="Convert me")
    world.export(quote.id)
    [opp] = world.opportunities()
    assert not world.status_of(opp["id"])["closedFlag"]
    order = services.convert_quote(quote.id)
    assert drain_queue() >= 1
    assert world.status_of(opp["id"])["wonFlag"]
    products = world.products(opp["id"])
    assert sorted(p["catalogItem"]["identifier"] for p in products) == ["LAT-5440", "OPT-7010"]  # adopted, not copied
    assert all(p["integrationXRef"].startswith(f"colcw:{order.id}:") for p in products)
    db.session.expire_all()
    assert db.session.get(Document, order.id).locked
    assert links.get_link(db.session, "document", order.id).cw_id == opp["id"]


def test_multi_quote_opportunity_stays_open_on_conversion_until_the_last_quote(world, drain_queue):
    first = world.quote([line("OPT-7010")], name="Big deal")
    second = world.quote([line("LAT-5440")], name="Big deal")
    world.export(first.id)
    world.export(second.id)
    [opp] = world.opportunities()
    services.convert_quote(first.id)
    drain_queue()
    assert not world.status_of(opp["id"])["closedFlag"]
    [run] = _conversion_runs()
    [item] = items(run)
    assert item.action == "updated"
    assert f"stays open: quote {second.number} also feeds it" in item.message
    services.convert_quote(second.id)
    drain_queue()
    assert world.status_of(opp["id"])["wonFlag"]
    assert sorted(p["catalogItem"]["identifier"] for p in world.products(opp["id"])) == ["LAT-5440", "OPT-7010"]


def test_converting_a_quote_that_was_never_exported_sends_nothing(world, drain_queue):
    quote = world.quote([line("OPT-7010")])
    services.convert_quote(quote.id)
    assert drain_queue() == 0
    assert world.opportunities() == [] and _conversion_runs() == []


def test_a_converted_quote_is_skipped_and_points_to_its_order(world, drain_queue):
    quote = world.quote([line("OPT-7010")])
    world.export(quote.id)
    order = services.convert_quote(quote.id)
    drain_queue()
    run = world.export(quote.id)
    [item] = items(run)
    assert item.action == "skipped" and order.number in item.resolution
    assert db.session.execute(select(SyncItem).where(SyncItem.run_id == run.id, SyncItem.action == "failed")).first() is None


def test_conversion_while_redis_is_down_records_the_run_and_the_scheduler_queues_it_later(world, app, drain_queue,
                                                                                        monkeypatch):

    quote = world.quote([line("OPT-7010")], name="Won despite Redis")
    world.export(quote.id)
    [opp] = world.opportunities()
    redis_back = redis_down(monkeypatch)
    order = services.convert_quote(quote.id)
    db.session.expire_all()
    [run] = _conversion_runs()
    assert run.status == "queued" and run.params == {"document_id": order.id}
    assert "Redis" in run.message
    redis_back()
    assert recovery.requeue_lost(db.session, runtime().queue, older_than_seconds=0) == [run.id]
    assert drain_queue() == 1
    assert world.status_of(opp["id"])["wonFlag"]
    db.session.expire_all()
    assert db.session.get(SyncRun, run.id).status == "succeeded"


def test_open_and_won_are_found_by_status_flags_not_by_names(world, connected, drain_queue):
    by_name = {s["name"]: s for s in world.api("sales/opportunities/statuses")}
    for old, new in (("Won", "Closed - Gagné"), ("Open", "Nouveau")):
        resp = connected.api("PATCH", f"sales/opportunities/statuses/{by_name[old]['id']}",
                             json=[{"op": "replace", "path": "name", "value": new}])
        assert resp.status_code == 200, resp.text
    for trap in ({"name": "Won", "wonFlag": False, "closedFlag": False},  # named like it, flagged otherwise
                 {"name": "Open", "wonFlag": False, "closedFlag": True, "lostFlag": True}):
        resp = connected.api("POST", "sales/opportunities/statuses", json={**trap, "inactiveFlag": False})
        assert resp.status_code == 201, resp.text
    quote = world.quote([line("OPT-7010")], name="Flags")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    assert world.status_of(opp["id"])["name"] == "Nouveau"
    services.convert_quote(quote.id)
    drain_queue()
    assert world.status_of(opp["id"])["name"] == "Closed - Gagné"
    order = world.quote([line("LAT-5440")], name="Direct flags", doc_type="order")
    assert world.export(order.id).status == "succeeded"
    direct = next(o for o in world.opportunities() if o["name"] == "Direct flags")
    assert world.status_of(direct["id"])["name"] == "Closed - Gagné"


def test_a_converted_quote_edited_afterwards_is_not_listed_as_changed_since_export(world, drain_queue):
    """Its order carries its lines to ConnectWise and the quote is not exported again: an edit of the quote (the host
    lets one be unlocked and edited) is no change for ConnectWise, in the Quotes list as on its panel."""
    from colcw_plugin.models import RecordState
    from colcw_plugin.sync.quotes.list_status import row_states, state_filter

    quote = world.quote([line("OPT-7010")], name="Converted, then edited")
    world.export(quote.id)
    services.convert_quote(quote.id)
    drain_queue()
    db.session.expire_all()
    world.edit(db.session.get(Document, quote.id), [line("OPT-7010", qty=5)])

    db.session.expire_all()
    assert row_states(db.session, [quote.id])[quote.id].state == RecordState.SYNCED
    changed = db.session.execute(select(Document.id).where(state_filter("changed"))).scalars().all()
    assert quote.id not in changed
