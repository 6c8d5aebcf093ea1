"""The document's ConnectWise panel, for a document not exported yet whose opportunity name is longer than ConnectWise
holds (100 characters), says what the export checklist says of it (its Opportunity row: the export refuses that name,
and what to change), not that the export adds the lines to the opportunity named exactly so, or creates it. A name
ConnectWise holds is still said where the lines go."""

from __future__ import annotations

import html
import re

import pytest
from quote_support import line

from colcw_plugin.sync.quotes.opportunities import NAME_MAX

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

LONG = "Acme Dental office move " + "x" * 96  # 120 characters


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _export_state(client, doc_id: int) -> str:
    panel = client.get(f"/colcw/documents/{doc_id}/panel", headers={"HX-Request": "true"}).get_data(as_text=True)
    return _text(re.search(r'<p id="colcw-export-state">(.*?)</p>', panel, re.S).group(1))


def _checklist_row(client, doc_id: int) -> str:
    page = client.get(f"/colcw/documents/{doc_id}/export").get_data(as_text=True)
    return _text(re.search(r'<tr class="[^"]*" id="colcw-check-opportunity">(.*?)</tr>', page, re.S).group(1))


def test_the_panel_says_the_checklists_refusal_of_a_name_connectwise_cannot_hold(world, rep_client):
    assert len(LONG) == 120 > NAME_MAX
    quote = world.quote([line("OPT-7010")], name=LONG)
    said = _export_state(rep_client, quote.id)
    assert "named exactly" not in said and "or creates it" not in said
    refusal = said.removeprefix("Not exported to ConnectWise yet. ")
    assert refusal != said and refusal.startswith("The opportunity name")
    assert "is 120 characters long; ConnectWise allows at most 100." in refusal and refusal.endswith("Shorten the opportunity name on the document.")
    assert refusal in _checklist_row(rep_client, quote.id)  # the checklist's own sentence


def test_a_name_connectwise_holds_is_still_said_where_the_lines_go(world, rep_client):
    quote = world.quote([line("OPT-7010")], name=LONG[:NAME_MAX])
    assert _export_state(rep_client, quote.id) == (
        f"Not exported to ConnectWise yet. The export adds the lines to Acme Dental’s opportunity named exactly "
        f"“{LONG[:NAME_MAX]}”, or creates it.")
