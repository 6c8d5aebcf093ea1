"""Product integration mapping: manufacturer aliases, for host manufacturer names that differ from
ConnectWise's."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..cw import places
from ..models import ManufacturerAlias
from . import pages
from .common import apply_named, audit, changed_since, lock_settings, raise_errors, unknown_name
from .lookups import Lookups


def manufacturer_aliases(session: Session) -> dict[str, ManufacturerAlias]:
    """As the database holds them now (read again over rows the session loaded before: see ``reps.rep_mappings``)."""
    return {a.host_name: a for a in session.execute(select(ManufacturerAlias).execution_options(populate_existing=True))
            .scalars()}


def case_twin(name: str, cw_names: Iterable[str]) -> str | None:
    """The ConnectWise manufacturer among ``cw_names`` whose name differs from ``name`` only in case (a line's
    ``samsung`` where ConnectWise has ``Samsung``); None when there is none. Names match exactly, case included, so
    such a line is refused until it is corrected or aliased: the page and the export both name the twin."""
    lowered = name.lower()
    return next((n for n in cw_names if n and n != name and n.lower() == lowered), None)


def case_twin_problem(name: str, twin: str, *, alias_of: str | None = None) -> tuple[str, str]:
    """What is wrong, and its fix, when a manufacturer ``name`` differs only in case from ConnectWise's active
    ``twin`` (:func:`case_twin`): a line's own manufacturer, or with ``alias_of`` the target of that host name's
    alias. One wording, naming the twin, for the export's refusal of such a line, the Pre-flight check, Auto-map and
    the mapping page (adding ``name`` in ConnectWise is no fix: ConnectWise holds the name)."""
    missing = (f"manufacturer “{name}” does not exist in ConnectWise, which has “{twin}” (names must match exactly, "
               "case included)")
    if alias_of is not None:
        return (f"the alias of “{alias_of}” points to “{name}”, but {missing}",
                f"Correct the alias of “{alias_of}” to “{twin}” ({pages.MANUFACTURERS.name}).")
    return missing, (f"Correct the lines' manufacturer to “{twin}”, or add the alias {name} → {twin} "
                     f"({pages.MANUFACTURERS.name}).")


def inactive_twin(name: str, active: Iterable[str], inactive: Iterable[str]) -> str | None:
    """The manufacturer ConnectWise has but marks inactive that a line's ``name`` would be: the same name, or one
    differing only in case when no active manufacturer does (that one is :func:`case_twin`'s); None otherwise.
    ``active`` and ``inactive`` are ConnectWise's names."""
    active = list(active)
    if name in active or case_twin(name, active) is not None:
        return None
    inactive = list(inactive)
    return name if name in inactive else case_twin(name, inactive)


def inactive_problem(name: str, cw_name: str, *, alias: bool = False) -> tuple[str, str]:
    """What is wrong, and its fix, when a line's manufacturer ``name`` is ``cw_name`` in ConnectWise but ConnectWise
    marks it inactive: the same name, one differing only in case (:func:`inactive_twin`), or with ``alias`` the one
    ``name``'s alias points to. One wording for the mapping page and the export, which refuses such a line."""
    elsewhere = f"or map “{name}” to another ConnectWise manufacturer ({pages.MANUFACTURERS.name})."
    activate = f"Activate “{cw_name}” in ConnectWise ({places.MANUFACTURER})"
    if alias:
        return (f"the alias of “{name}” points to “{cw_name}”, which ConnectWise has but marks inactive",
                f"{activate}, {elsewhere}")
    if cw_name == name:
        return f"manufacturer “{name}” is in ConnectWise but marked inactive", f"{activate}, {elsewhere}"
    return (f"manufacturer “{name}” does not exist in ConnectWise, which has “{cw_name}” (names must match exactly, "
            "case included) but marks it inactive",
            f"{activate} and correct the lines to “{cw_name}” or add the alias {name} → {cw_name}, {elsewhere}")


AliasRow = tuple[str, str, str | None]
"""One row of the Manufacturers table as sent: (host manufacturer name, ConnectWise manufacturer, the alias the row
showed when the page was loaded; None when not known)."""


def save_manufacturer_aliases(session: Session, choices: Mapping[str, str] | Sequence[AliasRow],
                              lookups: Lookups | None, actor: str, new_row: int | None = None) -> None:
    """Save each row's alias: ``choices`` maps a host manufacturer name to a ConnectWise manufacturer ("" removes the
    alias), or lists the page's rows (:data:`AliasRow`) in order; ``new_row`` is the position of the row whose name
    the admin types. A name typed there with no ConnectWise manufacturer is refused in that row: it would add
    nothing, and "Saved." would hide that the row was dropped.

    A row's name is compared trimmed (aliases match the line's name exactly, case and all): a
    name listed in an earlier row, or differing from one only in case, is refused: the two rows would save over
    each other, or map two spellings of one manufacturer to different ones. A row that says what it
    showed is saved only when its choice differs from it, and refused (:class:`~.common.ChangedSince`) when another
    save changed its alias since. Errors are keyed ``alias-<n>``, n the row's position; any error saves nothing."""
    rows = [(host, value, None) for host, value in choices.items()] if isinstance(choices, Mapping) else list(choices)
    lock_settings(session)
    errors, resolved, now = {}, {}, {}
    current = manufacturer_aliases(session)
    listed: set[str] = set()
    for n, (raw_name, value, shown) in enumerate(rows):
        host_name, value = raw_name.strip(), value.strip()
        if not host_name:
            if value:
                errors[f"alias-{n}"] = "Type the manufacturer name as it appears on ChannelOnline's lines."
            continue
        if len(host_name) > 100:
            errors[f"alias-{n}"] = "The manufacturer name must be at most 100 characters."
            continue
        if host_name in listed:
            errors[f"alias-{n}"] = (f"{host_name} is already listed above: choose its ConnectWise manufacturer in that "
                                    "row, and leave this one empty.")
            continue
        twin = next((x for x in listed if x.casefold() == host_name.casefold()), None)
        if twin is not None:  # differs only in case: the lines' two spellings would map to different manufacturers
            errors[f"alias-{n}"] = (f"{host_name} differs from {twin}, listed above, only in case, so the two would "
                                    f"map to different manufacturers: choose the ConnectWise manufacturer in the "
                                    f"{twin} row and leave this one empty, or correct the spelling on "
                                    "ChannelOnline's lines.")
            continue
        listed.add(host_name)
        if n == new_row and not value:
            errors[f"alias-{n}"] = (f"{host_name} has no ConnectWise manufacturer chosen, so no alias would be saved: "
                                    "choose its ConnectWise manufacturer in this row, or clear the name.")
            continue
        if shown is not None:
            if value == shown:
                continue  # not changed on the page
            theirs = current[host_name].cw_manufacturer_name if host_name in current else ""
            if theirs not in (shown, value):
                errors[f"alias-{n}"] = changed_since(f"the alias of {host_name}", theirs or "no alias",
                                                     value or "no alias")
                now[n] = theirs  # by position: the row to show it in
                continue
        ref = lookups.named("manufacturers", value) if (lookups is not None and value) else None
        if lookups is not None and value and ref is None:
            inactive = any(x.name == value for x in lookups.inactive_manufacturers)
            errors[f"alias-{n}"] = (
                f"ConnectWise has “{value}” but marks it inactive: activate it in ConnectWise ({places.MANUFACTURER}) "
                f"first, or choose another manufacturer for {host_name}."
                if inactive else unknown_name("manufacturer", value, (x.name for x in lookups.manufacturers)))
            continue
        resolved[host_name] = (value, ref.id if ref else None)
    raise_errors(errors, now)
    changes = apply_named(session, current, resolved,
                           lambda key: ManufacturerAlias(host_name=key), "cw_manufacturer_name", "cw_manufacturer_id",
                           "alias {} removed")
    audit(session, actor, "manufacturers", changes)
    session.flush()
