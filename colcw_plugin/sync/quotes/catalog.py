"""The ConnectWise catalog for the quote export (Appendix D: "COL checks for products in the CW DB").

Every line's item / part number is looked up in batches (``identifier in (...)``, split so each
URL stays under 2,000 characters) and remembered for the rest of the run. A missing item is
created when everything ConnectWise needs is known:

* its product type, through the product type mapping (Product / Service / Labor);
* its category and sub-category, by the host's names (category mode "names") or through the
  category mapping (mode "mapping");
* its manufacturer, by exact name (the user guide: names are case sensitive) or an alias.

Otherwise the line is reported with what is missing and where to fix it, and nothing is
created for the document (no half-written opportunities).

Identifiers: ConnectWise keeps catalog identifiers unique *case-insensitively*, so a
case-insensitive server match is the one item ConnectWise itself would use; an exact match is
preferred when the server returns several.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from ...cw import ConnectWiseClient, ValidationFailed, create_once, places
from ...cw import conditions as C
from ...setup import pages
from ...setup.catalog_rules import MAPPING_MODE, NO_SUBCATEGORY, CatalogRules
from ...setup.field_mapping import PRODUCT
from ...setup.manufacturers import case_twin, case_twin_problem, inactive_problem, inactive_twin
from ...text import cw_cut, cw_length, shorten
from .problems import ExportRefused, LineProblem

ITEM_FIELDS = ["id", "identifier", "description", "inactiveFlag"]
ITEM_MAX = PRODUCT.rule("item_number").max_len or 75
CATALOG_DESCRIPTION_MAX = 60  # CatalogItem.description, Max length: 60
CUSTOMER_DESCRIPTION_MAX = 6000


@dataclass(frozen=True)
class LineInput:
    """A document line as plain values (threads never share ORM objects)."""

    line_id: int
    position: int
    item_number: str
    manufacturer: str
    description: str
    category: str
    subcategory: str
    product_type: str
    quantity: Decimal
    cost: Decimal
    price: Decimal


def _by_name(rows: Iterable[dict], name: str, key: str = "name") -> dict | None:
    """Exact name first; else the single case-insensitive match (ConnectWise's own uniqueness)."""
    rows = list(rows)
    exact = [r for r in rows if r.get(key) == name]
    if exact:
        return exact[0]
    folded = [r for r in rows if str(r.get(key, "")).lower() == name.lower()]
    return folded[0] if len(folded) == 1 else None


class Catalog:
    """Catalog look-ups and creations for one run, shared by its threads. ``rules`` may be given as a
    function that loads them: they are read when an item must be created, at most once per run."""

    def __init__(self, client: ConnectWiseClient, rules: CatalogRules | Callable[[], CatalogRules]) -> None:
        self.client = client
        self._rules = rules
        self._lock = threading.RLock()
        self._items: dict[str, list[dict]] = {}  # lower-cased identifier -> records
        self._absent: set[str] = set()
        self._fetching: dict[str, threading.Event] = {}  # identifiers a thread is asking ConnectWise for
        self._manufacturers: dict[str, list[dict]] = {}  # lower-cased name -> records
        self._categories: dict[str, list[dict]] = {}
        self._subcategories: dict[int, list[dict]] = {}  # category id -> its sub-categories
        self._types: list[dict] | None = None
        # Records of mappings saved with their ids, read by id: ConnectWise may have marked them inactive since.
        self._subcategory_ids: dict[int, dict | None] = {}
        self._category_ids: dict[int, dict | None] = {}

    @property
    def rules(self) -> CatalogRules:
        if not isinstance(self._rules, CatalogRules):
            with self._lock:
                if not isinstance(self._rules, CatalogRules):
                    self._rules = self._rules()
        return self._rules

    # -- look-ups ------------------------------------------------------------------------

    def lookup(self, identifiers: Iterable[str]) -> dict[str, dict]:
        """Catalog items by identifier (batched; cached for the run). The run's threads share the cache:
        an item another thread is already asking ConnectWise for is waited for, not asked again."""
        wanted = list(dict.fromkeys(identifiers))
        with self._lock:
            others = {self._fetching[i.lower()] for i in wanted if i.lower() in self._fetching}
            mine = [i for i in wanted if i.lower() not in self._items and i.lower() not in self._absent
                    and i.lower() not in self._fetching]
            done = threading.Event()
            for i in mine:
                self._fetching[i.lower()] = done
        if mine:
            try:
                found = list(self.client.catalog_items.iterate_in("identifier", mine, fields=ITEM_FIELDS))
                with self._lock:
                    for rec in found:
                        self._remember(rec)
                    for i in mine:
                        if i.lower() not in self._items:
                            self._absent.add(i.lower())
            finally:
                with self._lock:
                    for i in mine:
                        self._fetching.pop(i.lower(), None)
                done.set()
        for other in others:
            other.wait(timeout=300)
        with self._lock:
            missed = [i for i in wanted if i.lower() not in self._items and i.lower() not in self._absent]
        if missed:  # another thread's look-up failed: ask for them here (its error was its document's)
            return {**self.lookup(missed), **self._cached(i for i in wanted if i not in missed)}
        return self._cached(wanted)

    def _cached(self, identifiers: Iterable[str]) -> dict[str, dict]:
        out = {}
        with self._lock:
            for i in identifiers:
                match = _by_name(self._items.get(i.lower(), []), i, "identifier")
                if match is not None:
                    out[i] = match
        return out

    def _remember(self, rec: dict) -> None:
        key = str(rec.get("identifier", "")).lower()
        rows = [r for r in self._items.get(key, []) if r.get("id") != rec.get("id")]
        self._items[key] = rows + [rec]
        self._absent.discard(key)

    def _load_names(self, cache: dict[str, list[dict]], resource, names: Iterable[str]) -> None:
        unknown = [n for n in dict.fromkeys(names) if n and n.lower() not in cache]
        if not unknown:
            return
        rows = list(resource.iterate_in("name", unknown, fields=["id", "name", "inactiveFlag"]))
        with self._lock:
            for n in unknown:
                cache.setdefault(n.lower(), [])
            for r in rows:
                bucket = cache.setdefault(str(r.get("name", "")).lower(), [])
                if all(b.get("id") != r.get("id") for b in bucket):
                    bucket.append(r)

    def _manufacturer(self, name: str) -> dict | None:
        # Exact, case included: the user guide's rule for manufacturer names.
        return next((r for r in self._manufacturers.get(name.lower(), []) if r.get("name") == name), None)

    def _category(self, name: str) -> dict | None:
        return _by_name(self._categories.get(name.lower(), []), name)

    def _subcategory(self, category_id: int, name: str) -> dict | None:
        if category_id not in self._subcategories:
            rows = list(self.client.subcategories.iterate(
                conditions=C.eq("category/id", int(category_id)), fields=["id", "name", "category", "inactiveFlag"]))
            with self._lock:
                self._subcategories[category_id] = rows
        return _by_name(self._subcategories[category_id], name)

    def _all_types(self) -> list[dict]:
        if self._types is None:
            rows = list(self.client.product_types.iterate(fields=["id", "name", "inactiveFlag"]))
            with self._lock:
                self._types = rows
        return self._types

    def _type_by_name(self, name: str) -> dict | None:
        return _by_name(self._all_types(), name)

    def _load_ids(self, cache: dict[int, dict | None], resource, ids: Iterable[int | None], fields: list[str]) -> None:
        unknown = [i for i in dict.fromkeys(ids) if i and i not in cache]
        if not unknown:
            return
        rows = {r.get("id"): r for r in resource.iterate_in("id", unknown, fields=fields)}
        with self._lock:
            for i in unknown:
                cache[i] = rows.get(i)

    # -- the export's entry point --------------------------------------------------------

    def ensure(self, lines: list[LineInput], *, create: bool = True,
               exported: dict[int, tuple[str, int | None]] | None = None,
               created: list[dict] | None = None) -> dict[int, int]:
        """The catalog item id of every line, creating missing items; or :class:`ExportRefused`.

        Nothing is created unless every line can be exported. With ``create`` False the lines are
        only checked (the export is refused for another reason): the result then lacks the
        missing items. ``exported`` (line id -> item number and catalog item id at the last export)
        spares the look-up of a line whose item number has not changed since: its product already
        holds that catalog item. ``created`` gets the body of each item created (for the run log).
        """
        problems: list[LineProblem] = []
        valid = []
        ids: dict[int, int] = {}
        for ln in lines:
            item_number, item_id = (exported or {}).get(ln.line_id, ("", None))
            if item_id and item_number == ln.item_number:
                ids[ln.line_id] = item_id
            elif (problem := item_number_problem(ln)) is not None:
                problems.append(problem)
            else:
                valid.append(ln)
        found = self.lookup(ln.item_number for ln in valid) if valid else {}
        missing = []
        for ln in valid:
            item = found.get(ln.item_number)
            if item is None:
                missing.append(ln)
            elif item.get("inactiveFlag"):
                problems.append(_problem(ln, f"is inactive in the ConnectWise catalog (item {item['id']}).",
                                         "Reactivate the item in ConnectWise (Procurement → Product Catalog) "
                                         "or replace the line."))
        bodies = self._creation_bodies(missing, problems) if missing else {}
        if problems:
            problems = _per_line(problems)
            n = len(problems)
            raise ExportRefused(f"{n} line{'s' if n > 1 else ''} cannot be exported, so nothing was sent to "
                                "ConnectWise.", "Fix what each line below names, then export again.",
                                lines=problems)
        if not create:
            return {**ids, **{ln.line_id: found[ln.item_number]["id"] for ln in valid if ln.item_number in found}}
        for identifier, body in bodies.items():
            found[identifier] = self._create(body)
            if created is not None:
                created.append(body)
        return {**ids, **{ln.line_id: found[ln.item_number]["id"] for ln in valid}}

    def _creation_bodies(self, missing: list[LineInput], problems: list[LineProblem]) -> dict[str, dict]:
        rules = self.rules
        # Batch what creation needs: manufacturers (with aliases given by name) and category names.
        # (aliases checked by id too: ConnectWise may have marked their manufacturer inactive since)
        alias_names = [a.name for a in (rules.alias_for(ln.manufacturer) for ln in missing) if a]
        self._load_names(self._manufacturers, self.client.manufacturers,
                         [ln.manufacturer for ln in missing] + alias_names)
        cat_names = [pair[0].name for pair in (rules.category_for(ln.category, ln.subcategory) for ln in missing)
                     if pair is not None and not pair[1].id]
        self._load_names(self._categories, self.client.categories, cat_names)
        # Pairs mapped with their ids are checked by id: a sub-category (or its category) ConnectWise has marked
        # inactive since it was mapped is refused, as one found by name is.
        id_pairs = [pair for pair in (rules.category_for(ln.category, ln.subcategory) for ln in missing)
                    if pair is not None and pair[1].id]
        self._load_ids(self._subcategory_ids, self.client.subcategories, (p[1].id for p in id_pairs),
                       ["id", "name", "category", "inactiveFlag"])
        self._load_ids(self._category_ids, self.client.categories,
                       [p[0].id for p in id_pairs] + [((self._subcategory_ids.get(p[1].id) or {}).get("category")
                                                       or {}).get("id") for p in id_pairs],
                       ["id", "name", "inactiveFlag"])

        bodies: dict[str, dict] = {}
        for ln in missing:
            if ln.item_number in bodies:
                continue
            before = len(problems)
            type_id = self._resolve_type(ln, problems)
            cat_id, sub_id = self._resolve_category(ln, problems)
            # A Service or Labor line becomes a Service-class item (ConnectWise's productClass; otherwise it
            # defaults to NonInventory and the forecast counts it as Product revenue). ConnectWise's CatalogItem
            # needs no manufacturer, and the guide's manufacturer rule (§1.6) is for products: a service line
            # without one is created without one.
            service = ln.product_type in SERVICE_TYPES
            maker_id = (None if service and not ln.manufacturer.strip()
                        else self._resolve_manufacturer(ln, problems))
            if len(problems) > before:
                continue
            text = ln.description.strip() or ln.item_number
            body = {
                "identifier": ln.item_number, "description": shorten(text, CATALOG_DESCRIPTION_MAX),
                "customerDescription": cw_cut(text, CUSTOMER_DESCRIPTION_MAX), "category": {"id": cat_id},
                "subcategory": {"id": sub_id}, "type": {"id": type_id},
                "manufacturerPartNumber": cw_cut(ln.item_number, 50), "cost": float(ln.cost), "price": float(ln.price),
            }
            if maker_id:
                body["manufacturer"] = {"id": maker_id}
            if service:
                body["productClass"] = "Service"
            bodies[ln.item_number] = body
        return bodies

    def _resolve_type(self, ln: LineInput, problems: list[LineProblem]) -> int | None:
        target = self.rules.product_type_for(ln.product_type)
        type_id = target.id if target else None
        found = None
        if target:  # by its id when mapped with one: ConnectWise may have marked it inactive since
            found = (next((r for r in self._all_types() if r.get("id") == type_id), None) if type_id
                     else self._type_by_name(target.name))
            type_id = type_id or (found["id"] if found else None)
        if found is not None and found.get("inactiveFlag"):
            name = str(found.get("name") or target.name)
            problems.append(_uncreatable(
                ln, f"{ln.product_type} is mapped to the product type “{name}”, which ConnectWise has but marks "
                "inactive.",
                f"Activate “{name}” in ConnectWise ({places.PRODUCT_TYPE}), or map {ln.product_type} to another "
                f"ConnectWise product type ({pages.PRODUCT_TYPES.name}), or add {ln.item_number} to the "
                "ConnectWise catalog."))
            return None
        if not type_id:
            problems.append(_uncreatable(
                ln, f"no ConnectWise product type is mapped to {ln.product_type}.",
                f"Map {ln.product_type} to a ConnectWise product type ({pages.PRODUCT_TYPES.name}), "
                f"or add {ln.item_number} to the ConnectWise catalog."))
        return type_id

    def _resolve_category(self, ln: LineInput, problems: list[LineProblem]) -> tuple[int | None, int | None]:
        # The mapping row a line is mapped by, as the Categories page names it: a category's lines without a
        # sub-category have a row of their own.
        where = (f"{ln.category} / {ln.subcategory or NO_SUBCATEGORY}" if ln.category
                 else f" / {ln.subcategory}" if ln.subcategory else "(none)")
        pair = self.rules.category_for(ln.category, ln.subcategory)
        if pair is None:
            if self.rules.by_mapping:
                problems.append(_uncreatable(
                    ln, f"category {where} is not mapped to a ConnectWise category and sub-category.",
                    f"Map {where} on {pages.CATEGORIES.name}, or add {ln.item_number} to the "
                    "ConnectWise catalog."))
            elif ln.category:  # names mode: no sub-category to look for by name; its category's row can map it
                problems.append(_uncreatable(
                    ln, f"the line has category {ln.category} but no sub-category, and a ConnectWise product needs "
                    "both.", f"Set the line's sub-category, or {self._switch_to_mapping(ln, where)} Or add "
                    f"{ln.item_number} to the ConnectWise catalog."))
            else:
                problems.append(_uncreatable(
                    ln, "the line has no category and sub-category.", f"Set the line's category and sub-category, or add {ln.item_number} to "
                    "the ConnectWise catalog."))
            return None, None
        cat_target, sub_target = pair
        if sub_target.id:
            sub = self._subcategory_ids.get(sub_target.id)
            cat_id = ((sub or {}).get("category") or {}).get("id") or cat_target.id
            category = self._category_ids.get(cat_id) if cat_id else None
            if self._inactive_category(ln, where, category, sub, cat_target.name, sub_target.name, problems):
                return None, None
            return cat_target.id, sub_target.id
        cat_name, sub_name = cat_target.name, sub_target.name
        category = self._category(cat_name)
        sub = self._subcategory(category["id"], sub_name) if category else None
        if self._inactive_category(ln, where, category, sub, cat_name, sub_name, problems):
            return None, None
        if sub is None:
            missing = f"category \"{cat_name}\"" if category is None else f"sub-category \"{sub_name}\" of {cat_name}"
            create = f"Create {missing} in ConnectWise ({places.CATEGORY}), or "
            problems.append(_uncreatable(ln, f"{missing} does not exist in ConnectWise.", create + (
                f"map {where} to an existing one ({pages.CATEGORIES.name})." if self.rules.by_mapping
                else self._switch_to_mapping(ln, where))))
            return None, None
        return category["id"], sub["id"]

    def _inactive_category(self, ln: LineInput, where: str, category: dict | None, sub: dict | None,
                           cat_name: str, sub_name: str, problems: list[LineProblem]) -> bool:
        """Whether the line's ConnectWise category or sub-category is one ConnectWise has but marks inactive (then
        the line is refused, saying which and how to fix it): whether ConnectWise would take a catalog item under
        it is not documented, so none is created there."""
        inactive = next((r for r in (category, sub) if r is not None and r.get("inactiveFlag")), None)
        if inactive is None:
            return False
        cat = str((category or {}).get("name") or cat_name)
        record = (f"category “{cat}”" if inactive is category
                  else f"sub-category “{inactive.get('name') or sub_name}” of {cat}")
        mapped = f"{where} is mapped to {cat} / {(sub or {}).get('name') or sub_name}, and " if self.rules.by_mapping else ""
        problems.append(_uncreatable(
            ln, f"{mapped}the {record} is in ConnectWise but marked inactive.",
            f"Activate the {record} in ConnectWise ({places.CATEGORY}), or " + (
                f"map {where} to another one ({pages.CATEGORIES.name})." if self.rules.by_mapping
                else self._switch_to_mapping(ln, where))))
        return True

    def _switch_to_mapping(self, ln: LineInput, where: str) -> str:
        """How to map a line's category in "use ChannelOnline's names" mode, where the mapping table is not read
        (user guide §5.2 b: one mode or the other): choose "Use the mapping below", which then applies to every
        line. Said even when a row for it is saved already, since that row does nothing until then."""
        mode = f"choose “{MAPPING_MODE}” on {pages.CATEGORIES.name}"
        saved = self.rules.mapped_pair(ln.category, ln.subcategory)
        if saved is not None:
            return (f"{mode} and save: {where} is mapped to {saved[0].name} / {saved[1].name} there, but the mapping "
                    "is used only in that mode (and then for every category: map each one your products use).")
        return (f"map {where} to an existing one: {mode}, map {where} there and save (the mapping is used only in that "
                "mode, and then for every category: map each one your products use).")

    def _resolve_manufacturer(self, ln: LineInput, problems: list[LineProblem]) -> int | None:
        if not ln.manufacturer.strip():
            problems.append(_uncreatable(
                ln, "the line has no manufacturer.",
                f"Set the line's manufacturer, or add {ln.item_number} to the ConnectWise catalog."))
            return None
        alias = self.rules.alias_for(ln.manufacturer)  # an explicit choice: wins over a same-named manufacturer
        if alias is not None:
            bucket = self._manufacturers.get(alias.name.lower(), [])
            found = (next((r for r in bucket if r.get("id") == alias.id), None) if alias.id
                     else self._manufacturer(alias.name))
            if found is not None and found.get("inactiveFlag"):
                what, fix = inactive_problem(ln.manufacturer, str(found.get("name") or alias.name), alias=True)
                problems.append(_uncreatable(ln, f"{what}.", fix))
                return None
            if alias.id:
                return alias.id
            if found is not None:
                return found["id"]
            twin = case_twin(alias.name, (str(r.get("name") or "") for r in bucket if not r.get("inactiveFlag")))
            if twin is not None:  # the alias names ConnectWise's manufacturer in another case: correct the alias
                what, fix = case_twin_problem(alias.name, twin, alias_of=ln.manufacturer)
                problems.append(_uncreatable(ln, f"{what}.", fix))
                return None
            problems.append(_uncreatable(
                ln, f"the alias of \"{ln.manufacturer}\" "
                f"points to \"{alias.name}\", which does not exist in ConnectWise.",
                f"Correct the alias ({pages.MANUFACTURERS.name}) or add \"{alias.name}\" to ConnectWise's "
                f"manufacturers ({places.MANUFACTURER})."))
            return None
        records = self._manufacturers.get(ln.manufacturer.lower(), [])
        active = [str(r.get("name") or "") for r in records if not r.get("inactiveFlag")]
        found = self._manufacturer(ln.manufacturer)
        if found is not None and not found.get("inactiveFlag"):
            return found["id"]
        near = case_twin(ln.manufacturer, active)
        if near:  # same name but for case: say which one ConnectWise has
            what, fix = case_twin_problem(ln.manufacturer, near)
            problems.append(_uncreatable(ln, f"{what}.", fix))
            return None
        inactive = inactive_twin(ln.manufacturer, active,
                                 (str(r.get("name") or "") for r in records if r.get("inactiveFlag")))
        if inactive is not None:  # ConnectWise has it (or its twin in case) but marks it inactive
            what, fix = inactive_problem(ln.manufacturer, inactive)
            problems.append(_uncreatable(ln, f"{what}.", fix))
            return None
        problems.append(_uncreatable(
            ln, f"manufacturer \"{ln.manufacturer}\" "
            "does not exist in ConnectWise (names must match exactly, case included).",
            f"Add \"{ln.manufacturer}\" to ConnectWise's manufacturers ({places.MANUFACTURER}), or map it "
            f"to an existing manufacturer ({pages.MANUFACTURERS.name})."))
        return None

    def _find_item(self, body: dict) -> dict | None:
        """The catalog item a create whose answer was lost made (identifiers are unique in ConnectWise)."""
        rows = self.client.catalog_items.list(conditions=C.eq("identifier", body["identifier"]), fields=ITEM_FIELDS)
        return _by_name(rows, body["identifier"], "identifier")

    def _create(self, body: dict) -> dict:
        try:
            rec = create_once(lambda: self.client.catalog_items.create(body), lambda: self._find_item(body),
                              what=f"catalog item {body['identifier']}")
        except ValidationFailed as e:
            # Another thread or process created it a moment ago: use theirs.
            if not any(fe.code == "ObjectExists" for fe in e.field_errors):
                raise
            with self._lock:
                self._items.pop(body["identifier"].lower(), None)
                self._absent.discard(body["identifier"].lower())
            rec = self.lookup([body["identifier"]]).get(body["identifier"])
            if rec is None:
                raise
            return rec
        with self._lock:
            self._remember(rec)
        return rec


_CANNOT_CREATE = "is not in the ConnectWise catalog and cannot be created: "


# ChannelOnline's product types whose lines are services to ConnectWise (productClass "Service").
SERVICE_TYPES = ("Service", "Labor")


def _uncreatable(ln: LineInput, why: str, fix: str) -> LineProblem:
    """A line whose product is not in the catalog and cannot be created, and why (worded once: several
    such reasons on one line are joined under it, see :func:`_per_line`)."""
    return _problem(ln, _CANNOT_CREATE + why, fix)


def item_number_problem(ln: LineInput) -> LineProblem | None:
    """A line whose item number ConnectWise's catalog cannot hold (none, or longer than :data:`ITEM_MAX`): the export
    refuses it before asking ConnectWise anything (:meth:`Catalog.ensure`, so the checklist's Lines row names it too),
    and saving the document warns of it (:func:`.preflight.save_warnings`)."""
    if not ln.item_number.strip():
        return _problem(ln, "has no item / part number.", "Enter the item number on the line.")
    if cw_length(ln.item_number) > ITEM_MAX:
        return _problem(ln, f"has an item number longer than {ITEM_MAX} characters, which ConnectWise's catalog "
                        "cannot hold.", "Shorten the item number on the line.")
    return None


def _problem(ln: LineInput, what: str, fix: str) -> LineProblem:
    return LineProblem(ln.line_id, ln.position, ln.item_number, f"Line {ln.position} ({ln.item_number}) {what}", fix)


def _per_line(problems: list[LineProblem]) -> list[LineProblem]:
    """One problem per line, in order: a line at fault on several counts (an unknown manufacturer and an
    unmapped category) is one line that cannot be exported, its reasons and fixes joined."""
    by_line: dict[int, list[LineProblem]] = {}
    for p in problems:
        by_line.setdefault(p.line_id, []).append(p)
    out = []
    for mine in by_line.values():
        first = mine[0]
        if len(mine) == 1:
            out.append(first)
            continue
        whats = [p.message.removeprefix(f"{first.label} ").rstrip(".") for p in mine]
        if all(w.startswith(_CANNOT_CREATE) for w in whats):  # said once: "… cannot be created: this; that."
            what = _CANNOT_CREATE + "; ".join(w.removeprefix(_CANNOT_CREATE) for w in whats)
        else:
            what = "; ".join(whats)
        out.append(LineProblem(first.line_id, first.position, first.item_number, f"{first.label} {what}.",
                               " ".join(dict.fromkeys(p.resolution for p in mine))))
    return sorted(out, key=lambda p: (p.position, p.line_id))  # (found check by check: listed as the document orders)
