"""A quote converted into a sales order is not compared with its opportunity's products: its order took them over
and carries its lines, so the order's own re-export is no change made in ConnectWise to the quote (the walkthrough
found "line 1 (OPT7010-SFF) quantity 19.00 → 25.00 in ConnectWise" on Q1004 after SO1006 was exported again, with
a live-update run saying "1 record changed in ConnectWise", though the quote cannot be exported again)."""

from __future__ import annotations

import re

from htmx_loads import loaded
from inbound_support import enable, line, run_items
from quote_support import lines_of
from sqlalchemy import select

from colcw_plugin.models import HOST_MASTER, DocumentDrift, SyncRun
from colcw_plugin.sync.inbound import LIVE_KIND
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime, sign_in
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Document


def _read_back(opportunity_id: int) -> SyncRun:
    """A live-update run reading the opportunity, as a callback about it starts one."""
    run = create_run(db.session, runtime().kinds, LIVE_KIND, {"records": {"opportunity": [opportunity_id]}})
    db.session.commit()
    return runtime().execute(db.session, run.id)


def _drift(doc_id: int) -> list[dict]:
    db.session.expire_all()
    row = db.session.execute(select(DocumentDrift).where(DocumentDrift.document_id == doc_id)).scalar()
    return row.changes if row else []


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def _panel(page: str) -> str:
    return page[page.index('id="colcw-document-panel"'):]


def test_a_converted_quotes_sales_order_exported_again_is_no_change_in_connectwise_to_the_quote(
        app, world, drain_queue):
    # Callbacks do not reach this host: the live-update runs below read the opportunity as a callback's would.
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    quote = world.quote([line("OPT-7010", qty=19, price=300), line("LAT-5440", qty=2),
                         line("PWR-R550", qty=14, price=1720)], name="Converted deal")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    order = services.convert_quote(quote.id)
    assert drain_queue() >= 1
    assert world.status_of(opp["id"])["wonFlag"]  # the order's export took over the lines and won it
    _read_back(opp["id"])  # live updates read it Won (on the quote and the order)
    before = {i.id for i in run_items(LIVE_KIND)}

    # The rep unlocks the order, sets line 1 to 25, deletes line 3, adds a line and exports it again.
    db.session.expire_all()
    order = db.session.get(Document, order.id)
    edited = lines_of(order)
    edited[0]["quantity"] = 25
    world.edit(order, [*edited[:2], line("OPT-7010", qty=1, price=10)])
    assert world.export(order.id).status == "succeeded"
    assert sorted((p["catalogItem"]["identifier"], p["quantity"]) for p in world.products(opp["id"])) == [
        ("LAT-5440", 2.0), ("OPT-7010", 1.0), ("OPT-7010", 25.0)]

    _read_back(opp["id"])
    assert _drift(quote.id) == [] and _drift(order.id) == []
    said = [i.message for i in run_items(LIVE_KIND) if i.id not in before and i.action not in ("unchanged",)]
    assert said == [], said  # no "Q…: 2 changes in ConnectWise since export", no record changed in ConnectWise

    client = sign_in(app.test_client(), "riley@demo.example")
    page = loaded(client, f"/documents/{quote.id}")
    panel = _text(_panel(page))
    assert "Changed in ConnectWise since export" not in panel and "Exporting it again" not in panel
    assert f"Converted to sales order {order.number}, which carries its lines to ConnectWise on opportunity " \
           f"{opp['id']}: edit and export {order.number} to change them there; {quote.number} itself is not " \
           "exported again, so it stays locked: editing it would change nothing in ConnectWise." in panel
    assert f'<a id="colcw-converted-order" href="/documents/{order.id}">{order.number}</a>' in page


def test_a_quote_converted_after_changes_in_connectwise_were_seen_no_longer_shows_them(app, world, drain_queue):
    enable("http://127.0.0.1:1", HOST_MASTER, check=lambda url: "")
    quote = world.quote([line("OPT-7010", qty=3), line("LAT-5440", qty=1)], name="Seen deal")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    product = next(p for p in world.products(opp["id"]) if p["catalogItem"]["identifier"] == "OPT-7010")
    world.sandbox.edit_product(product["id"], {"quantity": 5})
    world.sandbox.add_product(opp["id"], {"catalogItem": {"identifier": "PWR-R550"}, "quantity": 7, "price": 12})
    assert _read_back(opp["id"]).status == "succeeded"
    assert len(_drift(quote.id)) == 2
    client = sign_in(app.test_client(), "riley@demo.example")
    assert "Changed in ConnectWise since export" in loaded(client, f"/documents/{quote.id}")

    order = services.convert_quote(quote.id)
    assert drain_queue() >= 1  # the order's export: it takes over the products, the one added by hand stays
    # At once, before live updates read the opportunity again: the quote's page no longer shows what was seen.
    page = loaded(client, f"/documents/{quote.id}")
    assert "Changed in ConnectWise since export" not in page and "PWR-R550 added by hand" not in page
    assert f"Converted to sales order {order.number}" in _text(_panel(page))

    # Read again, the opportunity is not compared with the quote's export: what was kept for it goes, unsaid.
    assert _read_back(opp["id"]).status == "succeeded"
    assert _drift(quote.id) == [] and _drift(order.id) == []
    said = [i.message for i in run_items(LIVE_KIND) if i.host_id == quote.id and "since export" in i.message
            and i.action != "unchanged"]
    assert len(said) == 1, said  # the one seen before the conversion, nothing after it
