"""``orderBy`` and ``fields``: sorting records and projecting partial responses."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cw_sandbox.condition_parser import QueryError, compile_getter, split_path

__all__ = ["parse_fields", "parse_order_by", "project_fields", "sort_records"]


@lru_cache(maxsize=256)
def parse_order_by(order_by: str) -> tuple[tuple[str, bool], ...]:
    keys: list[tuple[str, bool]] = []
    for part in order_by.split(","):
        words = part.split()
        if not words:
            raise QueryError(f"Empty sort key in orderBy '{order_by}'")
        if len(words) > 2:
            raise QueryError(f"Invalid sort key '{part.strip()}' in orderBy: expected '<field> asc|desc'")
        split_path(words[0])
        direction = words[1].lower() if len(words) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise QueryError(f"Unknown sort direction '{words[1]}' in orderBy: expected asc or desc")
        keys.append((words[0], direction == "desc"))
    if all(path != "id" for path, _ in keys):
        # SQL gives no order among ties; pin it with id so page N and N+1 never overlap.
        keys.append(("id", False))
    return tuple(keys)


def _sort_key(value: Any) -> tuple:
    # Nulls lowest, like SQL Server: first when ascending, last when descending.
    if value is None:
        return (0,)
    if isinstance(value, bool | int | float):
        return (1, value)
    if isinstance(value, str):
        return (2, value.lower())  # case-insensitive collation
    return (3,)  # objects/arrays: not orderable, keep their relative order


def sort_records(records: list[dict], order_by: str | None) -> list[dict]:
    """Return a new list sorted by a ConnectWise ``orderBy`` ("name asc, contact/name desc").

    Direction defaults to asc and is case-insensitive; an unknown direction raises
    :class:`QueryError`. None/empty sorts by id ascending. Nulls sort first ascending and last
    descending; strings compare case-insensitively. Ties are broken by id ascending.
    """
    keys = parse_order_by(order_by) if order_by and order_by.strip() else (("id", False),)
    result = list(records)
    # Stable sorts applied from the least significant key give a multi-key, mixed-direction sort.
    for path, descending in reversed(keys):
        get = compile_getter(path)
        result.sort(key=lambda r, get=get: _sort_key(get(r)), reverse=descending)
    return result


# --------------------------------------------------------------------------------------------
# fields
# --------------------------------------------------------------------------------------------

_WHOLE = object()  # marks "take the whole value" in a field tree
_MISSING = object()  # "nothing to output" from _project


@lru_cache(maxsize=256)
def parse_fields(fields: str) -> dict:
    tree: dict = {}
    for raw in fields.split(","):
        path = raw.strip()
        if not path:
            raise QueryError(f"Empty field name in fields '{fields}'")
        node = tree
        segments = split_path(path)
        for segment in segments[:-1]:
            child = node.setdefault(segment, {})
            if child is _WHOLE:
                break  # "status" already asked for the whole object, "status/id" adds nothing
            node = child
        else:
            node[segments[-1]] = _WHOLE
    return tree


def _project(value: Any, tree: dict) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            sub = tree.get(key)
            if sub is None:
                continue
            if sub is _WHOLE:
                out[key] = item
            elif item is None:
                out[key] = None  # keep "present but null", the sub-fields cannot exist
            else:
                projected = _project(item, sub)
                if projected is not _MISSING and projected != {}:  # none of the sub-paths exist
                    out[key] = projected
        return out
    if isinstance(value, list):
        return [_project(item, tree) for item in value if isinstance(item, dict)]
    return _MISSING  # a scalar has no sub-fields


def project_fields(record: dict, fields: str | None) -> dict:
    """Return a new dict holding only the comma-separated (nested, ``/``) paths of ``fields``.

    ``"id,name,status/id,_info/lastUpdated"`` keeps ``id``, ``name``, ``status.id`` and
    ``_info.lastUpdated``. Key order follows the record. Paths that do not exist are left out; a
    path through an array projects every element. Leaf values are shared, not copied.
    None or empty returns ``record`` itself. Raises :class:`QueryError` on a malformed list.
    """
    if fields is None or not fields.strip():
        return record
    return _project(record, parse_fields(fields))
