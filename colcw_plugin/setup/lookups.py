"""ConnectWise's reference lists that the mapping pages offer: members, locations, departments,
product types, categories, sub-categories, manufacturers and states.

Every list is read to the end through the client's paging (a tenant may hold thousands of
manufacturers); only active records are offered. Names are kept exactly as ConnectWise holds
them, because ConnectWise matches them case-sensitively.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..cw import ConnectWiseClient

LIST_NAMES = ("members", "locations", "departments", "product_types", "categories", "subcategories",
              "manufacturers", "states")


@dataclass(frozen=True)
class Member:
    """An active ConnectWise member with the defaults a rep mapping starts from."""

    id: int
    identifier: str
    name: str
    emails: tuple[str, ...]
    location_id: int | None
    location_name: str
    department_id: int | None
    department_name: str
    api_member: bool

    @property
    def label(self) -> str:
        return f"{self.identifier} ({self.name})" if self.name else self.identifier


@dataclass(frozen=True)
class Ref:
    """A named reference record. ``parent_*`` is the category of a sub-category, the country of a state."""

    id: int
    name: str
    identifier: str = ""
    parent_id: int | None = None
    parent_name: str = ""

    @property
    def label(self) -> str:
        return f"{self.parent_name} / {self.name}" if self.parent_name else self.name


def _ref(value: Any) -> tuple[int | None, str]:
    if isinstance(value, dict):
        return value.get("id"), str(value.get("name") or value.get("identifier") or "")
    return None, ""


def read_members(client: ConnectWiseClient) -> list[Member]:
    """Every active member, sorted by identifier."""
    rows = client.members.iterate(
        fields=["id", "identifier", "firstName", "lastName", "officeEmail", "primaryEmail", "licenseClass",
                "defaultLocation", "defaultDepartment", "inactiveFlag"])
    out = []
    for r in _active(rows):
        loc_id, loc_name = _ref(r.get("defaultLocation"))
        dept_id, dept_name = _ref(r.get("defaultDepartment"))
        emails = tuple(sorted({str(e).strip().lower() for e in (r.get("officeEmail"), r.get("primaryEmail")) if e}))
        out.append(Member(id=r["id"], identifier=str(r.get("identifier") or ""),
                          name=f"{r.get('firstName') or ''} {r.get('lastName') or ''}".strip(), emails=emails,
                          location_id=loc_id, location_name=loc_name, department_id=dept_id,
                          department_name=dept_name, api_member=r.get("licenseClass") == "A"))
    return sorted(out, key=lambda m: m.identifier.lower())


def _active(rows: Iterable[dict]) -> Iterable[dict]:
    # Filtered here rather than with a condition: a record whose inactiveFlag is absent (null)
    # is active, and `inactiveFlag = False` would not match it.
    return (r for r in rows if not r.get("inactiveFlag"))


def _enabled(rows: Iterable[dict]) -> Iterable[dict]:
    return (r for r in rows if not r.get("disabled"))


def _named(rows: Iterable[dict], *, parent_key: str | None = None, identifier: bool = False) -> list[Ref]:
    out = []
    for r in rows:
        parent_id, parent_name = _ref(r.get(parent_key)) if parent_key else (None, "")
        out.append(Ref(id=r["id"], name=str(r.get("name") or ""), identifier=str(r.get("identifier") or "")
                       if identifier else "", parent_id=parent_id, parent_name=parent_name))
    return sorted(out, key=lambda x: (x.parent_name.lower(), x.name.lower()))


def read_list(client: ConnectWiseClient, name: str) -> list[Member] | list[Ref]:
    """One reference list by name (see ``LIST_NAMES``), read to the last page."""
    active = ["id", "name", "inactiveFlag"]
    if name == "members":
        return read_members(client)
    if name == "locations":
        return _named(client.locations.iterate(fields=["id", "name"]))
    if name == "departments":
        return _named(client.departments.iterate(fields=["id", "identifier", "name"]), identifier=True)
    if name == "product_types":
        return _named(_active(client.product_types.iterate(fields=active)))
    if name == "categories":
        return _named(_active(client.categories.iterate(fields=active)))
    if name == "subcategories":
        return _named(_active(client.subcategories.iterate(fields=[*active, "category"])),
                      parent_key="category")
    if name == "manufacturers":
        return _named(_active(client.manufacturers.iterate(fields=active)))
    if name == "states":
        return _named(_enabled(client.states.iterate(fields=["id", "identifier", "name", "country", "disabled"])),
                      parent_key="country",
                      identifier=True)
    raise ValueError(f"unknown ConnectWise list {name!r}; use one of {', '.join(LIST_NAMES)}")


@dataclass
class Lookups:
    """Reference lists read once per page or command, with exact-name indexes."""

    members: list[Member] = field(default_factory=list)
    locations: list[Ref] = field(default_factory=list)
    departments: list[Ref] = field(default_factory=list)
    product_types: list[Ref] = field(default_factory=list)
    categories: list[Ref] = field(default_factory=list)
    subcategories: list[Ref] = field(default_factory=list)
    manufacturers: list[Ref] = field(default_factory=list)
    states: list[Ref] = field(default_factory=list)
    loaded: frozenset[str] = frozenset()
    # ConnectWise's inactive manufacturers (read with ``manufacturers``, never offered): so a page can say a name
    # ConnectWise has but inactive is that, not "not in ConnectWise".
    inactive_manufacturers: list[Ref] = field(default_factory=list)
    # The same for product types, categories and sub-categories (a sub-category whose category is inactive is one
    # of them, not offered either): the export refuses to create catalog items under them.
    inactive_product_types: list[Ref] = field(default_factory=list)
    inactive_categories: list[Ref] = field(default_factory=list)
    inactive_subcategories: list[Ref] = field(default_factory=list)

    def member(self, identifier: str) -> Member | None:
        """The member with exactly this identifier."""
        return next((m for m in self.members if m.identifier == identifier), None)

    def named(self, list_name: str, name: str) -> Ref | None:
        """The record of ``list_name`` with exactly this name."""
        return next((r for r in getattr(self, list_name) if r.name == name), None)

    def subcategory(self, category: str, subcategory: str) -> Ref | None:
        """The sub-category ``subcategory`` of the category ``category`` (exact names)."""
        return next((s for s in self.subcategories if s.parent_name == category and s.name == subcategory), None)

    def subcategory_by_id(self, sub_id: int) -> Ref | None:
        return next((s for s in self.subcategories if s.id == sub_id), None)

    def inactive_type(self, name: str) -> bool:
        """Whether ConnectWise has the product type ``name`` only marked inactive."""
        return self.named("product_types", name) is None and any(x.name == name for x in self.inactive_product_types)

    def inactive_pair(self, category: str, subcategory: str) -> str | None:
        """The record that makes ConnectWise's ``category`` / ``subcategory`` one it has but marks inactive, as the
        export names it ("the category “Hardware”", "the sub-category “Desktops” of Hardware"); None when it is
        active or not in ConnectWise at all."""
        if self.named("categories", category) is None and any(x.name == category for x in self.inactive_categories):
            return f"the category “{category}”"
        if self.subcategory(category, subcategory) is None and any(
                (x.parent_name, x.name) == (category, subcategory) for x in self.inactive_subcategories):
            return f"the sub-category “{subcategory}” of {category}"
        return None


def load_lookups(client: ConnectWiseClient, names: Iterable[str] = LIST_NAMES) -> Lookups:
    """Read the named lists (raises the client's ConnectWiseError when ConnectWise fails)."""
    wanted = tuple(dict.fromkeys(names))
    kept_apart = ("manufacturers", "product_types", "categories", "subcategories")
    lists: dict = {name: read_list(client, name) for name in wanted if name not in kept_apart}
    fields = ["id", "name", "inactiveFlag"]
    # One read each: the active ones are offered, the inactive ones only named.
    for name, resource in (("manufacturers", client.manufacturers), ("product_types", client.product_types)):
        if name in wanted:
            rows = list(resource.iterate(fields=fields))
            lists[name] = _named(_active(rows))
            lists[f"inactive_{name}"] = _named(r for r in rows if r.get("inactiveFlag"))
    if "categories" in wanted or "subcategories" in wanted:
        categories = list(client.categories.iterate(fields=fields))
        if "categories" in wanted:
            lists["categories"] = _named(_active(categories))
            lists["inactive_categories"] = _named(r for r in categories if r.get("inactiveFlag"))
        if "subcategories" in wanted:
            # A sub-category of an inactive category is not offered either: the export refuses to use it.
            off = {r.get("id") for r in categories if r.get("inactiveFlag")}
            subs = list(client.subcategories.iterate(fields=[*fields, "category"]))
            usable = {r["id"] for r in _active(subs) if (r.get("category") or {}).get("id") not in off}
            lists["subcategories"] = _named((r for r in subs if r["id"] in usable), parent_key="category")
            lists["inactive_subcategories"] = _named((r for r in subs if r["id"] not in usable), parent_key="category")
    return Lookups(**lists, loaded=frozenset(wanted))
