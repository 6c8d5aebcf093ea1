"""An opportunity set Won, Lost or closed in ConnectWise shows on its quotes and sales orders, by flags."""

from __future__ import annotations

import re

from htmx_loads import loaded
from inbound_support import cw_status, enable, line, settle, wait_for
from sqlalchemy import select

from colcw_plugin.models import HOST_MASTER, SyncItem, SyncRun
from helpers import sign_in
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Document


def test_won_lost_and_closed_in_connectwise_show_on_the_quote_and_its_sales_order(app, world, live_server,
                                                                                 worker_thread):
    quote = world.quote([line("OPT-7010", qty=2)], name="Status deal")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    enable(live_server.url, HOST_MASTER)

    world.sandbox.set_opportunity_status(opp["id"], "Lost")
    lost = wait_for(lambda: cw_status(quote.id), what="Lost on the quote")
    assert lost.status == "lost" and lost.label.startswith("Lost in ConnectWise on ") and "by Sandbox Admin" in lost.label

    # Statuses are told by their flags: renamed "Lost", a tenant's "Closed - Price" is still lost.
    statuses = {s["name"]: s["id"] for s in world.api("sales/opportunities/statuses")}
    world.sandbox.api("PATCH", f"sales/opportunities/statuses/{statuses['Lost']}",
                      json=[{"op": "replace", "path": "name", "value": "Closed - Price"}])
    db.session.execute(db.text("DELETE FROM colcw_reference_cache"))
    db.session.commit()
    world.sandbox.set_opportunity_status(opp["id"], "Won")
    won = wait_for(lambda: (s := cw_status(quote.id)) is not None and s.status == "won" and s)
    assert won.label.startswith("Won in ConnectWise on ")
    world.sandbox.set_opportunity_status(opp["id"], statuses["Lost"])
    renamed = wait_for(lambda: (s := cw_status(quote.id)) is not None and s.status == "lost" and s)
    assert renamed.label.endswith(": Closed - Price")
    world.sandbox.set_opportunity_status(opp["id"], "No Decision")
    closed = wait_for(lambda: (s := cw_status(quote.id)) is not None and s.status == "closed" and s)
    assert "Closed in ConnectWise" in closed.label and closed.label.endswith("No Decision")

    # Open again: the status goes away.
    world.sandbox.set_opportunity_status(opp["id"], "Open")
    wait_for(lambda: cw_status(quote.id) is None, what="the status to clear")

    # A sales order converted from the quote shares the opportunity: both show what ConnectWise says.
    order = services.convert_quote(quote.id)
    settle(world.sandbox)
    world.sandbox.set_opportunity_status(opp["id"], statuses["Lost"])
    wait_for(lambda: all((s := cw_status(d)) is not None and s.status == "lost" for d in (quote.id, order.id)))

    client = sign_in(app.test_client(), "riley@demo.example")
    page = loaded(client, f"/documents/{order.id}")
    assert "Lost in ConnectWise on" in page and 'id="colcw-cw-status"' in page
    for listing in ("/quotes/", "/orders/"):
        assert 'data-external-status="lost"' in client.get(listing).get_data(as_text=True)
    assert db.session.get(Document, quote.id).locked  # the documents themselves were not touched

    # The Connection page says what came last; the run shows on the jobs pages with its records. The statuses are
    # committed before their run records its end: wait for every run to finish, then take the last one that wrote
    # the quote's status (the latest run of all could be one a later callback started, which changed nothing).
    settle(world.sandbox)
    run_id = db.session.execute(select(SyncRun.id).join(SyncItem, SyncItem.run_id == SyncRun.id)
                                .where(SyncRun.kind == "cw_live_update", SyncRun.status == "succeeded",
                                       SyncItem.entity == "document", SyncItem.host_id == quote.id)
                                .order_by(SyncRun.id.desc())).scalars().first()
    with app.app_context():  # another user: a request context of its own (Flask-Login keeps the user in g)
        admin = sign_in(app.test_client(), "admin@demo.example")
        section = admin.get("/admin/integration/connectwise/").get_data(as_text=True)
        log = admin.get(f"/admin/integration/connectwise/jobs/runs/{run_id}").get_data(as_text=True)
    assert f"Last change received:\n    opportunity {opp['id']} updated" in section and "by admin1" in section
    assert "Live updates from ConnectWise" in log and f"{quote.number}: Lost in ConnectWise on" in log


def test_a_sales_order_whose_opportunity_turned_won_later_tells_its_stays_open_note_as_past(app, world, live_server,
                                                                                           worker_thread):
    """Two quotes feed one opportunity: the first one's order says it stays open; when the second is converted
    the opportunity turns Won, and the first order's page shows that, with the old note told as what held at
    its export (it stood under "Won in ConnectWise" as if still true)."""
    first = world.quote([line("OPT-7010")], name="Shared deal")
    second = world.quote([line("LAT-5440")], name="Shared deal")
    assert world.export(first.id).status == "succeeded" and world.export(second.id).status == "succeeded"
    [opp] = world.opportunities()
    enable(live_server.url, HOST_MASTER)
    order = services.convert_quote(first.id)
    settle(world.sandbox)
    client = sign_in(app.test_client(), "riley@demo.example")
    wait_for(lambda: "stays open" in loaded(client, f"/documents/{order.id}"), what="the order's note")
    page = loaded(client, f"/documents/{order.id}")
    # (told as what its export found, with its time, as every export note is)
    assert re.search(rf"At the last\s+export \(\d{{4}}-\d\d-\d\d \d\d:\d\d UTC\): Opportunity {opp['id']} stays open", page)
    services.convert_quote(second.id)
    wait_for(lambda: (s := cw_status(order.id)) is not None and s.status == "won", what="Won on the first order")
    page = loaded(client, f"/documents/{order.id}")
    assert "Won in ConnectWise on" in page
    # the quote it waited for is converted now: the note is past, and the page says what is true now
    assert re.search(r"At the last\s+export \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\): Opportunity \d+ stayed open", page)
    assert "It is Won in ConnectWise." in page and "stays open" not in page
