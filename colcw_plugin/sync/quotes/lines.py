"""A document's lines on its opportunity: the re-export contract.

Re-exporting a document updates *its own* lines on the opportunity and nothing else:

* a line whose quantity, price, cost or description changed is updated in place;
* a line removed from the document is removed from the opportunity;
* a new line is added;
* a line is never duplicated, whatever happened before (a crash, a double click);
* lines of other documents, and lines added by hand in ConnectWise, are left alone.

Ownership is marked on ConnectWise itself: each product a document creates carries
``integrationXRef = "colcw:<document id>:<line id>"``. Listing the opportunity's products (one
request) before writing therefore finds everything an earlier, interrupted export created, so a
rerun completes it instead of adding the same lines again; a product POST whose answer is lost
(a timeout, a dropped connection) is followed by a look-up of that marker before anything is sent
again. A sales order converted from a
quote adopts the quote's products (re-marked as the order's) rather than adding copies.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from ...cw import ConnectWiseClient, NotFound, create_once
from ...cw import conditions as C
from ...text import cw_cut, cw_length
from ..shared.markers import marker, parse_marker
from ..shared.prefetch import call_together
from .catalog import LineInput

PRODUCT_FIELDS = ["id", "catalogItem", "quantity", "price", "cost", "description", "sequenceNumber",
                  "integrationXRef"]
DESCRIPTION_MAX = 2000  # ProductItem.description
CUSTOMER_DESCRIPTION_MAX = 6000
def _money(value: Decimal | float | int | None) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(Decimal("0.01"))


def cut_descriptions(lines: Iterable[LineInput]) -> list[str]:
    """The export's note on descriptions longer than an opportunity product holds (ConnectWise keeps their
    start there; the customer description keeps more): cut without a word, a rep could not tell."""
    long = [ln for ln in lines if cw_length(ln.description.strip() or ln.item_number) > DESCRIPTION_MAX]
    if not long:
        return []
    named = ", ".join(f"line {ln.position} ({ln.item_number})" for ln in long)
    return [f"The description{'s' if len(long) > 1 else ''} of {named} {'are' if len(long) > 1 else 'is'} longer "
            f"than the {DESCRIPTION_MAX:,} characters an opportunity product holds: ConnectWise shows the first "
            f"{DESCRIPTION_MAX:,} (its customer description keeps up to {CUSTOMER_DESCRIPTION_MAX:,})."]


@dataclass(frozen=True)
class Desired:
    """What one line should look like on the opportunity."""

    line: LineInput
    catalog_item_id: int

    def fields(self) -> dict:
        desc = self.line.description.strip() or self.line.item_number
        return {"quantity": float(self.line.quantity), "price": float(self.line.price),
                "cost": float(self.line.cost), "description": cw_cut(desc, DESCRIPTION_MAX),
                "sequenceNumber": float(self.line.position)}

    def changes_from(self, product: dict) -> dict:
        """The fields that differ between this line and ``product`` (money compared to the cent)."""
        want = self.fields()
        out = {}
        for key in ("quantity", "price", "cost"):
            if _money(product.get(key)) != _money(want[key]):
                out[key] = want[key]
        if (product.get("description") or "") != want["description"]:
            out["description"] = want["description"]
            out["customerDescription"] = cw_cut(self.line.description.strip() or self.line.item_number,
                                                CUSTOMER_DESCRIPTION_MAX)
        if product.get("sequenceNumber") is None or float(product["sequenceNumber"]) != want["sequenceNumber"]:
            out["sequenceNumber"] = want["sequenceNumber"]
        return out


@dataclass
class Plan:
    create: list[Desired] = field(default_factory=list)
    update: list[tuple[int, Desired, dict]] = field(default_factory=list)
    keep: list[tuple[int, Desired]] = field(default_factory=list)
    delete: list[int] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return len(self.create) + len(self.update) + len(self.delete)


def plan_lines(document_id: int, desired: list[Desired], products: Iterable[dict], *,
               adopt_from: Iterable[int] = ()) -> Plan:
    """Match the document's lines to the opportunity's products and say what to write.

    ``adopt_from`` are documents whose products this one takes over (a sales order's source
    quote): they are matched by catalog item, in order, after the order's own markers.
    """
    adopt = set(adopt_from)
    own: dict[int, list[dict]] = {}
    adoptable: list[dict] = []
    for p in sorted(products, key=lambda p: p.get("id") or 0):
        parsed = parse_marker(p.get("integrationXRef"))
        if parsed is None:
            continue  # added by hand, or by another integration
        doc, line = parsed
        if doc == document_id:
            own.setdefault(line, []).append(p)
        elif doc in adopt:
            adoptable.append(p)
    plan = Plan()
    unmatched: list[Desired] = []
    for want in desired:
        candidates = own.pop(want.line.line_id, [])
        same_item = [p for p in candidates if (p.get("catalogItem") or {}).get("id") == want.catalog_item_id]
        if same_item:
            product = same_item[0]
            plan.delete.extend(p["id"] for p in candidates if p is not product)  # duplicates from the past
            _update_or_keep(plan, product, want)
        else:
            plan.delete.extend(p["id"] for p in candidates)  # the line now names another item
            unmatched.append(want)
    for want in unmatched:
        product = next((p for p in adoptable if (p.get("catalogItem") or {}).get("id") == want.catalog_item_id), None)
        if product is None:
            plan.create.append(want)
            continue
        adoptable.remove(product)
        changes = want.changes_from(product)
        changes["integrationXRef"] = marker(document_id, want.line.line_id)
        plan.update.append((product["id"], want, changes))
    for leftovers in own.values():
        plan.delete.extend(p["id"] for p in leftovers)  # lines removed from the document
    plan.delete.extend(p["id"] for p in adoptable)  # source-quote lines the order no longer has
    return plan


def _update_or_keep(plan: Plan, product: dict, want: Desired) -> None:
    changes = want.changes_from(product)
    if changes:
        plan.update.append((product["id"], want, changes))
    else:
        plan.keep.append((product["id"], want))


def list_products(client: ConnectWiseClient, opportunity_id: int) -> list[dict]:
    """Every product line of an opportunity (one request up to 1,000 lines)."""
    return list(client.products.iterate(conditions=C.eq("opportunity/id", int(opportunity_id)),
                                        fields=PRODUCT_FIELDS))


def new_product_body(document_id: int, opportunity_id: int, want: Desired) -> dict:
    body = {"catalogItem": {"id": want.catalog_item_id}, "opportunity": {"id": int(opportunity_id)},
            "billableOption": "Billable", "integrationXRef": marker(document_id, want.line.line_id),
            "customerDescription": cw_cut(want.line.description.strip() or want.line.item_number,
                                          CUSTOMER_DESCRIPTION_MAX)}
    body.update(want.fields())
    return body


def _find_product(client: ConnectWiseClient, opportunity_id: int, xref: str) -> dict | None:
    """The product a create whose answer was lost made: the one carrying its ``integrationXRef``."""
    return next((p for p in list_products(client, opportunity_id) if p.get("integrationXRef") == xref), None)


def apply_plan(client: ConnectWiseClient, document_id: int, opportunity_id: int, plan: Plan, *,
               at_once: int = 1) -> dict[int, int]:
    """Write the plan; returns line id → product id for every line of the document.

    Each write touches one product and none depends on another (the order on the opportunity is each
    line's ``sequenceNumber``, not the order of creation), so they go out side by side, ``at_once`` at a
    time (the run's worker's share of the client's requests in flight: :func:`~..shared.prefetch.writes_at_once`):
    against a real tenant a rep's new ten-line quote waits for about three round trips for its lines, not
    ten. When one fails the others under way end first, and a rerun finds whatever they created by its
    marker."""
    result = {want.line.line_id: pid for pid, want in plan.keep}

    def update(pid: int, want: Desired, changes: dict) -> tuple[int, int]:
        client.products.patch(pid, changes)
        return want.line.line_id, pid

    def create(want: Desired) -> tuple[int, int]:
        body = new_product_body(document_id, opportunity_id, want)
        created = create_once(lambda: client.products.create(body),
                              lambda: _find_product(client, opportunity_id, body["integrationXRef"]),
                              what=f"line {want.line.position} of document {document_id}")
        return want.line.line_id, created["id"]

    def delete(pid: int) -> None:
        with contextlib.suppress(NotFound):  # already gone (removed in ConnectWise, or by an earlier run)
            client.products.delete(pid)

    writes = ([functools.partial(update, *u) for u in plan.update] + [functools.partial(create, w) for w in plan.create]
              + [functools.partial(delete, pid) for pid in plan.delete])
    done = call_together(writes, at_once=at_once, name="colcw-lines")
    result.update(pair for pair in done if pair is not None)
    return result
