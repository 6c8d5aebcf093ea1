"""What ConnectWise holds for the records live updates look at, read in bulk, never one request per record.

Records are asked for by id (``id in (...)``, split to keep URLs short); a record that does not
come back was deleted (a deleted company comes back with ``deletedFlag``). An opportunity's
products are read with it (``opportunity/id in (...)``): the lines exported to it are compared
with what ConnectWise holds now.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ...cw import ConnectWiseClient
from ..shared import fields as M

# ``_info`` whole: a path inside it (``_info/updatedBy``) is no field name, and ConnectWise drops such a name from
# ``fields`` (the sandbox does: cw_sandbox/names.py); who updated it last names who moved colcw's Won to Lost.
OPPORTUNITY_FIELDS = ["id", "name", "status", "company", "closedDate", "closedBy", "_info"]
# A product's own ``_info`` is not asked for: nothing compares its lastUpdated (product_drift compares the values).
PRODUCT_FIELDS = ["id", "opportunity/id", "catalogItem", "quantity", "price", "cost", "description",
                  "sequenceNumber", "integrationXRef"]
ENTITIES = ("company", "contact", "opportunity")


@dataclass
class Found:
    """Records read back, by ConnectWise id, and the ids that were asked for."""

    companies: dict[int, dict] = field(default_factory=dict)
    contacts: dict[int, dict] = field(default_factory=dict)
    opportunities: dict[int, dict] = field(default_factory=dict)
    products: dict[int, list[dict]] = field(default_factory=dict)  # by opportunity id
    asked: dict[str, set[int]] = field(default_factory=lambda: {e: set() for e in ENTITIES})

    def records(self, entity: str) -> dict[int, dict]:
        return {"company": self.companies, "contact": self.contacts, "opportunity": self.opportunities}[entity]

    def missing(self, entity: str) -> set[int]:
        """Asked for and not returned: deleted in ConnectWise."""
        return self.asked[entity] - set(self.records(entity))

    def add(self, entity: str, records: Iterable[dict]) -> None:
        target = self.records(entity)
        for r in records:
            target[r["id"]] = r
            self.asked[entity].add(r["id"])

    def __len__(self) -> int:
        return sum(len(ids) for ids in self.asked.values())


def read(client: ConnectWiseClient, ids: dict[str, Iterable[int]], found: Found | None = None) -> Found:
    """Read the records ``ids`` names (entity → ids) into ``found`` (a new one by default)."""
    found = found or Found()
    wanted = {e: sorted(set(ids.get(e) or ()) - set(found.records(e))) for e in ENTITIES}
    if wanted["company"]:
        found.add("company", client.companies.iterate_in("id", wanted["company"], fields=M.COMPANY_FIELDS))
    if wanted["contact"]:
        found.add("contact", client.contacts.iterate_in("id", wanted["contact"], fields=M.CONTACT_FIELDS))
    if wanted["opportunity"]:
        found.add("opportunity", client.opportunities.iterate_in("id", wanted["opportunity"],
                                                                  fields=OPPORTUNITY_FIELDS))
    for entity in ENTITIES:
        found.asked[entity].update(wanted[entity])
    read_products(client, found, [i for i in wanted["opportunity"] if i in found.opportunities])
    return found


def read_products(client: ConnectWiseClient, found: Found, opportunity_ids: Iterable[int]) -> None:
    """Every product line of these opportunities (they are compared as a whole)."""
    ids = sorted(set(opportunity_ids) - set(found.products))
    if not ids:
        return
    by_opp: dict[int, list[dict]] = defaultdict(list)
    for p in client.products.iterate_in("opportunity/id", ids, fields=PRODUCT_FIELDS):
        by_opp[(p.get("opportunity") or {}).get("id")].append(p)
    for i in ids:
        found.products[i] = by_opp.get(i, [])
