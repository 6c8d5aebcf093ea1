"""Registering colcw's ConnectWise callbacks (``/system/callbacks``) for companies, contacts and opportunities.

Idempotent, across repeated saves and several web processes: the settings row is locked while
registering (one process at a time on PostgreSQL), an existing callback with the same URL and
type is reused (re-activated when ConnectWise switched it off after failing deliveries), and an
``ObjectExists`` answer (another process won the race) is met by reading the list again.

Only colcw's own callbacks are ever removed or switched on again (switching off, Reset, a changed URL or
tenant, the safety net's check): one colcw registered (kept in ``colcw_callbacks``) *and* that the tenant
colcw is connected to holds, under that id, as colcw's — the same type, pointing at colcw's callback path
under the URL it was registered with (and, where the caller has it, with this connection's secret). Ids
are per tenant: after the admin points colcw at another tenant, the ids it registered in the old one
may name another integration's callbacks in the new one. Those are left alone and the rows forgotten,
with a note that the old tenant may still hold colcw's (colcw no longer has its credentials).

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
from .live_updates import CALLBACK_PATH, get_live, shown_url

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
    forgotten: list[int] = field(default_factory=list)  # see Removal.forgotten

    def summary(self) -> str:
        parts = [f"{label} {', '.join(types)}" for label, types in (
            ("registered", self.created), ("already registered", self.reused), ("re-activated", self.reactivated))
            if types]
        if self.removed:
            parts.append(f"removed {self.removed} old")
        text = "Callbacks: " + ("; ".join(parts) or "nothing to do") + "."
        return f"{text} {forgotten_note(self.forgotten)}" if self.forgotten else text


@dataclass
class Removal:
    """What removing colcw's earlier callbacks did. ``forgotten``: the ids of rows whose callback the tenant
    does not hold as colcw's (gone, or the id is another callback's there): nothing was deleted for them."""

    removed: int = 0
    forgotten: list[int] = field(default_factory=list)


def forgotten_note(ids: list[int]) -> str:
    """What the admin should know of registrations forgotten because this tenant does not hold them as colcw's."""
    listed = ", ".join(str(i) for i in sorted(ids))
    return (f"This ConnectWise tenant holds no callback of colcw's with id {listed}, so colcw forgot "
            f"{'it' if len(ids) == 1 else 'them'} and deleted nothing there for {'it' if len(ids) == 1 else 'them'}. "
            "If colcw was connected to another tenant before, remove its callbacks in that tenant (with an API "
            "member's keys there: GET and DELETE system/callbacks): ConnectWise keeps sending them to this server.")


def _base(url: str) -> str | None:
    """The public base of a colcw callback URL (or of its shown form): what comes before the callback path."""
    base, sep, _rest = str(url or "").partition(CALLBACK_PATH)
    return base if sep else None


def is_ours(entry: dict, row: CallbackRegistration, secret: str | None = None) -> bool:
    """Whether ``entry`` (a callback as this tenant holds it) is the one colcw registered as ``row``: the same
    type, pointing at colcw's callback path under the URL it was registered with; with ``secret``, at this
    connection's secret too. Ids alone prove nothing: they are the tenant's, and another tenant hands the
    same ids to other callbacks."""
    url = str(entry.get("url") or "")
    base = _base(url)
    if base is None or base != _base(row.url_shown) or str(entry.get("type", "")).lower() != row.type:
        return False
    return secret is None or url.partition(CALLBACK_PATH)[2] == secret


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
    member = ""  # who these credentials write as, from a write made here (see _writer)
    for ctype in TYPES:
        entry = next((e for e in existing if _same(e, ctype)), None)
        if entry is None:
            try:
                entry = client.callbacks.create({"url": url, "type": ctype, "level": LEVEL, "objectId": OBJECT_ID,
                                                 "description": _description(ctype)})
                member = member or _writer(client, entry, created=True)
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
            member = member or _writer(client, entry)
            done.reactivated.append(ctype)
        else:
            done.reused.append(ctype)
        keep[entry["id"]] = {**entry, "type": ctype}
    if not member and keep:
        # Every callback was there already: who registered them (``enteredBy``) may be other credentials than these
        # (the admin changed the keys since). One write with these tells: its own description, written again.
        cw_id, entry = next(iter(keep.items()))
        member = _writer(client, client.callbacks.patch(cw_id, {"description": _description(entry["type"])}))
    removal = _remove_others(session, client, set(keep), url.partition(CALLBACK_PATH)[2] or None)
    done.removed, done.forgotten = removal.removed, removal.forgotten
    now = utcnow()
    rows = {r.cw_id: r for r in session.execute(select(CallbackRegistration)).scalars()}
    for cw_id, entry in keep.items():
        row = rows.get(cw_id) or CallbackRegistration(cw_id=cw_id, registered_at=now)
        row.type, row.level, row.url_shown, row.inactive, row.checked_at = entry["type"], LEVEL, shown[:300], False, now
        session.add(row)
    live.own_member = member  # "" when ConnectWise did not say: colcw's own records decide meanwhile
    live.last_error = ""
    session.flush()
    return done


