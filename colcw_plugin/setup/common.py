"""What the admin's mapping pages share: the host's lists to map, the "unknown name" message, the
settings lock that serialises saves across processes, and the audit of every change.

Saving a mapping checks every value against what ConnectWise holds, exactly as ConnectWise spells
it (ConnectWise matches names case-sensitively), and saves nothing when one value is wrong. When
ConnectWise cannot be reached the pages offer typed entry: ``lookups=None`` then stores the typed
names without ids ("not verified"), and the pre-flight check says so until an admin saves them
again while ConnectWise answers.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.models import DocumentLine, ProductCategory, User, utcnow

from ..errors import FieldErrors
from ..models import ConfigChange, Settings, the_row


def unknown_name(kind: str, value: str, names: Iterable[str]) -> str:
    names = list(names)
    near = [n for n in names if n.lower() == value.lower()] or difflib.get_close_matches(value, names, n=1)
    hint = f' Did you mean "{near[0]}"?' if near else ""
    return f'ConnectWise has no {kind} named "{value}" (names must match exactly, including case).{hint}'


class ChangedSince(FieldErrors):
    """Nothing was saved: besides any wrong value, rows the admin changed were changed by another save after
    the page was loaded (another admin, another process). ``now`` maps each such row's key to what it holds
    now, so the page can show the admin's choice again with the other save's value as the one it was loaded
    with: saving again then replaces the other save's value on purpose."""

    def __init__(self, errors: dict[str, str], now: dict):
        super().__init__(errors)
        self.now = now


def changed_since(row: str, theirs: str, yours: str) -> str:
    """The message for a row another save changed after the page was loaded."""
    return (f"Another save changed {row} after you opened this page: it is now {theirs}. Your choice, {yours}, "
            "was not saved. Save again to replace it with your choice, or choose theirs in this row to keep it.")


def raise_errors(errors: dict[str, str], now: dict) -> None:
    """Refuse the whole save when any row is wrong or was changed by another save since the page was loaded."""
    if now:
        raise ChangedSince(errors, now)
    if errors:
        raise FieldErrors(errors)


# -- what the host holds -----------------------------------------------------------------------------


def host_users(session: Session) -> list[User]:
    """Active host users who can be sales reps (reps and admins), by name."""
    return list(session.execute(select(User).where(User.active.is_(True))
                                .order_by(User.first_name, User.last_name)).scalars())


def host_category_pairs(session: Session) -> list[tuple[str, str]]:
    """Every (category, sub-category) a host line may carry: the category tree's pairs, a category
    without sub-categories as ``(category, "")``, and whatever document lines hold."""
    pairs: set[tuple[str, str]] = set()
    nodes = session.execute(select(ProductCategory)).scalars().all()
    names = {n.id: n.name for n in nodes}
    parents = {n.parent_id for n in nodes if n.parent_id}
    for n in nodes:
        if n.parent_id:
            pairs.add((names[n.parent_id], n.name))
        elif n.id not in parents:
            pairs.add((n.name, ""))
    for cat, sub in session.execute(select(DocumentLine.category, DocumentLine.subcategory).distinct()):
        if cat:
            pairs.add((cat, sub or ""))
    return sorted(pairs, key=lambda p: (p[0].lower(), p[1].lower()))


def host_manufacturers(session: Session) -> list[str]:
    """The manufacturer names on the host's document lines."""
    rows = session.execute(select(DocumentLine.manufacturer).where(DocumentLine.manufacturer != "").distinct())
    return sorted((r[0] for r in rows), key=str.lower)


def lock_settings(session: Session) -> Settings:
    """The settings row, locked until commit: saves of mappings and auto-map run one at a time
    across all web processes (otherwise two could insert the same mapping row). Its values are read
    once the lock is held: what the session loaded earlier may predate another save that ended meanwhile."""
    return the_row(session, Settings, for_update=True)


def audit(session: Session, actor: str, area: str, lines: list[str]) -> None:
    """Record a save of the mappings that changed something (``lines``: what, as the audit log says it), and count the
    settings as saved now (:func:`saved_now`)."""
    if lines:
        session.add(ConfigChange(actor=actor, area=area, summary="; ".join(lines)[:4000]))
        saved_now(session, actor)


def saved_now(session: Session, actor: str) -> None:
    """The settings count as saved now, by ``actor``: a mapping saved (a rep's, a product type's, a category's, a
    manufacturer's) changes what an export sends and whether its lines can go, as the settings' own fields do. An
    export checklist's clear answer was given on the settings as last saved (``sync/quotes/answered.py``): Export now
    asks ConnectWise again after any of these saves, not only after a save of the settings row's own fields."""
    row = the_row(session, Settings)
    row.updated_at, row.updated_by = utcnow(), actor


def apply_named(session: Session, current: Mapping[str, Any], resolved: Mapping[str, tuple[str, int | None]],
                 new_row: Callable[[str], Any], name_attr: str, id_attr: str, removed_note: str) -> list[str]:
    """Store ``resolved`` (key → ConnectWise (name, id); "" deletes the row) over the ``current`` rows;
    the audit lines of what changed. Product types and manufacturer aliases share this."""
    changes = []
    for key, (name, cw_id) in resolved.items():
        row = current.get(key)
        if not name:
            if row is not None:
                session.delete(row)
                changes.append(removed_note.format(key))
            continue
        if row is None:
            row = new_row(key)
            session.add(row)
        elif cw_id is None and getattr(row, name_attr) == name:
            cw_id = getattr(row, id_attr)  # unchanged, saved while ConnectWise cannot be reached: keeps its id
        if (getattr(row, name_attr), getattr(row, id_attr)) != (name, cw_id):
            changes.append(f"{key} → {name}" + ("" if cw_id else " (not verified)"))
        setattr(row, name_attr, name)
        setattr(row, id_attr, cw_id)
    return changes
