"""Product integration mapping: manufacturer aliases, for host manufacturer names that differ from
ConnectWise's."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import ManufacturerAlias
from .common import apply_named, audit, changed_since, lock_settings, raise_errors, unknown_name
from .lookups import Lookups


def manufacturer_aliases(session: Session) -> dict[str, ManufacturerAlias]:
    """As the database holds them now (read again over rows the session loaded before: see ``reps.rep_mappings``)."""
    return {a.host_name: a for a in session.execute(select(ManufacturerAlias).execution_options(populate_existing=True))
            .scalars()}


def save_manufacturer_aliases(session: Session, choices: Mapping[str, str], lookups: Lookups | None,
                              actor: str, shown: Mapping[str, str] | None = None) -> None:
    """``choices`` maps a host manufacturer name to a ConnectWise manufacturer ("" removes the alias).

    ``shown`` maps a host name to the alias the page showed when it was loaded ("" for none, as on the page's
    new row): such a name is saved only when its choice differs from it, and refused
    (:class:`~.common.ChangedSince`) when another save changed its alias since. Errors are keyed
    ``alias-<n>``, n the choice's position."""
    lock_settings(session)
    errors, resolved, now = {}, {}, {}
    current = manufacturer_aliases(session)
    for n, (host_name, value) in enumerate(choices.items()):
        raw_name, host_name, value = host_name, host_name.strip(), value.strip()
        if not host_name:
            if value:
                errors[f"alias-{n}"] = "Type the manufacturer name as it appears on ChannelOnline's lines."
            continue
        if len(host_name) > 100:
            errors[f"alias-{n}"] = "The manufacturer name must be at most 100 characters."
            continue
        if shown is not None and raw_name in shown:
            if value == shown[raw_name]:
                continue  # not changed on the page
            theirs = current[host_name].cw_manufacturer_name if host_name in current else ""
            if theirs not in (shown[raw_name], value):
                errors[f"alias-{n}"] = changed_since(f"the alias of {host_name}", theirs or "no alias",
                                                     value or "no alias")
                now[raw_name] = theirs
                continue
        ref = lookups.named("manufacturers", value) if (lookups is not None and value) else None
        if lookups is not None and value and ref is None:
            errors[f"alias-{n}"] = unknown_name("manufacturer", value, (x.name for x in lookups.manufacturers))
            continue
        resolved[host_name] = (value, ref.id if ref else None)
    raise_errors(errors, now)
    changes = apply_named(session, current, resolved,
                           lambda key: ManufacturerAlias(host_name=key), "cw_manufacturer_name", "cw_manufacturer_id",
                           "alias {} removed")
    audit(session, actor, "manufacturers", changes)
    session.flush()
