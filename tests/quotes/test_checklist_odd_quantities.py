"""Zero, negative and implausibly large quantities or amounts are a warning (⚠) on the export checklist, which Export
now goes ahead with only once its box is ticked: a quantity of 9,999,999,999 reached ConnectWise as a $20 billion
forecast without a word. A credit line may be meant, so nothing is refused: ticked, the lines go as they are."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from quote_support import items, line
from sqlalchemy import select

from colcw_plugin.models import SyncRun
from helpers import csrf_from, runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_odd_quantities_wait_for_a_tick_then_go_as_they_are(world, rep_client):
    doc = world.quote([line("OPT-7010", qty=9_999_999_999, price=2), line("LAT-5440", qty=0),
                       line("PWR-R550", qty=-1, price=50), line("OPT-7010", qty=3, price=100)], name="Odd deal")
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    row = _text(page.split('id="colcw-check-amounts"', 1)[1].split("</tr>", 1)[0]).lstrip("> ").strip()
    assert row.startswith("⚠ Quantities and amounts")
    assert ("line 1 (OPT-7010) is 9,999,999,999 × $2.00 = $19,999,999,998.00, above 10,000 units or $1,000,000.00 a "
            "line: check it for a typo") in row
    assert "line 2 (LAT-5440) has quantity 0: it adds nothing to the opportunity" in row
    assert "line 3 (PWR-R550) is a credit line (-1 × $50.00 = -$50.00): it lowers the opportunity's total" in row
    assert "line 4" not in row
    box = re.search(r'<input type="checkbox" name="confirm_check" value="(amounts:[0-9a-f]+)" required>', page)
    assert box and re.search(r'<button type="submit" id="colcw-export-submit">', page)  # (a warning, not a ✗)

    resp = rep_client.post(f"/colcw/documents/{doc.id}/export", data={"csrf_token": csrf_from(page)})
    said = _text(rep_client.get(resp.location).get_data(as_text=True))
    assert "Not exported yet: confirm “Quantities and amounts” first" in said
    assert db.session.execute(select(SyncRun)).first() is None
    assert world.opportunities() == []

    resp = rep_client.post(f"/colcw/documents/{doc.id}/export",
                           data={"csrf_token": csrf_from(page), "confirm_check": box.group(1)})
    run_id = int(re.search(r"run=(\d+)", resp.location).group(1))
    assert runtime().execute(db.session, run_id).status == "succeeded"
    [opp] = world.opportunities()
    assert [(p["catalogItem"]["identifier"], p["quantity"]) for p in world.products(opp["id"])] == [
        ("OPT-7010", 9_999_999_999), ("LAT-5440", 0), ("PWR-R550", -1), ("OPT-7010", 3)]


def test_a_confirmation_is_for_the_lines_shown(world, rep_client):
    doc = world.quote([line("OPT-7010", qty=0)], name="Zero deal")
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    token = re.search(r'name="confirm_check" value="(amounts:[0-9a-f]+)"', page).group(1)
    world.edit(doc, [line("OPT-7010", qty=-5)])  # changed after the page was shown: its tick no longer covers it
    resp = rep_client.post(f"/colcw/documents/{doc.id}/export",
                           data={"csrf_token": csrf_from(page), "confirm_check": token})
    assert "Not exported yet: confirm “Quantities and amounts” first" in _text(
        rep_client.get(resp.location).get_data(as_text=True))
    assert world.opportunities() == []


def test_ordinary_lines_show_no_amounts_row(world, rep_client):
    doc = world.quote([line("OPT-7010", qty=9_999, price=100)], name="Plain deal")
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    assert "Quantities and amounts" not in page and 'name="confirm_check"' not in page


def test_an_export_of_several_documents_sends_them_as_before_and_its_run_log_names_them(world):
    doc = world.quote([line("OPT-7010", qty=0), line("LAT-5440", qty=2, price=-40)], name="Bulk odd deal")
    run = world.export({"document_ids": [doc.id]})
    assert run.status == "succeeded"
    [item] = items(run)
    assert ("Check its lines: line 1 (OPT-7010) has quantity 0: it adds nothing to the opportunity; line 2 (LAT-5440) "
            "is a credit line (2 × -$40.00 = -$80.00): it lowers the opportunity's total (sent as they are).") in item.message
    [opp] = world.opportunities()
    assert [(p["quantity"], p["price"]) for p in world.products(opp["id"])] == [(0, 100), (2, -40)]
