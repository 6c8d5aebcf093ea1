"""A quote with no lines is refused by the export (“Q… has no lines”): its checklist says so first, with a ✗ Lines row,
and Export now stays disabled, so nothing reaches ConnectWise and the Quotes list never shows a Failed export. An
exported document whose lines were all removed is still exported (it takes its lines off the opportunity)."""

from __future__ import annotations

import html as html_lib
import re

from quote_support import line
from sqlalchemy import select

from colcw_plugin.models import SyncRun
from helpers import csrf_from
from host_stub.extensions import db


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", page)))


def _row(page: str, row_id: str) -> str:
    return page.split(f'id="{row_id}"', 1)[1].split("</tr>", 1)[0]


def test_a_quote_without_lines_fails_the_lines_check_and_export_now_stays_disabled(world, rep_client):
    doc = world.quote([], name="Empty refresh")
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    row = _text(_row(page, "colcw-check-lines"))
    assert "✗" in row and f"{doc.number} has no lines. Add the products to the document, then export it." in row
    assert re.search(r'<button type="submit" id="colcw-export-submit" disabled>', page)
    assert "Export now is unavailable until “Lines” is fixed" in _text(page)

    # Export now posted anyway (a stale page): nothing is queued, nothing reaches ConnectWise.
    resp = rep_client.post(f"/colcw/documents/{doc.id}/export", data={"csrf_token": csrf_from(page)})
    assert "Not exported: “Lines” must be fixed first" in _text(rep_client.get(resp.location).get_data(as_text=True))
    assert db.session.execute(select(SyncRun)).first() is None
    assert world.opportunities() == []


def test_an_exported_quote_whose_lines_were_all_removed_can_be_exported_again(world, rep_client):
    doc = world.quote([line("OPT-7010")], name="Shrinking refresh")
    assert world.export(doc.id).status == "succeeded"
    world.edit(doc, [])
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    assert "has no lines" not in page
    assert re.search(r'<button type="submit" id="colcw-export-submit">', page)
    assert world.export(doc.id).status == "succeeded"  # (the run Export now queues)
    [opp] = world.opportunities()
    assert world.products(opp["id"]) == []
