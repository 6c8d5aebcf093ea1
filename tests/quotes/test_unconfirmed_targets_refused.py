"""An export that nobody confirmed does not go where the document's checklist asks a person to confirm first: into a
closed, Won or Lost opportunity, or into a second opportunity named like one of the customer's but for upper and lower
case. A bulk export (ticked on a list, by date range, a schedule, a Retry) refused it before: it made a duplicate
opportunity, and added lines to a Won one. Export now passes the rep's confirmation to its run, which then goes ahead.
What ConnectWise holds is checked after each run."""

from __future__ import annotations

import pytest
from quote_support import items, line, make_opportunity, opportunity_status

from colcw_plugin.models import SyncRun
from helpers import csrf_from
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]


def _refusal(run: SyncRun) -> str:
    [item] = [i for i in items(run) if i.entity == "document"]
    assert item.action == "failed", item.message
    return f"{item.message} {item.resolution}"


def _set_status(world, opportunity_id: int, flag: str) -> None:
    resp = world.sandbox.api("PATCH", f"sales/opportunities/{opportunity_id}", json=[
        {"op": "replace", "path": "status", "value": {"id": opportunity_status(world, flag)["id"]}}])
    assert resp.status_code == 200, resp.text


def test_a_bulk_export_does_not_add_lines_to_a_won_opportunity_of_the_same_name(world):
    won = make_opportunity(world, "Closed deal", status="wonFlag", lines=(("LAT-5440", 1, 1489),))
    doc = world.quote([line("OPT-7010")], name="Closed deal")
    said = _refusal(world.export({"document_ids": [doc.id]}))
    assert f"{doc.number} was not exported: its checklist asks to confirm this first. Opportunity {won['id']} " \
           "“Closed deal” is Won in ConnectWise" in said
    assert f"Open {doc.number}'s page and click Export to ConnectWise: confirm there" in said
    assert [p["catalogItem"]["identifier"] for p in world.products(won["id"])] == ["LAT-5440"]
    assert [o["id"] for o in world.opportunities()] == [won["id"]]

    # Confirmed on its checklist (Export now's run carries it): the lines go in, the status stays Won.
    run = world.export({"document_id": doc.id, "confirmed": f"name:{won['id']}"})
    assert run.status == "succeeded", run.message
    assert sorted(p["catalogItem"]["identifier"] for p in world.products(won["id"])) == ["LAT-5440", "OPT-7010"]
    assert world.status_of(won["id"])["wonFlag"]


def test_a_confirmation_is_for_its_own_target_only(world):
    lost = make_opportunity(world, "Lost deal", status="lostFlag")
    doc = world.quote([line("OPT-7010")], name="Lost deal")
    _refusal(world.export({"document_id": doc.id, "confirmed": "new:new"}))  # (what another target posts)
    _refusal(world.export({"document_id": doc.id, "confirmed": f"linked:{lost['id']}"}))
    assert world.products(lost["id"]) == []


def test_a_linked_quote_whose_opportunity_turned_won_is_not_changed_by_a_bulk_export(world):
    doc = world.quote([line("OPT-7010")], name="Live deal")
    first = world.export(doc.id)
    assert first.status == "succeeded", first.message
    [opp] = world.opportunities()
    _set_status(world, opp["id"], "wonFlag")

    # Unchanged: nothing would be written, so nothing needs confirming.
    again = world.export({"document_ids": [doc.id]})
    assert [i.action for i in items(again)] == ["unchanged"]

    # A line added since: refused, and ConnectWise keeps what it had.
    world.edit(doc, [line("OPT-7010"), line("LAT-5440")])
    said = _refusal(world.export({"document_ids": [doc.id]}))
    assert f"Opportunity {opp['id']} “Live deal” is Won in ConnectWise" in said
    assert [p["catalogItem"]["identifier"] for p in world.products(opp["id"])] == ["OPT-7010"]

    run = world.export({"document_id": doc.id, "confirmed": f"linked:{opp['id']}"})
    assert run.status == "succeeded", run.message
    assert [p["catalogItem"]["identifier"] for p in world.products(opp["id"])] == ["OPT-7010", "LAT-5440"]


def test_export_now_passes_the_reps_confirmation_to_its_run(world, rep_client, drain_queue):
    make_opportunity(world, "Network Refresh")
    doc = world.quote([line("OPT-7010")], name="network refresh")
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    assert 'value="new:new" id="colcw-confirm-box"' in page
    resp = rep_client.post(f"/colcw/documents/{doc.id}/export", data={"csrf_token": csrf_from(page),
                                                                       "confirm": "new:new"})
    assert resp.status_code == 302
    drain_queue()
    db.session.expire_all()
    run = db.session.query(SyncRun).order_by(SyncRun.id.desc()).first()
    assert run.params == {"document_id": doc.id, "confirmed": "new:new"}
    assert run.status == "succeeded", run.message
    assert sorted(o["name"] for o in world.opportunities()) == ["Network Refresh", "network refresh"]
