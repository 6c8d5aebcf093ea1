"""A quote converted into a sales order whose opportunity is then reopened and renamed in ConnectWise: the quote's
Renamed / Reopened notes say what is true of a quote that is not exported again (its sales order is, in its stead)
and point to that order by number, linked as the panel's converted note links it. The walkthrough found Q1005,
converted to SO1006, saying "Exporting Q1005 again keeps ConnectWise's name" beside "Q1005 itself is not exported
again", and "nothing to do here" for its reopened opportunity while SO1006's page said what to do."""

from __future__ import annotations

import html
import re

from htmx_loads import loaded
from inbound_support import enable, line, run_items

from colcw_plugin.models import HOST_MASTER, SyncRun
from colcw_plugin.sync.inbound import LIVE_KIND
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime, sign_in
from host_stub import services
from host_stub.extensions import db


def _read_back(opportunity_id: int) -> SyncRun:
    """A live-update run reading the opportunity, as a callback about it starts one."""
    run = create_run(db.session, runtime().kinds, LIVE_KIND, {"records": {"opportunity": [opportunity_id]}})
    db.session.commit()
    return runtime().execute(db.session, run.id)


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page)))


def _note(page: str, kind: str) -> str:
    start = page.index(f'id="colcw-cw-{kind}"')
    return page[start:page.index("</p>", start)]


def test_a_converted_quotes_notes_point_to_its_sales_order(app, world, drain_queue):
    # Callbacks do not reach this host: the live-update runs below read the opportunity as a callback's would.
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    quote = world.quote([line("OPT-7010", qty=2, price=300)], name="Converted deal")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    order = services.convert_quote(quote.id)
    assert drain_queue() >= 1
    assert world.status_of(opp["id"])["wonFlag"]  # the order's export won it
    _read_back(opp["id"])  # live updates read it Won

    world.sandbox.set_opportunity_status(opp["id"], "Open")
    world.sandbox.edit_record("opportunities", opp["id"], {"name": "Converted deal phase 2"})
    _read_back(opp["id"])

    client = sign_in(app.test_client(), "riley@demo.example")
    page = loaded(client, f"/documents/{quote.id}")
    renamed, reopened = _note(page, "renamed"), _note(page, "reopened")
    q, so = quote.number, order.number
    assert (f"{q}'s opportunity name field still says “Converted deal”; colcw did not change it. {q} itself is not "
            f"exported again (it was converted to sales order {so}); exporting {so} keeps ConnectWise's name: it "
            f"stays linked to opportunity {opp['id']} by id.") in _text(renamed), renamed
    assert f"Exporting {q} again" not in _text(renamed), renamed
    order_advice = (f"{so}'s sale is no longer Won in ConnectWise. If the sale stands, export {so} again to set it "
                    "Won; if not, set its status in ConnectWise.")
    assert (f"{q} was converted to sales order {so}, which carries its sale to ConnectWise ({q} itself is not "
            f"exported again): {order_advice}") in _text(reopened), reopened
    assert "nothing to do here" not in _text(reopened), reopened
    link = f'sales order <a class="colcw-note-order" href="/documents/{order.id}">{so}</a>'
    assert link in renamed and link in reopened, (renamed, reopened)

    # The order's own note says the same of what to do; so does the live update's line for the quote.
    assert order_advice in _text(_note(loaded(client, f"/documents/{order.id}"), "reopened"))
    [item] = [i for i in run_items(LIVE_KIND) if i.host_id == quote.id and "reopened" in i.message]
    assert item.resolution.startswith(f"{q} was converted to sales order {so}") and order_advice in item.resolution, \
        item.resolution
