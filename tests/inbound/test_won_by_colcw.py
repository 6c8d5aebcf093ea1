"""When colcw itself turns an opportunity Won (a quote converted into a sales order), ConnectWise names colcw's API
member as the closer. Live updates and the safety net must not show that member as a person who won it in
ConnectWise: the documents say colcw did it, for which sales order; a person's Won still names the person."""

from __future__ import annotations

from inbound_support import cw_labels, cw_status, disable, enable, line, settle, wait_for

from colcw_plugin.models import HOST_MASTER
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.jobs.runs import create_run
from helpers import configure_sandbox_connection, runtime
from host_stub import services
from host_stub.extensions import db


def _safety_net() -> None:
    run = create_run(db.session, runtime().kinds, "cw_reconcile", {"mode": "changes"})
    db.session.commit()
    assert runtime().execute(db.session, run.id).status == "succeeded"


def _closed(world, opp_id: int) -> dict:
    return world.sandbox.api("GET", f"sales/opportunities/{opp_id}").json()


def test_the_safety_net_tells_colcws_won_as_colcws_for_the_sales_order_not_as_its_api_members(app, world,
                                                                                           worker_thread):
    """Live updates never on: colcw has not learnt which member it writes as. Its own records say the sales order's
    export made the opportunity Won."""
    quote = world.quote([line("OPT-7010", qty=2)], name="Conversion deal")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    order = services.convert_quote(quote.id)
    settle(world.sandbox)
    held = _closed(world, opp["id"])
    assert held["closedBy"]["name"] == "API Member" and get_live(db.session).own_member == ""

    _safety_net()

    day = held["closedDate"][:10]
    assert cw_labels(quote, order) == [f"Won in ConnectWise on {day} by colcw for sales order {order.number}"] * 2


def test_a_person_who_won_it_while_a_quote_still_fed_it_is_named(app, world, worker_thread):
    """The first quote's sales order left the opportunity open (the second quote is not converted); a person then
    set it Won in ConnectWise. colcw's records do not account for that Won: the person is named."""
    first = world.quote([line("OPT-7010")], name="Shared deal")
    second = world.quote([line("LAT-5440")], name="Shared deal")
    assert world.export(first.id).status == "succeeded" and world.export(second.id).status == "succeeded"
    [opp] = world.opportunities()
    order = services.convert_quote(first.id)
    settle(world.sandbox)
    world.sandbox.set_opportunity_status(opp["id"], "Won")

    _safety_net()

    labels = cw_labels(first, second, order)
    assert all(label.startswith("Won in ConnectWise on ") and label.endswith(" by Sandbox Admin") for label in labels)


def test_a_callback_of_colcws_own_won_names_the_sales_order(app, world, live_server, worker_thread):
    quote = world.quote([line("OPT-7010", qty=2)], name="Called back deal")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    enable(live_server.url, HOST_MASTER)
    assert get_live(db.session).own_member == "APIMember"
    order = services.convert_quote(quote.id)

    won = wait_for(lambda: (s := cw_status(order.id)) is not None and s.status == "won" and s, what="Won on the order")

    day = _closed(world, opp["id"])["closedDate"][:10]
    assert won.label == f"Won in ConnectWise on {day} by colcw for sales order {order.number}"
    assert cw_labels(quote) == [won.label]


def test_after_the_keys_change_with_live_updates_off_colcws_won_is_still_colcws(app, world, box, worker_thread):
    """colcw learnt its member under an integrator login; Live updates were switched off, then the admin gave colcw an
    API member's keys. That member's Won (colcw's conversion) is colcw's, not a person's called "API Member": the member
    learnt under the old login no longer counts, and colcw's own records decide until it learns the new one."""
    configure_sandbox_connection(world.sandbox, box, integrator=True)
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    assert get_live(db.session).own_member == world.sandbox.username
    disable()
    configure_sandbox_connection(world.sandbox, box)  # the API member's keys

    quote = world.quote([line("OPT-7010", qty=2)], name="Keys changed deal")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    order = services.convert_quote(quote.id)
    settle(world.sandbox)
    held = _closed(world, opp["id"])
    assert held["closedBy"]["identifier"] == "APIMember"

    _safety_net()

    day = held["closedDate"][:10]
    assert cw_labels(quote, order) == [f"Won in ConnectWise on {day} by colcw for sales order {order.number}"] * 2
