"""Equality indexes over stored records, so ``x = v`` and ``x in (...)`` read only the matches.

An index maps a field path (``company/id``, ``identifier``) to ``key -> ids``. Keys mirror what
``=`` matches in ``predicates.py`` (strings case-insensitively, numeric text also as a number,
booleans also as 0/1), so a lookup returns every record the condition can match, possibly a few
more; the caller still applies the whole predicate to what it gets back. Indexes are built on
first use and kept up to date by the store on every write.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cw_sandbox.condition_parser import compile_getter
from cw_sandbox.predicates import as_number

__all__ = ["Index", "literal_keys", "value_keys"]

Key = tuple[str, Any]


def value_keys(value: Any) -> list[Key]:
    """The keys a stored value is filed under (none for null, objects and arrays)."""
    if isinstance(value, bool):
        return [("b", value), ("n", int(value))]
    if isinstance(value, int | float):
        return [("n", value)]
    if isinstance(value, str):
        keys: list[Key] = [("s", value.lower())]
        number = as_number(value)
        if number is not None:
            keys.append(("n", number))
        return keys
    return []


def literal_keys(literal: tuple) -> list[Key] | None:
    """The keys an ``=``/``in`` literal can match; None when an index cannot answer it (dates)."""
    kind, value = literal
    if kind == "list":
        keys: list[Key] = []
        for item in value:
            if item[0] == "null":
                continue  # null inside a list matches nothing
            sub = literal_keys(item)
            if sub is None:
                return None
            keys += sub
        return keys
    if kind == "str":
        if "*" in value:
            return None  # "=" with "*" is a LIKE (predicates._compile_test): no index answers it
        keys = [("s", value.lower())]
        number = as_number(value)
        if number is not None:
            keys.append(("n", number))
        return keys
    if kind == "num":
        return [("n", value)]
    if kind == "bool":
        return [("b", value)]
    return None  # dates, and "= null" (answered by a scan)


class Index:
    """``key -> ids`` for one field path of one resource."""

    def __init__(self, path: str, records: Iterable[dict]) -> None:
        self.get = compile_getter(path)
        self.ids: dict[Key, set[int]] = {}
        for record in records:
            self.add(record)

    def add(self, record: dict) -> None:
        """File ``record`` under its value's keys."""
        for key in value_keys(self.get(record)):
            self.ids.setdefault(key, set()).add(record["id"])

    def remove(self, record: dict) -> None:
        """Forget ``record`` (as it was stored)."""
        for key in value_keys(self.get(record)):
            bucket = self.ids.get(key)
            if bucket is not None:
                bucket.discard(record["id"])
                if not bucket:
                    del self.ids[key]

    def count(self, keys: Iterable[Key]) -> int:
        """How many ids ``lookup`` would return at most (without building the set)."""
        return sum(len(self.ids.get(key, ())) for key in set(keys))

    def lookup(self, keys: Iterable[Key]) -> set[int]:
        """Ids of the records filed under any of ``keys``."""
        found: set[int] = set()
        for key in keys:
            found |= self.ids.get(key, set())
        return found
