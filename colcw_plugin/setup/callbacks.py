"""Registering colcw's ConnectWise callbacks (``/system/callbacks``) for companies, contacts and opportunities.

Idempotent, across repeated saves and several web processes: the settings row is locked while
registering (one process at a time on PostgreSQL), an existing callback with the same URL and
type is reused (re-activated when ConnectWise switched it off after failing deliveries), and an
``ObjectExists`` answer (another process won the race) is met by reading the list again. Only
callbacks colcw registered itself (kept in ``colcw_callbacks``) are ever removed: switching off,
Reset, and a changed URL remove those, never another integration's.

The URL holds a secret: messages and records here show it masked.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from host_stub.models import utcnow

from ..cw import ConnectWiseClient, ConnectWiseError, NotFound, ValidationFailed
from ..cw import conditions as C
from ..models import CallbackRegistration, LiveSettings
from .common import lock_settings

TYPES = ("company", "contact", "opportunity")
LEVEL = "owner"
OBJECT_ID = 1  # "owner" hears every record of the type; integrations register it with object 1
FIELDS = ["id", "url", "type", "level", "objectId", "inactiveFlag", "memberId", "_info"]


@dataclass
class Registration:
    """What registering did, for the page and the run log."""

    created: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)
    removed: int = 0

    def summary(self) -> str:
        parts = [f"{label} {', '.join(types)}" for label, types in (
            ("registered", self.created), ("already registered", self.reused), ("re-activated", self.reactivated))
            if types]
        if self.removed:
            parts.append(f"removed {self.removed} old")
        return "Callbacks: " + ("; ".join(parts) or "nothing to do") + "."


def _mine(client: ConnectWiseClient, url: str) -> list[dict]:
    """The tenant's callbacks pointing at ``url``, matched here: the URL holds the secret, and a condition
    would put it in a query string, which ConnectWise's and every proxy's access logs keep (a tenant has
    a few dozen callbacks: one page)."""
    return [c for c in client.callbacks.iterate(conditions=C.in_("type", TYPES), fields=FIELDS) if c.get("url") == url]


def _same(entry: dict, ctype: str) -> bool:
    return str(entry.get("type", "")).lower() == ctype and str(entry.get("level", "")).lower() == LEVEL


def _object_exists(error: ConnectWiseError) -> bool:
    return isinstance(error, ValidationFailed) and any(fe.code == "ObjectExists" for fe in error.field_errors)


def register(session: Session, client: ConnectWiseClient, live: LiveSettings, url: str, shown: str) -> Registration:
    """Make sure one active callback per type points at ``url``; remove the ones colcw registered
    earlier for another URL. Raises the client's :class:`ConnectWiseError` (its message never
    holds the URL's secret: see :func:`masked`). Flushes; the caller commits."""
    lock_settings(session)
    done = Registration()
    existing = _mine(client, url)
    keep: dict[int, dict] = {}
    for ctype in TYPES:
        entry = next((e for e in existing if _same(e, ctype)), None)
        if entry is None:
            try:
                entry = client.callbacks.create({"url": url, "type": ctype, "level": LEVEL, "objectId": OBJECT_ID,
                                                 "description": f"colcw live updates ({ctype})"})
                done.created.append(ctype)
            except ConnectWiseError as e:
                if not _object_exists(e):
                    raise
                existing = _mine(client, url)  # another process registered it a moment ago
                entry = next((x for x in existing if _same(x, ctype)), None)
                if entry is None:
                    raise
                done.reused.append(ctype)
        elif entry.get("inactiveFlag"):
            entry = client.callbacks.patch(entry["id"], {"inactiveFlag": False})
            done.reactivated.append(ctype)
        else:
            done.reused.append(ctype)
        keep[entry["id"]] = {**entry, "type": ctype}
    done.removed = _remove_others(session, client, set(keep))
    now = utcnow()
    rows = {r.cw_id: r for r in session.execute(select(CallbackRegistration)).scalars()}
    for cw_id, entry in keep.items():
        row = rows.get(cw_id) or CallbackRegistration(cw_id=cw_id, registered_at=now)
        row.type, row.level, row.url_shown, row.inactive, row.checked_at = entry["type"], LEVEL, shown[:300], False, now
        session.add(row)
    live.own_member = _author(client, keep.values()) or live.own_member
    live.last_error = ""
    session.flush()
    return done


def _author(client: ConnectWiseClient, entries) -> str:
    """The member ConnectWise names as the author of colcw's own writes (the callbacks' author)."""
    for entry in entries:
        info = entry.get("_info") or {}
        who = info.get("enteredBy") or info.get("updatedBy")
        if who:
            return str(who)[:100]
    member_id = next((e.get("memberId") for e in entries if e.get("memberId")), None)
    if member_id:
        try:
            return str(client.members.get(member_id, fields=["identifier"]).get("identifier") or "")[:100]
        except ConnectWiseError:
            return ""
    return ""


def _remove_others(session: Session, client: ConnectWiseClient, keep: set[int]) -> int:
    removed = 0
    for row in session.execute(select(CallbackRegistration)).scalars().all():
        if row.cw_id in keep:
            continue
        with contextlib.suppress(NotFound):  # already gone from ConnectWise
            client.callbacks.delete(row.cw_id)
        session.delete(row)
        removed += 1
    return removed


def unregister(session: Session, client: ConnectWiseClient) -> int:
    """Remove every callback colcw registered; returns how many. Flushes; the caller commits."""
    lock_settings(session)
    removed = _remove_others(session, client, set())
    session.flush()
    return removed


def registered(session: Session) -> list[CallbackRegistration]:
    return list(session.execute(select(CallbackRegistration).order_by(CallbackRegistration.type)).scalars())


def forget(session: Session) -> None:
    """Forget the registrations without touching ConnectWise (Reset when ConnectWise cannot be reached)."""
    session.execute(delete(CallbackRegistration))


def check(session: Session, client: ConnectWiseClient) -> list[str]:
    """Re-activate the callbacks ConnectWise switched off (after 3 days of failed deliveries) and say
    which; the safety net calls this on every pass (one request)."""
    rows = {r.cw_id: r for r in registered(session)}
    if not rows:
        return []
    notes = []
    found = {e["id"]: e for e in client.callbacks.iterate_in("id", list(rows), fields=FIELDS)}
    for cw_id, row in rows.items():
        entry = found.get(cw_id)
        if entry is None:
            notes.append(f"The {row.type} callback (id {cw_id}) was deleted in ConnectWise; save the Live updates "
                         "section on the Connection page to register it again.")
            row.inactive = True
        elif entry.get("inactiveFlag"):
            client.callbacks.patch(cw_id, {"inactiveFlag": False})
            notes.append(f"ConnectWise had switched off the {row.type} callback (id {cw_id}) after failed deliveries; "
                         "it was switched on again. Check that the public URL is reachable from ConnectWise.")
            row.inactive = False
        row.checked_at = utcnow()
    session.flush()
    return notes


def masked(text: str, secret: str) -> str:
    """``text`` with the URL secret masked (error messages may quote the URL)."""
    return text.replace(secret, "••••••") if secret else text
