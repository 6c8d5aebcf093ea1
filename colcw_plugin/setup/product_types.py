"""Product integration mapping: the host's product types (Product, Service, Labor) → ConnectWise product types."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.models import PRODUCT_TYPES

from ..models import ProductTypeMapping
from .common import apply_named, audit, changed_since, lock_settings, raise_errors, unknown_name
from .lookups import Lookups


def product_type_mappings(session: Session) -> dict[str, ProductTypeMapping]:
    """As the database holds them now (read again over rows the session loaded before: see ``reps.rep_mappings``)."""
    return {m.host_type: m for m in session.execute(select(ProductTypeMapping).execution_options(populate_existing=True))
            .scalars()}


def save_product_types(session: Session, choices: Mapping[str, str], lookups: Lookups | None, actor: str,
                       shown: Mapping[str, str] | None = None) -> None:
    """``choices`` maps Product / Service / Labor to a ConnectWise product type name ("" = unmapped).

    ``shown`` maps a host type to the name the page showed when it was loaded: such a type is saved only when
    its choice differs from it, and refused (:class:`~.common.ChangedSince`) when another save changed it since."""
    lock_settings(session)
    errors, resolved, now = {}, {}, {}
    current = product_type_mappings(session)
    for host_type, value in choices.items():
        if host_type not in PRODUCT_TYPES:
            errors[f"type-{host_type}"] = f"{host_type} is not a ChannelOnline product type."
            continue
        value = value.strip()
        if shown is not None and host_type in shown:
            if value == shown[host_type]:
                continue  # not changed on the page
            theirs = current[host_type].cw_type_name if host_type in current else ""
            if theirs not in (shown[host_type], value):
                errors[f"type-{host_type}"] = changed_since(host_type, theirs or "not mapped", value or "not mapped")
                now[host_type] = theirs
                continue
        ref = lookups.named("product_types", value) if (lookups is not None and value) else None
        if lookups is not None and value and ref is None:
            errors[f"type-{host_type}"] = unknown_name("product type", value, (x.name for x in lookups.product_types))
            continue
        resolved[host_type] = (value, ref.id if ref else None)
    raise_errors(errors, now)
    changes = apply_named(session, current, resolved,
                           lambda key: ProductTypeMapping(host_type=key), "cw_type_name", "cw_type_id", "{} unmapped")
    audit(session, actor, "product types", changes)
    session.flush()
