"""A person wins an opportunity; another person later sets it Lost. The quote says who set it Lost, never the one who
won it: whether ConnectWise stamps the new close (``closedBy`` the second person) or keeps the first (the sandbox's
``reclose: "keep"``; nothing public says which it does). With live updates, colcw read the Won and knows the close
ConnectWise kept is the earlier one; the safety net alone, seeing only the Lost, cannot tell whose close it holds
under "keep", so it names nobody rather than the wrong person."""

from __future__ import annotations

import pytest
from inbound_support import cw_labels, cw_status, enable, line, settle, wait_for

from colcw_plugin.models import HOST_MASTER
from colcw_plugin.sync.jobs.runs import create_run
from cw_sandbox.seed import add_member
from helpers import runtime, sign_in
from host_stub.extensions import db

WINNER, LOSER = "rrep", "admin1"  # Riley Rep wins it; Sandbox Admin sets it Lost


def _quote(world, name: str):
    add_member(world.sandbox.tenant, WINNER, "Riley", "Rep", "F", "riley@demo.example", "Main", "Sales")
    quote = world.quote([line("OPT-7010", qty=2)], name=name)
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    return quote, opp


def _lost(world, opp: dict, reclose: str) -> dict:
    world.sandbox.set_options(reclose=reclose)
    world.sandbox.set_opportunity_status(opp["id"], "Lost", member=LOSER)
    held = world.sandbox.api("GET", f"sales/opportunities/{opp['id']}").json()
    assert held["_info"]["updatedBy"] == LOSER
    assert held["closedBy"]["identifier"] == (LOSER if reclose == "stamp" else WINNER)
    return held


@pytest.mark.parametrize("reclose", ["stamp", "keep"])
def test_a_callback_names_who_set_it_lost_not_who_won_it(app, world, live_server, worker_thread, reclose):
    quote, opp = _quote(world, "Won then lost by another")
    enable(live_server.url, HOST_MASTER)
    world.sandbox.set_opportunity_status(opp["id"], "Won", member=WINNER)
    won = wait_for(lambda: (s := cw_status(quote.id)) is not None and s.status == "won" and s, what="Won on the quote")
    assert won.label.endswith("by Riley Rep"), won.label
    settle(world.sandbox)

    held = _lost(world, opp, reclose)

    lost = wait_for(lambda: (s := cw_status(quote.id)) is not None and s.status == "lost" and s, what="Lost on the quote")
    day = held["_info"]["lastUpdated"][:10]
    # (kept close: the member who changed it last, named as ConnectWise names that member, not by its login)
    assert lost.label == f"Lost in ConnectWise on {day} by Sandbox Admin"
    page = sign_in(app.test_client(), "riley@demo.example").get("/quotes/").get_data(as_text=True)
    assert lost.label in page and "Riley Rep" not in lost.label


@pytest.mark.parametrize("reclose", ["stamp", "keep"])
def test_the_safety_net_never_names_the_winner_as_who_set_it_lost(app, world, reclose):
    quote, opp = _quote(world, "Won then lost, unseen")
    world.sandbox.set_opportunity_status(opp["id"], "Won", member=WINNER)
    held = _lost(world, opp, reclose)  # both before colcw looks

    run = create_run(db.session, runtime().kinds, "cw_reconcile", {"mode": "changes"})
    db.session.commit()
    assert runtime().execute(db.session, run.id).status == "succeeded"

    [label] = cw_labels(quote)
    if reclose == "stamp":  # ConnectWise's close names the person who set it Lost, who changed it last too
        assert label == f"Lost in ConnectWise on {held['closedDate'][:10]} by Sandbox Admin"
    else:  # its close is Riley's Won, changed since by someone else: who set it Lost, and when, is not known
        assert label == "Lost in ConnectWise by someone"
