"""Two quotes feed one opportunity; the first one's sales order said it stays open until the second is converted.
Once the second is converted, the opportunity Won, then set Lost and reopened in ConnectWise, that order's page no
longer tells the old "stays open: quote … has not been converted" as the present (a dead end): the note is told
as what held at that export, with its time, and the page says the quote was converted since, that ConnectWise has
the opportunity open, and that exporting the order again sets it Won (which it does)."""

from __future__ import annotations

import re

from htmx_loads import loaded
from inbound_support import enable, line, settle, wait_for
from sqlalchemy import select

from helpers import sign_in, tune_runtime
from host_stub import services
from host_stub.extensions import db
from host_stub.models import DocumentExternalStatus

STAMP = r"\(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)"


def _status(doc_id: int) -> str | None:
    row = db.session.execute(select(DocumentExternalStatus).where(
        DocumentExternalStatus.document_id == doc_id, DocumentExternalStatus.source == "ConnectWise")).scalar()
    return row.status if row else None


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def _first_of_two_converted(world, live_server):
    """Two quotes exported into one opportunity ("Shared deal"), live updates on, the first converted and its
    order's export settled: (first, second, the opportunity, the first's order)."""
    first = world.quote([line("OPT-7010")], name="Shared deal")
    second = world.quote([line("LAT-5440")], name="Shared deal")
    assert world.export(first.id).status == "succeeded" and world.export(second.id).status == "succeeded"
    [opp] = world.opportunities()
    enable(live_server.url)
    order = services.convert_quote(first.id)
    settle(world.sandbox)
    return first, second, opp, order


def test_a_reopened_opportunity_does_not_bring_back_a_stays_open_note_whose_quote_was_converted(
        app, world, live_server, worker_thread):
    first, second, opp, order = _first_of_two_converted(world, live_server)
    client = sign_in(app.test_client(), "riley@demo.example")
    page = _text(wait_for(lambda: (p := loaded(client, f"/documents/{order.id}")) and "stays open" in p and p))
    # While the second quote is not converted, the note holds: told as what the export found, with its time.
    assert re.search(rf"At the last export {STAMP}: Opportunity {opp['id']} stays open: quote {second.number}", page)
    assert "converted to a sales order since" not in page

    services.convert_quote(second.id)
    wait_for(lambda: _status(order.id) == "won", what="Won on the first order")
    world.sandbox.set_opportunity_status(opp["id"], "Lost")
    wait_for(lambda: _status(order.id) == "lost", what="Lost on the first order")
    page = _text(loaded(client, f"/documents/{order.id}"))
    assert re.search(rf"At the last export {STAMP}: Opportunity {opp['id']} stayed open, as quote {second.number} "
                     "also fed it and was not converted to a sales order yet.", page)
    assert f"{second.number} has been converted to a sales order since" in page
    assert f"It is lost in ConnectWise now: exporting {order.number} again sets it Won" in page

    world.sandbox.set_opportunity_status(opp["id"], "Open")  # reopened: ConnectWise's status goes away
    wait_for(lambda: _status(order.id) is None, what="the status to clear")
    page = _text(loaded(client, f"/documents/{order.id}"))
    assert "stays open" not in page and "has not been converted" not in page
    assert re.search(rf"At the last export {STAMP}: Opportunity {opp['id']} stayed open", page)
    assert (f"{second.number} has been converted to a sales order since, so no quote keeps opportunity {opp['id']} "
            f"open any more. ConnectWise showed it open when live updates last read it: exporting {order.number} "
            "again sets it Won"
            in page)

    # And it does: the order's export sets the reopened opportunity Won.
    assert world.export(order.id).status == "succeeded"
    assert world.status_of(opp["id"])["wonFlag"]


def test_an_opportunity_never_won_is_not_said_to_have_been_reopened(app, world, live_server, worker_thread,
                                                                   monkeypatch):
    """The second quote's sales order could not be exported (ConnectWise kept failing to change the opportunity), so
    the opportunity was never Won: the first order's page says what live updates read, open, and not that
    someone reopened it in ConnectWise."""
    first, second, opp, order = _first_of_two_converted(world, live_server)
    tune_runtime(monkeypatch, app, record_retry_intervals=(), retry_intervals=())  # its run gives up at once
    world.sandbox.add_fault(status=503, method="PATCH", path=r"sales/opportunities/\d+$")
    world.sandbox.add_fault(status=503, method="PUT", path=r"sales/opportunities/\d+$")
    services.convert_quote(second.id)
    settle(world.sandbox)
    world.sandbox.clear_faults()
    assert not world.status_of(opp["id"])["wonFlag"] and _status(order.id) is None
    client = sign_in(app.test_client(), "riley@demo.example")
    page = _text(loaded(client, f"/documents/{order.id}"))
    assert f"{second.number} has been converted to a sales order since" in page, page
    assert "reopened" not in page, page
    assert (f"ConnectWise showed it open when live updates last read it: exporting {order.number} again sets it "
            "Won; or set its status in ConnectWise.") in page, page
