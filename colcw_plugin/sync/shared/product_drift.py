"""A document's lines against its opportunity's products now: what changed in ConnectWise since the export.

Live updates compute it when an opportunity changes; the document page shows it and the export
page says what the next export will overwrite. Each change is a plain dict (it is stored as
JSON): ``kind`` changed | removed | added, ``line_id``, ``position``, ``item``, ``field``,
``exported`` and ``cw`` (text), and ``product_id`` for a line added by hand.

An opportunity renamed or reopened in ConnectWise is a note of its own on each linked document's page
(:func:`opportunity_notes`): live updates keep it on the document's link (``synced_values["notes"]``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ...models import DocumentLineExport
from .markers import parse_marker


def _money(value) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(Decimal("0.01"))


def product_changes(exports: list[DocumentLineExport], products: list[dict], hand_at_export: set[int]) -> list[dict]:
    """How the opportunity's products differ from what the document exported (see the module doc)."""
    by_id = {p["id"]: p for p in products}
    out = []
    for le in sorted(exports, key=lambda e: (e.position, e.line_id)):
        base = {"line_id": le.line_id, "position": le.position, "item": le.item_number}
        product = by_id.get(le.cw_product_id)
        if product is None:
            out.append({**base, "kind": "removed", "field": "", "exported": _line_text(le.quantity, le.price), "cw": ""})
            continue
        for name in ("quantity", "price", "cost"):
            sent = getattr(le, name)
            if sent is not None and _money(product.get(name)) != _money(sent):
                out.append({**base, "kind": "changed", "field": name, "exported": str(_money(sent)),
                            "cw": str(_money(product.get(name)))})
        if le.quantity is not None and (product.get("description") or "") != (le.description or ""):
            out.append({**base, "kind": "changed", "field": "description", "exported": le.description or "",
                        "cw": product.get("description") or ""})
    for p in sorted(products, key=lambda p: p["id"]):
        if parse_marker(p.get("integrationXRef")) is None and p["id"] not in hand_at_export:
            item = (p.get("catalogItem") or {}).get("identifier") or f"product {p['id']}"
            out.append({"line_id": None, "position": None, "item": item, "kind": "added", "field": "", "exported": "",
                        "cw": _line_text(p.get("quantity"), p.get("price")), "product_id": p["id"]})
    return out


def _line_text(quantity, price) -> str:
    return f"{_money(quantity).normalize():f} × {_money(price)}"


def describe_change(change: dict) -> str:
    """One product difference in words (the run log, the document and export pages)."""
    where = f"line {change['position']} ({change['item']})" if change.get("position") else change["item"]
    if change["kind"] == "removed":
        return f"{where} removed in ConnectWise (exported {change['exported']})"
    if change["kind"] == "added":
        return f"{where} added by hand in ConnectWise ({change['cw']})"
    return f"{where} {change['field']} {change['exported']} → {change['cw']} in ConnectWise"


def overwrite(change: dict) -> str:
    """What the next export does to one change (the export page's plan)."""
    where = f"line {change['position']} ({change['item']})" if change.get("position") else change["item"]
    if change["kind"] == "removed":
        return f"adds {where} again"
    if change["kind"] == "added":
        return f"leaves {where}, added by hand in ConnectWise, as it is"
    return f"sets {where} {change['field']} back from {change['cw']} to {change['exported']}"


RENAMED, REOPENED = "renamed", "reopened"  # the notes live updates keep on a document's link (``synced_values``)
# The opportunity's name as the document's last export found it, kept on the document's link (``synced_values``) by
# the first rename live updates read after that export (the export state's name is ConnectWise's name as last read):
# {"name": …, "at": the export's time, ISO}. Stale once the document is exported again (another "at").
EXPORTED_AS = "exported_as"


def exported_as(synced_values: dict | None, exported_at: dt.datetime | None) -> str | None:
    """The opportunity's name as the export of ``exported_at`` found it, when it was renamed since (None: not renamed
    since that export, so the name colcw knows is that one)."""
    kept = (synced_values or {}).get(EXPORTED_AS) or {}
    if exported_at is None or kept.get("at") != exported_at.isoformat():
        return None
    return str(kept.get("name") or "")


@dataclass(frozen=True)
class OpportunityNote:
    """A change made to a document's opportunity in ConnectWise, in words, and when live updates read it."""

    kind: str
    text: str
    seen: dt.datetime | None


