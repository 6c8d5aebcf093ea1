"""JSON Patch bodies for ConnectWise PATCH (API-NOTES §5.1).

ConnectWise takes ``[{"op": "replace", "path": "name", "value": ...}]`` with the path
written without a leading slash. Only top-level fields are allowed here: patching inside
a reference (``company/id``) can return a false 200, so a reference is replaced whole
(``{"company": {"id": 12}}``), and so is ``customFields``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .transport import json_default

_TOP_LEVEL_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

# Read-only bookkeeping that must never be sent back.
_SKIP = frozenset({"_info"})


def _check(name: str) -> str:
    if not isinstance(name, str) or not _TOP_LEVEL_FIELD.match(name):
        raise ValueError(f"cannot patch {name!r}: give a top-level field name and replace references whole")
    return name


def _normalise(value: Any) -> Any:
    """The JSON form ConnectWise would store, so datetimes/Decimals compare like strings/floats."""
    return json.loads(json.dumps(value, default=json_default))


def patch_ops(changes: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``{"name": "x", "status": {"id": 2}}`` -> replace operations for exactly those fields.

    ``None`` clears a field with a ``remove`` operation: the official schemas declare most text
    fields non-nullable, so ``replace`` with null is not a valid PATCH value for them.
    """
    return [
        {"op": "remove", "path": _check(name)} if value is None
        else {"op": "replace", "path": _check(name), "value": _normalise(value)}
        for name, value in changes.items()
        if name not in _SKIP
    ]


def diff_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Replace operations for the fields of ``new`` whose value differs from ``old``.

    Fields missing from ``new`` are left alone (not removed): callers usually build
    ``new`` from the subset of fields they manage. ``_info`` is ignored.
    """
    changed = {}
    for name, value in new.items():
        if name in _SKIP:
            continue
        if name not in old or _normalise(old[name]) != _normalise(value):
            changed[name] = value
    return patch_ops(changed)
