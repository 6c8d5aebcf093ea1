"""A sales order whose opportunity is reopened in ConnectWise (Won, then an open status again): the order's page says
so, with who reopened it and when as ConnectWise says, so the rep knows the sale is no longer Won there; exporting
the order again sets it Won, and the note ends with the close."""

from __future__ import annotations

import html
import re

from htmx_loads import loaded
from inbound_support import enable, line, settle, wait_for
from sqlalchemy import select

from helpers import sign_in
from host_stub import services
from host_stub.extensions import db
from host_stub.models import DocumentExternalStatus


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _status(doc_id: int) -> str | None:
    row = db.session.execute(select(DocumentExternalStatus).where(
        DocumentExternalStatus.document_id == doc_id, DocumentExternalStatus.source == "ConnectWise")).scalar()
    return row.status if row else None


def test_an_order_whose_won_opportunity_is_reopened_says_so(app, world, live_server, worker_thread):
    quote = world.quote([line("OPT-7010")], name="Reopened deal")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    enable(live_server.url)
    order = services.convert_quote(quote.id)
    settle(world.sandbox)
    wait_for(lambda: _status(order.id) == "won", what="Won on the order")
    client = sign_in(app.test_client(), "riley@demo.example")
    assert "Reopened in ConnectWise" not in _text(loaded(client, f"/documents/{order.id}"))

    reopened = world.sandbox.set_opportunity_status(opp["id"], "Open")
    day, who = reopened["_info"]["lastUpdated"][:10], "Sandbox Admin"  # (admin1, named as the Won label names)
    wait_for(lambda: _status(order.id) is None, what="the Won status to clear")
    page = _text(wait_for(lambda: (p := loaded(client, f"/documents/{order.id}")) and "Reopened in ConnectWise" in p
                          and p, what="the reopened note"))
    assert re.search(r"Reopened in ConnectWise \(seen \d{4}-\d\d-\d\d \d\d:\d\d UTC\)", page), page
    assert (f"Opportunity {opp['id']} was reopened in ConnectWise on {day} by {who}: it was Won, its status there is "
            f"“Open” now. {order.number}'s sale is no longer Won in ConnectWise. If the sale stands, export "
            f"{order.number} again to set it Won; if not, set its status in ConnectWise.") in page, page

    # Exported again, the order sets it Won: the note ends with the close live updates read back.
    assert world.export(order.id).status == "succeeded"
    assert world.status_of(opp["id"])["wonFlag"]
    wait_for(lambda: _status(order.id) == "won", what="Won again on the order")
    wait_for(lambda: "Reopened in ConnectWise" not in loaded(client, f"/documents/{order.id}"),
             what="the note to end")