def _by(note: dict) -> str:
    return (f" on {note['on']}" if note.get("on") else "") + (f" by {note['by']}" if note.get("by") else "")


def reopened_words(note: dict, opportunity_id: int | None) -> str:
    """What a reopened note says happened (the page's note and the run log's line): which opportunity, who and when
    as ConnectWise says, what it was and its status now."""
    now = f"its status there is “{note['status']}” now" if note.get("status") else "it is open there now"
    return f"Opportunity {opportunity_id} was reopened in ConnectWise{_by(note)}: it was {note['was']}, {now}."


def reopened_advice(note: dict, number: str, is_quote: bool, waiting: Sequence[str] = (), order: str = "") -> str:
    """What a reopened opportunity means for document ``number`` and what to do. ``waiting``: for a sales order, the
    unconverted quotes feeding the same opportunity (quotes/won.py's rule): while there is one, exporting the order
    again leaves the opportunity open, so it is not offered as the way to set it Won. ``order``: the number of the
    sales order a quote was converted to, which carries its sale now (the quote is not exported again): what to do
    is that order's, and ``waiting`` is then the order's."""
    if is_quote and order:
        return (f"{number} was converted to sales order {order}, which carries its sale to ConnectWise ({number} "
                f"itself is not exported again): " + reopened_advice(note, order, False, waiting))
    if is_quote:
        return (f"{number}'s opportunity is no longer {note['was']} in ConnectWise; nothing to do here unless it "
                "should be closed again, which is set in ConnectWise.")
    said = (f"{number}'s sale is no longer Won in ConnectWise." if note["was"] == "Won"
            else f"{number}'s sale is open in ConnectWise again.")
    if waiting:
        several = len(waiting) > 1
        return (f"{said} Exporting {number} again leaves it open: quote{'s' if several else ''} "
                f"{', '.join(waiting)} also feed{'' if several else 's'} it and {'have' if several else 'has'} not been "
                "converted to a sales order. It is set to Won when the last of them is converted; to close it sooner, "
                "set its status in ConnectWise.")
    if note["was"] == "Won":
        return f"{said} If the sale stands, export {number} again to set it Won; if not, set its status in ConnectWise."
    return f"{said[:-1]}: export {number} again to set it Won, or set its status in ConnectWise."


def opportunity_notes(values: dict | None, opportunity_id: int | None, number: str, is_quote: bool,
                      name_now: str, waiting: Sequence[str] = (), order: str = "") -> list[OpportunityNote]:
    """The renamed / reopened notes on the link of document ``number`` (its ``synced_values``), in words: what
    changed, who changed it and when as ConnectWise says, and what it means for the document. ``name_now``: the
    name the document's opportunity-name field holds now; ``waiting`` and ``order`` (a converted quote's sales
    order, which is exported in its stead): see :func:`reopened_advice`."""
    kept = (values or {}).get("notes") or {}
    out = []
    renamed = kept.get(RENAMED)
    if renamed:
        text = (f"Opportunity {opportunity_id} was renamed in ConnectWise{_by(renamed)}: “{renamed['from']}” → "
                f"“{renamed['to']}”. ")
        # What exports it from now on: a converted quote is not exported again, its sales order is.
        exporting = (f"{number} itself is not exported again (it was converted to sales order {order}); exporting "
                     f"{order}" if is_quote and order else f"Exporting {number} again")
        if name_now != renamed["to"]:
            said = f"“{name_now}”" if name_now else "nothing"
            text += (f"{number}'s opportunity name field still says {said}; colcw did not change it. {exporting} "
                     f"keeps ConnectWise's name: it stays linked to opportunity {opportunity_id} by id.")
        else:
            text += f"{exporting} keeps that name: it stays linked to opportunity {opportunity_id} by id."
        out.append(OpportunityNote(RENAMED, text, _seen(renamed)))
    reopened = kept.get(REOPENED)
    if reopened:
        text = f"{reopened_words(reopened, opportunity_id)} {reopened_advice(reopened, number, is_quote, waiting, order)}"
        out.append(OpportunityNote(REOPENED, text, _seen(reopened)))
    return out


def _seen(note: dict) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(note["seen"]) if note.get("seen") else None
    except ValueError:
        return None