def _description(ctype: str) -> str:
    return f"colcw live updates ({ctype})"


def _writer(client: ConnectWiseClient, entry: dict, *, created: bool = False) -> str:
    """The member colcw's credentials write as, from ``entry``, a callback as ConnectWise answered a write colcw just
    made with them: ConnectWise names who changed a record last as ``_info.updatedBy`` (API-NOTES §8; no endpoint
    documented there or in the official excerpts says whose the keys are). A callback ``created`` now names its
    registering member as ``memberId`` too (when ``_info`` says nothing). "" when it does not say."""
    who = (entry.get("_info") or {}).get("updatedBy")
    if who:
        return str(who)[:100]
    if created and entry.get("memberId"):
        try:
            return str(client.members.get(entry["memberId"], fields=["identifier"]).get("identifier") or "")[:100]
        except ConnectWiseError:
            return ""
    return ""


def _remove_others(session: Session, client: ConnectWiseClient, keep: set[int], secret: str | None = None) -> Removal:
    """Delete the callbacks of colcw's rows not in ``keep`` that this tenant holds as colcw's (one read of those
    ids first); forget every such row."""
    rows = [r for r in session.execute(select(CallbackRegistration)).scalars().all() if r.cw_id not in keep]
    done = Removal()
    if not rows:
        return done
    held = {e["id"]: e for e in client.callbacks.iterate_in("id", [r.cw_id for r in rows], fields=FIELDS)}
    for row in rows:
        entry = held.get(row.cw_id)
        if entry is not None and is_ours(entry, row, secret):
            with contextlib.suppress(NotFound):  # gone since the read
                client.callbacks.delete(row.cw_id)
            done.removed += 1
        else:
            done.forgotten.append(row.cw_id)
        session.delete(row)
    return done


def unregister(session: Session, client: ConnectWiseClient) -> Removal:
    """Remove every callback colcw registered that this tenant holds as colcw's, and forget them all.
    Flushes; the caller commits."""
    lock_settings(session)
    done = _remove_others(session, client, set())
    session.flush()
    return done


def registered(session: Session) -> list[CallbackRegistration]:
    return list(session.execute(select(CallbackRegistration).order_by(CallbackRegistration.type)).scalars())


def forget(session: Session) -> None:
    """Forget the registrations without touching ConnectWise (Reset when ConnectWise cannot be reached)."""
    session.execute(delete(CallbackRegistration))


CLEARED = "The callbacks' earlier error is cleared: ConnectWise holds them, active."


def check(session: Session, client: ConnectWiseClient) -> list[str]:
    """Re-activate the callbacks ConnectWise switched off (after 3 days of failed deliveries) and say
    which; the safety net calls this on every pass (one request). With Live updates off (callbacks whose
    removal failed wait here to be removed), none is switched on again.

    Once every type's callback is confirmed (colcw's, active, at the URL the settings name) while Live
    updates are on, an earlier error registering them no longer holds: it is cleared, so the Connection
    page stops showing an old failure as current."""
    rows = {r.cw_id: r for r in registered(session)}
    if not rows:
        return []
    notes = []
    live = get_live(session)
    found = {e["id"]: e for e in client.callbacks.iterate_in("id", list(rows), fields=FIELDS)}
    confirmed: dict[str, CallbackRegistration] = {}
    for cw_id, row in rows.items():
        entry = found.get(cw_id)
        if entry is None:
            notes.append(f"The {row.type} callback (id {cw_id}) was deleted in ConnectWise; save the Live updates "
                         "section on the Connection page to register it again.")
            row.inactive = True
        elif not is_ours(entry, row):
            notes.append(f"This ConnectWise tenant's callback {cw_id} is not colcw's {row.type} callback (colcw "
                         "registered that id in another tenant, or it was changed in ConnectWise); it was left alone. "
                         "Save the Live updates section on the Connection page to register colcw's here.")
            row.inactive = True
        elif entry.get("inactiveFlag") and not live.enabled:
            # Live updates are off (these rows wait to be removed): its deliveries are not wanted, so it stays off.
            row.inactive = True
        else:
            if entry.get("inactiveFlag"):
                live.own_member = _writer(client, client.callbacks.patch(cw_id, {"inactiveFlag": False})) or \
                    live.own_member
                notes.append(f"ConnectWise had switched off the {row.type} callback (id {cw_id}) after failed "
                             "deliveries; it was switched on again. Check that the public URL is reachable from "
                             "ConnectWise.")
            row.inactive = False
            confirmed[row.type] = row
        row.checked_at = utcnow()
    current = shown_url(live)
    if (live.last_error and live.enabled and set(confirmed) >= set(TYPES)
            and all(row.url_shown == current for row in confirmed.values())):
        live.last_error = ""
        notes.append(CLEARED)
    session.flush()
    return notes


def masked(text: str, secret: str) -> str:
    """``text`` with the URL secret masked (error messages may quote the URL)."""
    return text.replace(secret, "••••••") if secret else text
