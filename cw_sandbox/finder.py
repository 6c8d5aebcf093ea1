"""Finding the records a list or count request asks for.

* Query parameter names are matched case-insensitively (``CONDITIONS``, ``pagesize``), as ASP.NET
  binds them; before, an unmatched spelling was ignored and the list came back unfiltered. A
  parameter given twice (in any spelling) is 400 (unverified: chosen stricter).
* ``conditions``, ``childConditions``, ``customFieldConditions`` and ``orderBy`` are parsed and
  checked against the resource's official schema (``names.py``); any problem is 400
  ``ApiFindCondition`` with only ``code`` and ``message``. ``fields`` names the schema lacks are
  dropped, as ConnectWise drops them.
* The top-level AND of ``conditions`` is searched for ``path = v`` / ``path in (...)``; the one
  with the fewest matches in the store's equality indexes gives the candidates, and only those
  are tested against the whole predicate. Nested resources read their parent's rows the same way.
* Pages of one navigable query are answered from a small cache keyed by the query and the
  resource's version, so paging through N rows filters (and sorts) them once. Forward-only pages
  read from ``pageId`` on and stop one match past the page.

``Stats.examined`` counts the records a request tested, for the request log.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from cw_sandbox.condition_parser import QueryError, parse_conditions
from cw_sandbox.errors import ApiError, bad_request, find_error
from cw_sandbox.indexes import Key, literal_keys
from cw_sandbox.names import (
    UnknownName,
    check_child_conditions,
    check_conditions,
    check_order_by,
    recognised_fields,
)
from cw_sandbox.ordering import parse_order_by, sort_records
from cw_sandbox.predicates import Predicate, child_predicate, conditions_predicate, custom_field_predicate
from cw_sandbox.resources import Resource
from cw_sandbox.store import Store

PARAMS = ("conditions", "childConditions", "customFieldConditions", "orderBy", "fields", "columns", "page",
          "pageSize", "pageId")
_CANONICAL = {name.lower(): name for name in PARAMS}


def query_args(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The query string with ConnectWise's parameter names, whatever case they were sent in."""
    out: dict[str, str] = {}
    for name, value in pairs:
        canonical = _CANONICAL.get(name.lower(), name)
        if canonical in out and canonical in PARAMS:
            raise bad_request(f"The query parameter {canonical} was given more than once.")
        out[canonical] = value
    return out


def query_error(exc: QueryError) -> ApiError:
    """The 400 ConnectWise answers for ``exc``: unknown names as quoted from live answers, syntax
    errors with the 1-based character position (the live format is "Condition Syntax Error (Line 1,
    Character N) - ..."; whether its N counts from 0 or 1 is unverified)."""
    if isinstance(exc, UnknownName) or exc.position is None:
        return find_error(str(exc))
    return find_error(f"Condition Syntax Error (Line 1, Character {exc.position + 1}) - {exc}")


@dataclass
class Stats:
    """What answering one request cost."""

    examined: int = 0


@dataclass(frozen=True)
class Query:
    """The checked filter and order of one list or count request."""

    conditions: tuple | None
    child: tuple | None
    custom: tuple | None
    order: tuple[tuple[str, bool], ...] | None
    key: tuple[str, ...]

    def predicate(self) -> Predicate:
        """One predicate for conditions, childConditions and customFieldConditions together."""
        tests = []
        if self.conditions is not None:
            tests.append(conditions_predicate(self.conditions))
        if self.child is not None:
            tests.append(child_predicate(self.child))
        if self.custom is not None:
            tests.append(custom_field_predicate(self.custom))
        if not tests:
            return lambda record: True
        if len(tests) == 1:
            return tests[0]
        return lambda record: all(test(record) for test in tests)

    def equalities(self) -> list[tuple[str, list[Key] | None]]:
        """(path, index keys) of every ``=``/``in`` at the top level of the conditions."""
        tree = self.conditions
        if tree is None:
            return []
        parts = tree[1] if tree[0] == "and" else [tree]
        return [(p[1], literal_keys(p[3])) for p in parts if p[0] == "cmp" and p[2] in ("=", "in")]


def parse_query(args: Mapping[str, str], schema: str) -> Query:
    """Parse and check the filter parameters against ``schema`` (400 ApiFindCondition on a problem)."""
    texts = tuple(args.get(name, "") or "" for name in ("conditions", "childConditions", "customFieldConditions",
                                                        "orderBy"))
    try:
        conditions = parse_conditions(texts[0])
        check_conditions(conditions, schema)
        child = parse_conditions(texts[1])
        check_child_conditions(child, schema)
        custom = parse_conditions(texts[2])
        check_conditions(custom, "CustomFieldValue")
        order = parse_order_by(texts[3]) if texts[3].strip() else None
        if order is not None:
            check_order_by(order, schema)
        query = Query(conditions, child, custom, order, texts)
        query.predicate()  # childConditions shapes are checked when compiled
    except QueryError as exc:
        raise query_error(exc) from None
    return query


def fields_param(fields: str | None, schema: str) -> str | None:
    """``fields`` with the names ``schema`` lacks dropped, as ConnectWise drops them (see names.py);
    None when no ``fields`` was sent. 400 ApiFindCondition for a malformed list."""
    if not fields or not fields.strip():
        return None
    try:
        return recognised_fields(fields, schema)
    except QueryError as exc:
        raise query_error(exc) from None


