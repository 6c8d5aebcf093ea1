"""Product integration mapping: manufacturer aliases, for host manufacturer names that differ from
ConnectWise's."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import FieldErrors
from ..models import ManufacturerAlias
from .common import apply_named, audit, lock_settings, unknown_name
from .lookups import Lookups


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
            errors[f"alias-{n}"] = unknown_name("manufacturer", value, (x.name for x in lookups.manufacturers))
            continue
        resolved[host_name] = (value, ref.id if ref else None)
    if errors:
        raise FieldErrors(errors)
    changes = apply_named(session, manufacturer_aliases(session), resolved,
                           lambda key: ManufacturerAlias(host_name=key), "cw_manufacturer_name", "cw_manufacturer_id",
                           "alias {} removed")
    audit(session, actor, "manufacturers", changes)
    session.flush()
