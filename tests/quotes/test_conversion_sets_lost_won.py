"""A quote exported, its opportunity then set Lost in ConnectWise by another person, the quote converted in the host:
the conversion is the sale, so ConnectWise holds Won, but not silently: the sales order's ConnectWise panel and the
run log say who set it Lost and when (as the quote's Won/Lost label names them), that the conversion set it Won, and
what to do if the deal was lost after all; a later export of the order then asks before it sets it Won again."""

from __future__ import annotations

import re

import pytest
from htmx_loads import loaded
from quote_support import items, line
from sqlalchemy import select

from colcw_plugin.models import SyncRun
from cw_sandbox.seed import add_member
from host_stub import services
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_converting_a_quote_whose_opportunity_a_person_set_lost_sets_won_and_says_so(world, drain_queue, rep_client):
    add_member(world.sandbox.tenant, "dlost", "Dana", "Lost", "F", "dana@demo.example", "Main", "Sales")
    quote = world.quote([line("OPT-7010", qty=2)], name="Lost, then converted")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    world.sandbox.set_opportunity_status(opp["id"], "Lost", member="dlost")
    lost = world.sandbox.api("GET", f"sales/opportunities/{opp['id']}").json()
    assert lost["closedBy"]["identifier"] == "dlost"
    day = str(lost.get("closedDate") or lost["_info"]["lastUpdated"])[:10]

    order = services.convert_quote(quote.id)
    assert drain_queue() >= 1

    # ConnectWise: Won, with the quote's lines carried by the order.
    assert world.status_of(opp["id"])["wonFlag"]
    assert [p["catalogItem"]["identifier"] for p in world.products(opp["id"])] == ["OPT-7010"]

    said = (f"Opportunity {opp['id']} “Lost, then converted” was Lost in ConnectWise on {day} by Dana Lost; "
            f"converting quote {quote.number} into sales order {order.number} set it Won. If the deal was lost after "
            f"all, set the opportunity back to Lost in ConnectWise: colcw asks before a later export of "
            f"{order.number} sets it Won again.")
    run = db.session.execute(select(SyncRun).where(SyncRun.trigger == "event")).scalar_one()
    [item] = items(run)
    assert item.action == "updated" and said in item.message, item.message
    assert f"Opportunity {opp['id']} set to Won." not in item.message
    page = _text(loaded(rep_client, f"/documents/{order.id}"))
    assert said in page, page

    # The advice holds: set Lost again, a later export of the order nobody confirmed leaves it Lost and asks.
    world.sandbox.set_opportunity_status(opp["id"], "Lost", member="dlost")
    again = world.export(order.id)
    [refused] = items(again)
    assert refused.action == "failed" and "its checklist asks to confirm this first" in refused.message, refused.message
    assert world.status_of(opp["id"])["lostFlag"]


def test_converting_a_quote_whose_opportunity_is_open_says_only_that_it_was_set_won(world, drain_queue):
    quote = world.quote([line("OPT-7010")], name="Open, then converted")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    services.convert_quote(quote.id)
    drain_queue()
    run = db.session.execute(select(SyncRun).where(SyncRun.trigger == "event")).scalar_one()
    [item] = items(run)
    assert f"Opportunity {opp['id']} set to Won." in item.message and "was Lost" not in item.message
