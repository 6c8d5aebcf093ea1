"""Which document line an opportunity product is: the ``integrationXRef`` colcw writes on it.

Each product a document's export creates carries ``colcw:<document id>:<line id>``. The quote
export reads it to update its own lines and leave everyone else's alone; live updates read it
to tell a line colcw exported from one a person added by hand in ConnectWise.
"""

from __future__ import annotations

import re

_MARKER = re.compile(r"^colcw:(\d+):(\d+)$")


def marker(document_id: int, line_id: int) -> str:
    """The ``integrationXRef`` that marks a product as line ``line_id`` of ``document_id``."""
    return f"colcw:{int(document_id)}:{int(line_id)}"


def parse_marker(value: str | None) -> tuple[int, int] | None:
    """(document id, line id) of a colcw product, or None for a product colcw did not create."""
    m = _MARKER.match(value or "")
    return (int(m.group(1)), int(m.group(2))) if m else None
