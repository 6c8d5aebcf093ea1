"""colcw's own writes to ConnectWise companies and contacts, told by *what* they wrote, not by *who* wrote them.

ConnectWise sends a callback for every change, colcw's own included, naming the member whose API keys made it
(``MemberId``, ``_info.updatedBy``). Another tool, a reseller's script or a person using the same API member is
named the same, so the name cannot tell colcw's writes from theirs. Instead, a link remembers the versions of its
record that colcw's own writes produced: the record ConnectWise answered the write with, as its ``_info.lastUpdated``
and a fingerprint of the fields colcw reads (:data:`~.fields.COMPANY_FIELDS`, :data:`~.fields.CONTACT_FIELDS`). They
are kept beside the agreement (``Link.synced_values[WRITTEN]``, the last :data:`KEEP`). A callback whose record
(``Entity``, signed by ConnectWise) is one of those versions is colcw's own write coming back: nothing to read. Any
other version is read back, whoever ConnectWise names; reading compares values with the agreement, so a version
colcw cannot place (a write whose link is not committed yet, a forgotten one) costs a read, never a change.

Both the stamp and the fields must match: two changes in one second share a ``lastUpdated``, and a change to a field
colcw does not read moves the stamp without touching the fingerprint. The fingerprint also holds who ConnectWise says
last updated the record (``_info.updatedBy``): ``lastUpdated`` is whole seconds, so a person who moves a company to
another site and back within the second colcw wrote it gives the very stamp and fields colcw's write had; only the
name tells that version from colcw's, and a version another member made is never one colcw's write produced. (The
name only ever makes a version *not* colcw's: an edit made with colcw's own API member is still told by its stamp and
fields, so one that brings a record back to what colcw wrote within that same second reads as colcw's; the safety
net's pass, which compares what ConnectWise holds with the agreement, takes it.) A record without a ``lastUpdated``
has no version (always read).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from . import fields as M

WRITTEN = M.WRITTEN
KEEP = 4  # versions kept per link: a customer's export writes its company at most twice, each contact once
_FIELDS = {"company": M.COMPANY_FIELDS, "contact": M.CONTACT_FIELDS}


def _plain(value: Any) -> Any:
    """``value`` without ConnectWise's ``_info`` blocks (links to other records, not what colcw compares)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items() if k != "_info"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def version(entity: str, record: Mapping[str, Any] | None) -> str:
    """The version of a ConnectWise ``company`` or ``contact`` record: its ``lastUpdated`` and a fingerprint of the
    fields colcw reads and of who last updated it ("" when it has no ``lastUpdated`` or is no record)."""
    if not isinstance(record, Mapping) or entity not in _FIELDS:
        return ""
    stamp = M.last_updated(record)
    if not stamp:
        return ""
    picked: dict[str, Any] = {}
    for path in _FIELDS[entity]:
        top, _, sub = path.partition("/")
        if top == "_info":
            continue
        value = record.get(top)
        if sub:
            value = value.get(sub) if isinstance(value, Mapping) else None
        picked[path] = _plain(value)
    info = record.get("_info")
    picked["_info/updatedBy"] = str((info.get("updatedBy") if isinstance(info, Mapping) else None) or "").strip()
    digest = hashlib.sha256(json.dumps(picked, sort_keys=True, default=str).encode()).hexdigest()[:32]
    return f"{stamp[:30]}|{digest}"


def versions(agreement: Mapping[str, Any] | None) -> list[str]:
    """The versions of its record a link's agreement remembers colcw wrote (oldest first)."""
    kept = (agreement or {}).get(WRITTEN)
    return [v for v in kept if isinstance(v, str) and v] if isinstance(kept, list) else []


def remember(values: dict[str, Any], previous: Mapping[str, Any] | None, entity: str,
             written: Mapping[str, Any] | None) -> dict[str, Any]:
    """A new agreement ``values`` keeping the versions the former one ``previous`` remembered, and the version of
    ``written`` (the record ConnectWise answered colcw's write with; None: nothing was written)."""
    kept = versions(previous)
    new = version(entity, written) if written is not None else ""
    if new and new not in kept:
        kept.append(new)
    out = {k: v for k, v in values.items() if k != WRITTEN}
    if kept:
        out[WRITTEN] = kept[-KEEP:]
    return out


def written_by_colcw(agreement: Mapping[str, Any] | None, entity: str, record: Mapping[str, Any] | None) -> bool:
    """``record`` (as a callback carries it) is a version of it that colcw's own write produced."""
    v = version(entity, record)
    return bool(v) and v in versions(agreement)
