"""The connection options (§4.2 2c-2e): the opportunity name field, empty names, the logged-in rep."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from host_stub.models import CustomField

from ..errors import FieldErrors
from ..models import ConfigChange, Settings
from .connection import get_settings


@dataclass(frozen=True)
class OptionsInput:
    opportunity_field_id: int | None
    allow_empty_opportunity_name: bool
    use_logged_in_rep: bool


def save_options(session: Session, data: OptionsInput, actor: str) -> Settings:
    """Validate and store the options; records what changed (never secrets: there are none here)."""
    row = get_settings(session)
    field = None
    if data.opportunity_field_id is not None:
        field = session.get(CustomField, data.opportunity_field_id)
        if field is None:
            raise FieldErrors({"opportunity_field_id": "That custom field no longer exists; choose another one."})
    elif not data.allow_empty_opportunity_name:  # no name from anywhere: every export would be refused
        raise FieldErrors({"opportunity_field_id": "Choose the custom field that holds the opportunity name, or "
                           "allow empty opportunity names (a document then becomes an opportunity named by its "
                           "number): with neither, no document can be exported."})
    changes = []
    if row.opportunity_field_id != data.opportunity_field_id:
        changes.append(f"opportunity name field: {field.name if field else 'none'}")
    if row.allow_empty_opportunity_name != data.allow_empty_opportunity_name:
        changes.append(f"allow empty opportunity names: {'on' if data.allow_empty_opportunity_name else 'off'}")
    if row.use_logged_in_rep != data.use_logged_in_rep:
        changes.append(f"assign to the logged-in sales rep: {'on' if data.use_logged_in_rep else 'off'}")
    row.opportunity_field_id = data.opportunity_field_id
    row.allow_empty_opportunity_name = data.allow_empty_opportunity_name
    row.use_logged_in_rep = data.use_logged_in_rep
    if changes:
        row.updated_by = actor
        session.add(ConfigChange(actor=actor, area="options", summary="Changed " + "; ".join(changes)))
    session.flush()
    return row
