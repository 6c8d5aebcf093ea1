"""A sales order whose opportunity was set Won in ConnectWise and then reopened there: its page's note and the live
update's line in the run log say what exporting the order again really does, by the rule the export follows
(quotes/won.py: it sets the opportunity Won unless another quote feeding it is not converted yet), and name who
reopened it as the Won/Lost label names a closer ("Sandbox Admin", not ConnectWise's login "admin1")."""

from __future__ import annotations

import html
import re

from htmx_loads import loaded
from inbound_support import enable, line, run_items, settle, wait_for
from sqlalchemy import select

from helpers import sign_in
from host_stub import services
from host_stub.extensions import db
from host_stub.models import DocumentExternalStatus

WHO = "Sandbox Admin"  # admin1, who the sandbox's set_opportunity_status acts as


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _status(doc_id: int) -> DocumentExternalStatus | None:
    return db.session.execute(select(DocumentExternalStatus).where(
        DocumentExternalStatus.document_id == doc_id, DocumentExternalStatus.source == "ConnectWise")).scalar()


def _reopened_note(client, doc_id: int) -> str:
    return _text(wait_for(lambda: (p := loaded(client, f"/documents/{doc_id}")) and "Reopened in ConnectWise" in p
                          and p, what="the reopened note"))


def _won_then_reopened(world, opp: dict, order) -> dict:
    """A person sets the opportunity Won in ConnectWise, then Open again: the reopened record."""
    world.sandbox.set_opportunity_status(opp["id"], "Won")
    won = wait_for(lambda: (s := _status(order.id)) is not None and s.status == "won" and s, what="Won on the order")
    assert won.label.endswith(f"by {WHO}"), won.label  # the Won label's naming, which the notes follow
    reopened = world.sandbox.set_opportunity_status(opp["id"], "Open")
    assert reopened["_info"]["updatedBy"] == "admin1"
    wait_for(lambda: _status(order.id) is None, what="the Won status to clear")
    return reopened


def _log_line(order, day: str):
    """The live update's result for the order saying it was reopened (waits for it: written after the change)."""
    said = f"Opportunity {{}} was reopened in ConnectWise on {day} by {WHO}: it was Won, its status there is “Open” now"
    return wait_for(lambda: [i for i in run_items("cw_live_update") if i.host_id == order.id and "reopened" in i.message],
                    what="the live update's line in the run log")[-1], said


def test_the_reopened_note_says_what_exporting_the_order_does_while_a_quote_waits_and_once_none_does(
        app, world, live_server, worker_thread):
    first = world.quote([line("OPT-7010")], name="Shared deal")
    second = world.quote([line("LAT-5440")], name="Shared deal")
    assert world.export(first.id).status == "succeeded" and world.export(second.id).status == "succeeded"
    [opp] = world.opportunities()
    enable(live_server.url)
    order = services.convert_quote(first.id)
    settle(world.sandbox)
    assert not world.status_of(opp["id"])["wonFlag"]  # the second quote keeps it open
    client = sign_in(app.test_client(), "riley@demo.example")

    # Case 1: the second quote is not converted, so exporting the order leaves it open: the note says so.
    reopened = _won_then_reopened(world, opp, order)
    day = reopened["_info"]["lastUpdated"][:10]
    page = _reopened_note(client, order.id)
    said = (f"Opportunity {opp['id']} was reopened in ConnectWise on {day} by {WHO}: it was Won, its status there is "
            f"“Open” now. {order.number}'s sale is no longer Won in ConnectWise. Exporting {order.number} again leaves "
            f"it open: quote {second.number} also feeds it and has not been converted to a sales order. It is set to "
            "Won when the last of them is converted; to close it sooner, set its status in ConnectWise.")
    assert said in page, page
    assert "admin1" not in page and f"export {order.number} again to set it Won" not in page, page
    item, line_said = _log_line(order, day)
    assert item.message == f"{order.number}: {line_said.format(opp['id'])}.", item.message
    assert item.resolution == said[said.index(f"{order.number}'s sale"):], item.resolution
    assert world.export(order.id).status == "succeeded"  # as the note says: it stays open
    assert not world.status_of(opp["id"])["wonFlag"]

    # The second quote converted, its order sets it Won; reopened again, the note says exporting sets it Won.
    services.convert_quote(second.id)
    settle(world.sandbox)
    assert world.status_of(opp["id"])["wonFlag"]
    wait_for(lambda: (s := _status(order.id)) is not None and s.status == "won", what="Won on the first order")
    reopened = world.sandbox.set_opportunity_status(opp["id"], "Open")
    day = reopened["_info"]["lastUpdated"][:10]
    wait_for(lambda: _status(order.id) is None, what="the Won status to clear")
    page = _reopened_note(client, order.id)
    said = (f"Opportunity {opp['id']} was reopened in ConnectWise on {day} by {WHO}: it was Won, its status there is "
            f"“Open” now. {order.number}'s sale is no longer Won in ConnectWise. If the sale stands, export "
            f"{order.number} again to set it Won; if not, set its status in ConnectWise.")
    assert said in page, page
    assert "leaves it open" not in page, page
    assert world.export(order.id).status == "succeeded"  # as the note says: Won
    assert world.status_of(opp["id"])["wonFlag"]


def test_a_rename_note_names_the_member_as_the_won_label_does(app, world, live_server, worker_thread):
    quote = world.quote([line("OPT-7010")], name="Harbor refresh")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    enable(live_server.url)
    renamed = world.sandbox.edit_record("opportunities", opp["id"], {"name": "Harbor refresh phase 2"})
    assert renamed["_info"]["updatedBy"] == "admin1"
    client = sign_in(app.test_client(), "riley@demo.example")
    page = _text(wait_for(lambda: (p := loaded(client, f"/documents/{quote.id}")) and "Renamed in ConnectWise" in p
                          and p, what="the rename note"))
    assert (f"Opportunity {opp['id']} was renamed in ConnectWise on {renamed['_info']['lastUpdated'][:10]} by {WHO}: "
            "“Harbor refresh” → “Harbor refresh phase 2”.") in page, page
    assert "admin1" not in page, page
