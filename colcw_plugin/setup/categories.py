"""Product integration mapping: host categories / sub-categories → ConnectWise categories / sub-categories,
and the category mode (use the host's names as they are, or the mapping table)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import CategoryMapping, Settings
from .common import audit, changed_since, lock_settings, raise_errors, unknown_name
from .lookups import Lookups

CATEGORY_MODES = ("names", "mapping")


@dataclass(frozen=True)
class CategoryChoice:
    """Host (category, sub-category) → ConnectWise (category, sub-category) names ("" = unmapped); ``shown`` is
    the ConnectWise names the row held when the page was loaded, None when unknown (the row is saved as sent)."""

    host_category: str
    host_subcategory: str
    cw_category: str
    cw_subcategory: str
    shown: tuple[str, str] | None = None


MODE_WORDS = {"names": "use ChannelOnline's names", "mapping": "use the mapping"}


def held(mapping: CategoryMapping | None) -> tuple[str, str]:
    """The ConnectWise (category, sub-category) a row holds, blanks when none."""
    return (mapping.cw_category_name or "", mapping.cw_subcategory_name or "") if mapping else ("", "")


def _described(names: tuple[str, str]) -> str:
    return " / ".join(names) if any(names) else "not mapped"


def category_mappings(session: Session) -> dict[tuple[str, str], CategoryMapping]:
    """As the database holds them now (read again over rows the session loaded before: see ``reps.rep_mappings``)."""
    return {(m.host_category, m.host_subcategory): m
            for m in session.execute(select(CategoryMapping).execution_options(populate_existing=True)).scalars()}


def save_categories(session: Session, settings: Settings, mode: str, choices: list[CategoryChoice],
                    lookups: Lookups | None, actor: str, shown_mode: str | None = None) -> None:
    """Store the category mode and the mapping table (the table is kept in either mode).

    A row with ``shown`` (and the mode, with ``shown_mode``) is saved only when the admin changed it on the page;
    a changed row is refused (:class:`~.common.ChangedSince`, ``now`` keyed by host pair) when another save changed
    it after the page was loaded."""
    lock_settings(session)
    errors: dict[str, str] = {}
    now: dict = {}
    if mode not in CATEGORY_MODES:
        errors["category_mode"] = "Choose whether to use ChannelOnline's names or the mapping below."
    elif shown_mode is not None and mode == shown_mode:
        mode = settings.category_mode or "names"  # not changed on the page (of two modes, a change cannot conflict)
    current = category_mappings(session)
    resolved = {}
    for n, c in enumerate(choices):
        key = (c.host_category, c.host_subcategory)
        cat, sub = c.cw_category.strip(), c.cw_subcategory.strip()
        if c.shown is not None:
            if (cat, sub) == tuple(c.shown):
                continue  # not changed on the page
            theirs = held(current.get(key))
            if theirs not in (tuple(c.shown), (cat, sub)):
                errors[f"category-{n}"] = changed_since(" / ".join(filter(None, key)), _described(theirs),
                                                        _described((cat, sub)))
                now[key] = theirs
                continue
        if not cat and not sub:
            resolved[key] = None
            continue
        if not cat or not sub:
            errors[f"category-{n}"] = (f"Choose both the ConnectWise category and sub-category for "
                                       f"{' / '.join(filter(None, key))}: a product needs a sub-category.")
            continue
        ids = (None, None)
        if lookups is not None:
            ref = lookups.subcategory(cat, sub)
            if ref is None:
                if lookups.named("categories", cat) is None:
                    errors[f"category-{n}"] = unknown_name("category", cat, (x.name for x in lookups.categories))
                else:
                    errors[f"category-{n}"] = unknown_name(f"sub-category of {cat}", sub,
                                                       (x.name for x in lookups.subcategories if x.parent_name == cat))
                continue
            ids = (ref.parent_id, ref.id)
        resolved[key] = (cat, sub, *ids)
    raise_errors(errors, now)
    changes = []
    if settings.category_mode != mode:
        changes.append("Category mode: " + MODE_WORDS[mode])
        settings.category_mode = mode
    for key, value in resolved.items():
        row = current.get(key)
        label = " / ".join(filter(None, key))
        if value is None:
            if row is not None:
                session.delete(row)
                changes.append(f"{label} unmapped")
            continue
        if row is None:
            row = CategoryMapping(host_category=key[0], host_subcategory=key[1])
            session.add(row)
        elif value[3] is None and (row.cw_category_name, row.cw_subcategory_name) == value[:2]:
            # Unchanged, saved while ConnectWise cannot be reached: it keeps the ids it was verified with.
            value = (*value[:2], row.cw_category_id, row.cw_subcategory_id)
        new = dict(zip(("cw_category_name", "cw_subcategory_name", "cw_category_id", "cw_subcategory_id"), value,
                       strict=True))
        if any(getattr(row, k) != v for k, v in new.items()):
            changes.append(f"{label} → {value[0]} / {value[1]}" + ("" if value[3] else " (not verified)"))
        for k, v in new.items():
            setattr(row, k, v)
    audit(session, actor, "categories", changes)
    session.flush()
