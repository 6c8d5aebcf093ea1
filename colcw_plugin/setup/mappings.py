"""The admin's mappings: sales reps → members, product types, categories, manufacturer aliases.

Saving checks every value against what ConnectWise holds, exactly as ConnectWise spells it
(ConnectWise matches names case-sensitively), and saves nothing when one value is wrong.
When ConnectWise cannot be reached the page offers typed entry: ``lookups=None`` then stores
the typed names without ids ("not verified"), and the pre-flight check says so until an admin
saves them again while ConnectWise answers.

The quote export reads the product tables once per run (:class:`colcw_plugin.sync.catalog.CatalogSetup`)
and members through :mod:`colcw_plugin.reps`; :func:`product_type_for`, :func:`category_for` and
:func:`manufacturer_for` answer for a single value.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.models import PRODUCT_TYPES, DocumentLine, ProductCategory, User

from ..errors import FieldErrors
from ..models import (
    CategoryMapping,
    ConfigChange,
    ManufacturerAlias,
    ProductTypeMapping,
    RepMapping,
    Settings,
)
from .connection import get_settings
from .lookups import Lookups

CATEGORY_MODES = ("names", "mapping")


def _unknown(kind: str, value: str, names: Iterable[str]) -> str:
    names = list(names)
    near = [n for n in names if n.lower() == value.lower()] or difflib.get_close_matches(value, names, n=1)
    hint = f' Did you mean "{near[0]}"?' if near else ""
    return f'ConnectWise has no {kind} named "{value}" (names must match exactly, including case).{hint}'


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
    across all web processes (otherwise two could insert the same mapping row)."""
    row = get_settings(session)
    session.execute(select(Settings.id).where(Settings.id == row.id).with_for_update())
    return row


def _audit(session: Session, actor: str, area: str, lines: list[str]) -> None:
    if lines:
        session.add(ConfigChange(actor=actor, area=area, summary="; ".join(lines)[:4000]))


# -- sales reps ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepChoice:
    """What the form sent for one host user ("" member = not mapped)."""

    user_id: int
    member: str
    location: str = ""
    department: str = ""


def rep_mappings(session: Session) -> dict[int, RepMapping]:
    return {m.user_id: m for m in session.execute(select(RepMapping)).scalars()}


def save_rep_mappings(session: Session, choices: list[RepChoice], lookups: Lookups | None, actor: str) -> None:
    """Store the rep mappings. A blank location or department takes the member's default."""
    lock_settings(session)
    errors: dict[str, str] = {}
    users = {u.id: u for u in session.execute(select(User)).scalars()}
    current = rep_mappings(session)
    resolved: dict[int, dict | None] = {}
    for c in choices:
        user = users.get(c.user_id)
        if user is None:
            errors[f"member-{c.user_id}"] = "That user no longer exists; reload the page."
            continue
        member, location, department = c.member.strip(), c.location.strip(), c.department.strip()
        if not member:
            resolved[c.user_id] = None
            continue
        row = {"member_identifier": member, "member_id": None, "location_name": location, "location_id": None,
               "department_name": department, "department_id": None}
        if lookups is not None:
            m = lookups.member(member)
            if m is None:
                errors[f"member-{c.user_id}"] = _unknown("active member", member, (x.identifier for x in lookups.members))
                continue
            row["member_id"] = m.id
            location = location or m.location_name
            department = department or m.department_name
            loc, dept = lookups.named("locations", location), lookups.named("departments", department)
            if loc is None:
                errors[f"location-{c.user_id}"] = (_unknown("location", location, (x.name for x in lookups.locations))
                                                   if location else f"Choose the location for {user.name}.")
            if dept is None:
                errors[f"department-{c.user_id}"] = (
                    _unknown("business unit (department)", department, (x.name for x in lookups.departments))
                    if department else f"Choose the business unit for {user.name}.")
            if loc is None or dept is None:
                continue
            row.update(location_name=loc.name, location_id=loc.id, department_name=dept.name, department_id=dept.id)
        elif not location or not department:
            errors[f"member-{c.user_id}"] = (f"Type the location and business unit for {user.name} too: ConnectWise "
                                             "cannot be reached to look up the member's defaults.")
            continue
        resolved[c.user_id] = row
    if errors:
        raise FieldErrors(errors)
    changes = []
    for user_id, row in resolved.items():
        existing = current.get(user_id)
        name = users[user_id].name
        if row is None:
            if existing is not None:
                session.delete(existing)
                changes.append(f"{name} unmapped")
            continue
        if existing is None:
            existing = RepMapping(user_id=user_id)
            session.add(existing)
        before = (existing.member_identifier, existing.location_name, existing.department_name, existing.member_id)
        for key, value in row.items():
            setattr(existing, key, value)
        if before != (row["member_identifier"], row["location_name"], row["department_name"], row["member_id"]):
            changes.append(f"{name} → {row['member_identifier']} ({row['location_name']} / {row['department_name']})"
                           + ("" if row["member_id"] else ", not verified"))
    _audit(session, actor, "rep mapping", changes)
    session.flush()


