"""Map a path under ``apis/3.0/`` to a resource, a parent id, an item id and an action.

Real ConnectWise paths are matched literally (``procurement/subcategories/`` lists with a
trailing slash, ``/forecast/`` with one for PUT/PATCH/DELETE); trailing slashes are
otherwise ignored, as ASP.NET routing does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cw_sandbox.resources import RESOURCE_BY_PATH, RESOURCES, Resource


@dataclass(frozen=True)
class Route:
    """What a request addresses."""

    resource: Resource | None  # None for special endpoints
    action: str  # collection | count | item | forecast | forecast_count | system_info | read_only
    rid: int | None = None
    parent_id: int | None = None
    rel: str = ""  # the normalised relative path, for permission checks
    view: Any = None  # read_only: the readonly.View that answers
    params: dict[str, Any] = field(default_factory=dict)  # read_only: the template's placeholders


_NESTED = [r for r in RESOURCES if r.parent]


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 10 else None


def _tail(res: Resource, rest: list[str], parent_id: int | None, rel: str) -> Route | None:
    if not rest:
        return Route(res, "collection", None, parent_id, rel)
    if len(rest) == 1:
        if rest[0] == "count":
            return Route(res, "count", None, parent_id, rel)
        rid = _int(rest[0])
        if rid is not None:
            return Route(res, "item", rid, parent_id, rel)
    return None


def resolve(rel_path: str) -> Route | None:
    """The route for ``rel_path`` (the part after ``apis/3.0/``), or None (404)."""
    rel = rel_path.strip("/")
    parts = [p for p in rel.split("/") if p]
    if rel == "system/info":
        return Route(None, "system_info", rel=rel)
    # Nested: {parent path}/{parentId}/{child}/...
    for res in _NESTED:
        parent_path = next(r.path for r in RESOURCES if r.key == res.parent).split("/")
        n = len(parent_path)
        if parts[:n] == parent_path and len(parts) > n + 1 and parts[n + 1] == res.path:
            parent_id = _int(parts[n])
            if parent_id is None:
                return None
            rest = parts[n + 2:]
            if res.key == "forecast_items":
                if not rest:
                    return Route(res, "forecast", None, parent_id, rel)
                if rest == ["count"]:
                    return Route(res, "forecast_count", None, parent_id, rel)
            return _tail(res, rest, parent_id, rel)
    # Top level: the longest resource path that prefixes the request path.
    for size in range(min(len(parts), 3), 0, -1):
        res = RESOURCE_BY_PATH.get("/".join(parts[:size]))
        if res is not None:
            return _tail(res, parts[size:], None, rel)
    return None
