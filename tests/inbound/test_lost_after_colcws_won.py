"""colcw turned an opportunity Won (a quote converted into a sales order); a person then sets it Lost in ConnectWise.

The quote and the sales order say that person lost it, on that day, never "Lost … by colcw": whether ConnectWise
stamps the new close (``closedBy`` the person, ``closedDate`` now) or keeps colcw's (the sandbox's
``reclose: "keep"``; nothing public says which it does), through the safety net (colcw has not learnt which member
it writes as) and through callbacks (it has)."""

from __future__ import annotations

import pytest
from inbound_support import cw_labels, cw_status, enable, line, settle, wait_for

from colcw_plugin.models import HOST_MASTER
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime, sign_in
from host_stub import services
from host_stub.extensions import db

EARLIER = "2026-01-02T10:00:00Z"  # colcw's Won moved back to a day of its own, so the label's day tells the two apart
# closedBy's name; else the member who updated it last, by the name ConnectWise gives that member (not its login, as
# the renamed and reopened notes name members).
NAMED = {"stamp": "Sandbox Admin", "keep": "Sandbox Admin"}




def _won_by_colcw(world, name: str):
    quote = world.quote([line("OPT-7010", qty=2)], name=name)
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    order = services.convert_quote(quote.id)
    settle(world.sandbox)
    held = world.sandbox.api("GET", f"sales/opportunities/{opp['id']}").json()
    assert held["status"]["name"] == "Won" and held["closedBy"]["identifier"] == "APIMember"
    # As if colcw had won it on an earlier day (the store, not the API: no callback, nobody's update).
    store = world.sandbox.tenant.store
    store.put("opportunities", {**store.get("opportunities", opp["id"]), "closedDate": EARLIER})
    return quote, order, opp


def _lost_by_a_person(world, opp: dict, reclose: str) -> dict:
    world.sandbox.set_options(reclose=reclose)
    world.sandbox.set_opportunity_status(opp["id"], "Lost")  # admin1, "Sandbox Admin"
    held = world.sandbox.api("GET", f"sales/opportunities/{opp['id']}").json()
    assert held["_info"]["updatedBy"] == "admin1"
    assert (held["closedBy"]["identifier"], held["closedDate"] == EARLIER) == \
        (("admin1", False) if reclose == "stamp" else ("APIMember", True))
    return held


@pytest.mark.parametrize("reclose", ["stamp", "keep"])
def test_the_safety_net_names_the_person_who_lost_colcws_won(app, world, worker_thread, reclose):
    quote, order, opp = _won_by_colcw(world, "Conversion then lost")
    assert get_live(db.session).own_member == ""
    held = _lost_by_a_person(world, opp, reclose)

    run = create_run(db.session, runtime().kinds, "cw_reconcile", {"mode": "changes"})
    db.session.commit()
    assert runtime().execute(db.session, run.id).status == "succeeded"

    day = held["_info"]["lastUpdated"][:10]
    assert cw_labels(quote, order) == [f"Lost in ConnectWise on {day} by {NAMED[reclose]}"] * 2
    client = sign_in(app.test_client(), "riley@demo.example")
    listing = client.get("/orders/").get_data(as_text=True)
    assert f"Lost in ConnectWise on {day} by {NAMED[reclose]}" in listing and "by colcw" not in listing


@pytest.mark.parametrize("reclose", ["stamp", "keep"])
def test_a_callback_names_the_person_who_lost_colcws_won(app, world, live_server, worker_thread, reclose):
    enable(live_server.url, HOST_MASTER)
    assert get_live(db.session).own_member == "APIMember"
    quote, order, opp = _won_by_colcw(world, "Called back then lost")
    assert cw_labels(order)[0].endswith(f"by colcw for sales order {order.number}")
    held = _lost_by_a_person(world, opp, reclose)

    lost = wait_for(lambda: (s := cw_status(order.id)) is not None and s.status == "lost" and s, what="Lost on the order")

    day = held["_info"]["lastUpdated"][:10]
    assert lost.label == f"Lost in ConnectWise on {day} by {NAMED[reclose]}"
    assert cw_labels(quote) == [lost.label]
