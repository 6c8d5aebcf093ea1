"""A colleague's edit in ConnectWise that the next export overwrites (a product's quantity set back) is a warning (⚠) on
the export checklist, which Export now goes ahead with only once its box is ticked — as exporting into a Lost
opportunity is. It was a ✓ needing nothing: the edit was overwritten without anyone deciding to. What ConnectWise holds
is checked after each click."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from quote_support import items, line
from sqlalchemy import select

from colcw_plugin.models import DocumentDrift, DocumentLineExport, SyncRun
from colcw_plugin.sync.shared.product_drift import product_changes
from helpers import csrf_from, runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]
DRIFT = "Changes made in ConnectWise since the last export"


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", page)))


def _row(page: str) -> str:
    return _text(page.split('id="colcw-check-drift"', 1)[1].split("</tr>", 1)[0]).lstrip("> ").strip()


def _edited_in_connectwise(world, doc, opp_id: int, quantity: int) -> None:
    """A colleague sets the product's quantity in ConnectWise; live updates record it (as they would)."""
    [product] = world.products(opp_id)
    resp = world.sandbox.api("PATCH", f"procurement/products/{product['id']}",
                             json=[{"op": "replace", "path": "quantity", "value": quantity}])
    assert resp.status_code == 200, resp.text
    exports = list(db.session.execute(select(DocumentLineExport).where(DocumentLineExport.document_id == doc.id))
                   .scalars())
    changes = product_changes(exports, world.products(opp_id), set())
    assert [c["field"] for c in changes] == ["quantity"]
    db.session.add(DocumentDrift(document_id=doc.id, opportunity_id=opp_id, changes=changes))
    db.session.commit()


def test_overwriting_a_colleagues_edit_waits_for_a_tick_then_sets_it_back(world, rep_client):
    doc = world.quote([line("OPT-7010", qty=10)], name="Edited deal")
    assert world.export(doc.id).status == "succeeded"
    [opp] = world.opportunities()
    _edited_in_connectwise(world, doc, opp["id"], 7)

    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    row = _row(page)
    assert row.startswith("⚠ " + DRIFT)
    assert "Exporting overwrites them: it sets line 1 (OPT-7010) quantity back from 7.00 to 10.00." in row
    assert "Someone may have made these changes on purpose in ConnectWise" in row
    box = re.search(r'<input type="checkbox" name="confirm_check" value="(drift:[0-9a-f]+)" required>', page)
    assert box and f"⚠ {DRIFT}: Yes, overwrite the changes made in ConnectWise" in _text(page)

    # Export now without the tick (a page without the box's required check): nothing queued, ConnectWise keeps 7.
    resp = rep_client.post(f"/colcw/documents/{doc.id}/export", data={"csrf_token": csrf_from(page)})
    said = _text(rep_client.get(resp.location).get_data(as_text=True))
    assert f"Not exported yet: confirm “{DRIFT}” first (tick the box below the checklist)" in said
    assert db.session.execute(select(SyncRun).where(SyncRun.params["document_id"].as_integer() == doc.id,
                                                    SyncRun.status == "queued")).first() is None
    assert [p["quantity"] for p in world.products(opp["id"])] == [7]

    # Ticked: the export is queued and sets the quantity back.
    resp = rep_client.post(f"/colcw/documents/{doc.id}/export",
                           data={"csrf_token": csrf_from(page), "confirm_check": box.group(1)})
    run_id = int(re.search(r"run=(\d+)", resp.location).group(1))
    assert runtime().execute(db.session, run_id).status == "succeeded"
    assert [p["quantity"] for p in world.products(opp["id"])] == [10]


def test_products_added_by_hand_only_need_no_tick(world, rep_client):
    doc = world.quote([line("OPT-7010", qty=10)], name="Added-to deal")
    assert world.export(doc.id).status == "succeeded"
    [opp] = world.opportunities()
    db.session.add(DocumentDrift(document_id=doc.id, opportunity_id=opp["id"], changes=[
        {"line_id": None, "position": None, "item": "LAT-5440", "kind": "added", "field": "", "exported": "",
         "cw": "1 × 5.00", "product_id": 999}]))
    db.session.commit()
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    assert _row(page) == f"✓ {DRIFT} Exporting keeps them: it leaves LAT-5440, added by hand in ConnectWise, as it is."
    assert 'name="confirm_check"' not in page


def test_an_export_of_several_documents_overwrites_as_before_and_its_run_log_names_what(world):
    """Nobody ticks a box in a bulk, scheduled or retried export: ChannelOnline's document is what ConnectWise gets (a
    re-export exists to send it), so it goes ahead as before, and its run log says what it overwrote."""
    doc = world.quote([line("OPT-7010", qty=10)], name="Bulk edited deal")
    assert world.export(doc.id).status == "succeeded"
    [opp] = world.opportunities()
    _edited_in_connectwise(world, doc, opp["id"], 7)
    run = world.export({"document_ids": [doc.id]})
    assert run.status == "succeeded"
    [item] = items(run)
    assert ("It overwrote changes made in ConnectWise since the last export: it sets line 1 (OPT-7010) quantity back "
            "from 7.00 to 10.00.") in item.message
    assert [p["quantity"] for p in world.products(opp["id"])] == [10]