def candidate_ids(store: Store, res: Resource, query: Query | None, parent_id: int | None,
                  limit: int | None = None) -> set[int] | None:
    """The ids an index says can match (None: no usable equality, read every record).

    The equality with the fewest indexed matches wins. With ``limit`` (a forward-only page), an
    index that still matches more than ``_SCAN_FACTOR`` pages' worth is not used: reading on from
    ``pageId`` until the page fills costs less than collecting and sorting those ids every page.
    """
    options: list[tuple[str, list[Key]]] = []
    if res.parent and res.parent_field:
        options.append((res.parent_path, [("n", parent_id)]))
    for path, keys in query.equalities() if query is not None else []:
        if keys is not None:
            options.append((path, keys))
    best: tuple[int, str, list[Key]] | None = None
    for path, keys in options:
        size = len(keys) if path == "id" else store.lookup_count(res.key, path, keys)
        if best is None or size < best[0]:
            best = (size, path, keys)
    if best is None or (limit is not None and best[0] > _SCAN_FACTOR * limit):
        return None
    _size, path, keys = best
    if path == "id":
        return {int(v) for kind, v in keys if kind == "n" and float(v).is_integer()}
    return store.lookup(res.key, path, keys)


_SCAN_FACTOR = 10


def _source(store: Store, res: Resource, ids: set[int] | None, after: int = 0) -> Iterator[dict]:
    if ids is None:
        return store.after(res.key, after)
    return iter(store.get_many(res.key, [i for i in ids if i > after]))


class QueryCache:
    """The last few navigable results, valid while their resource's version stays the same."""

    def __init__(self, size: int = 16) -> None:
        self._lock = threading.Lock()
        self._size = size
        self._rows: OrderedDict[tuple, tuple[int, list[dict]]] = OrderedDict()

    def get(self, key: tuple, version: int) -> list[dict] | None:
        with self._lock:
            hit = self._rows.get(key)
            if hit is None or hit[0] != version:
                return None
            self._rows.move_to_end(key)
            return hit[1]

    def put(self, key: tuple, version: int, rows: list[dict]) -> None:
        with self._lock:
            self._rows[key] = (version, rows)
            self._rows.move_to_end(key)
            while len(self._rows) > self._size:
                self._rows.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()


@dataclass
class Finder:
    """Record selection for one tenant's store."""

    store: Store
    cache: QueryCache = field(default_factory=QueryCache)

    def rows(self, res: Resource, parent_id: int | None, query: Query | None = None,
             stats: Stats | None = None) -> list[dict]:
        """Every matching record, ordered by ``orderBy`` (id when none); cached per query and version."""
        stats = stats if stats is not None else Stats()
        key = (res.key, parent_id, query.key if query is not None else None)
        version = self.store.version(res.key)
        cached = self.cache.get(key, version)
        if cached is not None:
            return cached
        rows = self._matching(res, parent_id, query, stats)
        if query is not None and query.order:
            rows = sort_records(rows, ",".join(f"{p} {'desc' if d else 'asc'}" for p, d in query.order))
        self.cache.put(key, version, rows)
        return rows

    def _matching(self, res: Resource, parent_id: int | None, query: Query | None, stats: Stats) -> list[dict]:
        test = query.predicate() if query is not None else None
        out = []
        for record in _source(self.store, res, candidate_ids(self.store, res, query, parent_id)):
            stats.examined += 1
            if (test is None or test(record)) and (not res.parent or _child_of(res, record, parent_id)):
                out.append(record)
        return out

    def after(self, res: Resource, parent_id: int | None, query: Query, page_id: int, limit: int,
              stats: Stats) -> tuple[list[dict], bool]:
        """Forward-only: up to ``limit`` matches with an id above ``page_id``, and whether more exist."""
        test = query.predicate()
        out: list[dict] = []
        ids = candidate_ids(self.store, res, query, parent_id, limit)
        for record in _source(self.store, res, ids, page_id):
            stats.examined += 1
            if test(record) and (not res.parent or _child_of(res, record, parent_id)):
                if len(out) == limit:
                    return out, True
                out.append(record)
        return out, False


@dataclass
class ResourceSource:
    """The records of one stored resource (of one parent for nested ones), read through ``Finder``."""

    finder: Finder
    res: Resource
    parent_id: int | None = None

    def rows(self, query: Query, stats: Stats) -> list[dict]:
        return self.finder.rows(self.res, self.parent_id, query, stats)

    def after(self, query: Query, page_id: int, limit: int, stats: Stats) -> tuple[list[dict], bool]:
        return self.finder.after(self.res, self.parent_id, query, page_id, limit, stats)


@dataclass
class ListSource:
    """Records computed for one request (read-only views): filtered and sorted in memory."""

    records: list[dict]

    def rows(self, query: Query, stats: Stats) -> list[dict]:
        stats.examined += len(self.records)
        test = query.predicate()
        rows = [r for r in self.records if test(r)]
        if query.order:
            rows = sort_records(rows, ",".join(f"{p} {'desc' if d else 'asc'}" for p, d in query.order))
        return rows

    def after(self, query: Query, page_id: int, limit: int, stats: Stats) -> tuple[list[dict], bool]:
        later = [r for r in self.rows(query, stats) if isinstance(r.get("id"), int) and r["id"] > page_id]
        later.sort(key=lambda r: r["id"])
        return later[:limit], len(later) > limit


def _child_of(res: Resource, record: dict, parent_id: int | None) -> bool:
    return res.parent_of(record) == parent_id
