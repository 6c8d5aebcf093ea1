"""A document's lines against its opportunity's products now: what changed in ConnectWise since the export.

Live updates compute it when an opportunity changes; the document page shows it and the export
page says what the next export will overwrite. Each change is a plain dict (it is stored as
JSON): ``kind`` changed | removed | added, ``line_id``, ``position``, ``item``, ``field``,
``exported`` and ``cw`` (text), and ``product_id`` for a line added by hand.
"""

from __future__ import annotations

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
