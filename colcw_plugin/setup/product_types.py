"""Product integration mapping: the host's product types (Product, Service, Labor) → ConnectWise product types."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.models import PRODUCT_TYPES

from ..errors import FieldErrors
from ..models import ProductTypeMapping
from .common import apply_named, audit, lock_settings, unknown_name
from .lookups import Lookups


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
            errors[f"type-{host_type}"] = unknown_name("product type", value, (x.name for x in lookups.product_types))
            continue
        resolved[host_type] = (value, ref.id if ref else None)
    if errors:
        raise FieldErrors(errors)
    changes = apply_named(session, product_type_mappings(session), resolved,
                           lambda key: ProductTypeMapping(host_type=key), "cw_type_name", "cw_type_id", "{} unmapped")
    audit(session, actor, "product types", changes)
    session.flush()
