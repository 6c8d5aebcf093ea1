"""A document without lines: its checklist's ✗ Lines row and the export refusing it said the same rule in two wordings
(“The document has no lines: add products, then export.” beside “Q… has no lines.” and “Add the products to the
document, then export it.”). Both now say the export's own message and fix (``problems.no_lines``, defined once)."""

from __future__ import annotations

import html as html_lib
import re

from quote_support import items

from colcw_plugin.sync.quotes.preflight import LINES, preflight
from host_stub.extensions import db
from host_stub.snapshots import document_snapshot


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", page))).strip()


def test_the_checklist_and_the_refused_export_say_no_lines_in_the_same_words(world, rep_client, riley):
    doc = world.quote([], name="Empty deal")
    [check] = [c for c in preflight(db.session, doc, riley, document_snapshot(doc)) if c.label == LINES]
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    row = _text(page.split('id="colcw-check-lines"', 1)[1].split("</tr>", 1)[0]).lstrip(">").strip()

    # Exported anyway, as a run of several documents does (Export now stays disabled): refused, nothing sent.
    run = world.export({"document_ids": [doc.id]})
    [item] = items(run)
    assert item.action == "failed"
    assert world.opportunities() == []
    refused = item.message.removeprefix(f"{doc.number} was not exported: ")
    assert refused != item.message  # (the run log's own prefix, then the refusal)

    said = f"{refused} {item.resolution}"
    assert said == f"{doc.number} has no lines. Add the products to the document, then export it."
    assert check.detail == said
    assert row == f"✗ {LINES} {said}"