# -- product types -------------------------------------------------------------------------------------


def product_type_mappings(session: Session) -> dict[str, ProductTypeMapping]:
    return {m.host_type: m for m in session.execute(select(ProductTypeMapping)).scalars()}


def save_product_types(session: Session, choices: Mapping[str, str], lookups: Lookups | None, actor: str) -> None:
    """``choices`` maps Product / Service / Labor to a ConnectWise product type name ("" = unmapped)."""
    lock_settings(session)
    errors, resolved = {}, {}
    for host_type, value in choices.items():
        if host_type not in PRODUCT_TYPES:
            errors[f"type-{host_type}"] = f"{host_type} is not a host product type."
            continue
        value = value.strip()
        ref = lookups.named("product_types", value) if (lookups is not None and value) else None
        if lookups is not None and value and ref is None:
            errors[f"type-{host_type}"] = _unknown("product type", value, (x.name for x in lookups.product_types))
            continue
        resolved[host_type] = (value, ref.id if ref else None)
    if errors:
        raise FieldErrors(errors)
    changes = _apply_named(session, product_type_mappings(session), resolved,
                           lambda key: ProductTypeMapping(host_type=key), "cw_type_name", "cw_type_id", "{} unmapped")
    _audit(session, actor, "product types", changes)
    session.flush()


def _apply_named(session: Session, current: Mapping[str, Any], resolved: Mapping[str, tuple[str, int | None]],
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
        if (getattr(row, name_attr), getattr(row, id_attr)) != (name, cw_id):
            changes.append(f"{key} → {name}" + ("" if cw_id else " (not verified)"))
        setattr(row, name_attr, name)
        setattr(row, id_attr, cw_id)
    return changes


def product_type_for(session: Session, host_type: str) -> ProductTypeMapping | None:
    """The ConnectWise product type for a host line's product type (None when unmapped)."""
    row = session.execute(select(ProductTypeMapping).where(ProductTypeMapping.host_type == host_type)).scalar()
    return row if row is not None and row.cw_type_name else None


# -- categories ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryChoice:
    """Host (category, sub-category) → ConnectWise (category, sub-category) names ("" = unmapped)."""

    host_category: str
    host_subcategory: str
    cw_category: str
    cw_subcategory: str


def category_mappings(session: Session) -> dict[tuple[str, str], CategoryMapping]:
    return {(m.host_category, m.host_subcategory): m for m in session.execute(select(CategoryMapping)).scalars()}


def save_categories(session: Session, settings: Settings, mode: str, choices: list[CategoryChoice],
                    lookups: Lookups | None, actor: str) -> None:
    """Store the category mode and the mapping table (the table is kept in either mode)."""
    lock_settings(session)
    errors: dict[str, str] = {}
    if mode not in CATEGORY_MODES:
        errors["category_mode"] = "Choose whether to use ChannelOnline's names or the mapping below."
    resolved = {}
    for n, c in enumerate(choices):
        key = (c.host_category, c.host_subcategory)
        cat, sub = c.cw_category.strip(), c.cw_subcategory.strip()
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
                    errors[f"category-{n}"] = _unknown("category", cat, (x.name for x in lookups.categories))
                else:
                    errors[f"category-{n}"] = _unknown(f"sub-category of {cat}", sub,
                                                       (x.name for x in lookups.subcategories if x.parent_name == cat))
                continue
            ids = (ref.parent_id, ref.id)
        resolved[key] = (cat, sub, *ids)
    if errors:
        raise FieldErrors(errors)
    changes = []
    if settings.category_mode != mode:
        changes.append("Category mode: " + ("use ChannelOnline's names" if mode == "names" else "use the mapping"))
        settings.category_mode = mode
    current = category_mappings(session)
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
        new = dict(zip(("cw_category_name", "cw_subcategory_name", "cw_category_id", "cw_subcategory_id"), value,
                       strict=True))
        if any(getattr(row, k) != v for k, v in new.items()):
            changes.append(f"{label} → {value[0]} / {value[1]}" + ("" if value[3] else " (not verified)"))
        for k, v in new.items():
            setattr(row, k, v)
    _audit(session, actor, "categories", changes)
    session.flush()


def category_for(session: Session, settings: Settings, category: str, subcategory: str) -> tuple[str, str] | None:
    """The ConnectWise (category, sub-category) names for a host line.

    With "use ChannelOnline's names" the host's names are used as they are; with the mapping,
    the row for exactly this (category, sub-category), as the quote export reads it; None when
    nothing applies.
    """
    if settings.category_mode != "mapping":
        return (category, subcategory) if category and subcategory else None
    row = category_mappings(session).get((category, subcategory or ""))
    return (row.cw_category_name, row.cw_subcategory_name) if row is not None else None


# -- manufacturers -------------------------------------------------------------------------------------


def manufacturer_aliases(session: Session) -> dict[str, ManufacturerAlias]:
    return {a.host_name: a for a in session.execute(select(ManufacturerAlias)).scalars()}


def save_manufacturer_aliases(session: Session, choices: Mapping[str, str], lookups: Lookups | None,
                              actor: str) -> None:
    """``choices`` maps a host manufacturer name to a ConnectWise manufacturer ("" removes the alias)."""
    lock_settings(session)
    errors, resolved = {}, {}
    for n, (host_name, value) in enumerate(choices.items()):
        host_name, value = host_name.strip(), value.strip()
        if not host_name:
            if value:
                errors[f"alias-{n}"] = "Type the manufacturer name as it appears on ChannelOnline's lines."
            continue
        if len(host_name) > 100:
            errors[f"alias-{n}"] = "The manufacturer name must be at most 100 characters."
            continue
        ref = lookups.named("manufacturers", value) if (lookups is not None and value) else None
        if lookups is not None and value and ref is None:
            errors[f"alias-{n}"] = _unknown("manufacturer", value, (x.name for x in lookups.manufacturers))
            continue
        resolved[host_name] = (value, ref.id if ref else None)
    if errors:
        raise FieldErrors(errors)
    changes = _apply_named(session, manufacturer_aliases(session), resolved,
                           lambda key: ManufacturerAlias(host_name=key), "cw_manufacturer_name", "cw_manufacturer_id",
                           "alias {} removed")
    _audit(session, actor, "manufacturers", changes)
    session.flush()


def manufacturer_for(session: Session, host_name: str) -> str:
    """The ConnectWise manufacturer name for a host manufacturer: its alias, else the same name."""
    alias = session.execute(select(ManufacturerAlias).where(ManufacturerAlias.host_name == host_name)).scalar()
    return alias.cw_manufacturer_name if alias is not None and alias.cw_manufacturer_name else host_name

