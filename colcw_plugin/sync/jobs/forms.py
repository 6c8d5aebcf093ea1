"""Reading the Synchronization Jobs form and the command line into a kind's params: the pieces the
kinds share (a record by its number, a date range, the scope choice).

Preset ranges (today, last 7 / 15 / 30 days) keep no dates, so a scheduled job's range moves with
the day it runs; a custom range keeps its start and end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from ...errors import FieldErrors
from . import ranges


def find_by_number(session: Session, column: InstrumentedAttribute, number: str) -> int | None:
    """The id of the record whose ``column`` (an account or document number) is ``number``.

    Case-insensitive, on the page and on the command line alike: numbers are typed by people.
    """
    number = number.strip()
    if not number:
        return None
    table = column.class_
    return session.execute(select(table.id).where(func.lower(column) == number.lower())
                           .order_by(table.id).limit(1)).scalar()


def range_from_form(form: Mapping[str, str], prefix: str, fields: Mapping[str, str]) -> dict:
    """``{"range": spec}`` from the form's ``<prefix>_range_field``, ``_preset``, ``_start``, ``_end``."""
    field = form.get(f"{prefix}_range_field") or ""
    if field not in fields:
        raise FieldErrors({f"{prefix}_range_field": "Choose which date the range applies to: "
                                                    + ", ".join(fields.values()) + "."})
    preset = form.get(f"{prefix}_preset") or ""
    start, end = (form.get(f"{prefix}_start") or "").strip(), (form.get(f"{prefix}_end") or "").strip()
    try:
        ranges.resolve(preset, start, end)
    except ValueError as e:
        raise FieldErrors({f"{prefix}_preset": str(e)}) from None
    spec = {"field": field, "preset": preset}
    if preset == "custom":
        spec.update(start=start, end=end)
    return {"range": spec}


def range_from_cli(text: str, field: str, *, option: str) -> dict:
    """A range spec from a command-line value: ``today``, ``last7``, ``last15``, ``last30``,
    ``YYYY-MM-DD..YYYY-MM-DD``, or ``YYYY-MM-DD`` (from that day to today). Validated now, resolved
    again when the run starts."""
    text = (text or "").strip()
    if ".." in text:
        start, end = (part.strip() for part in text.split("..", 1))
        spec = {"field": field, "preset": "custom", "start": start, "end": end}
    elif text in ranges.PRESETS:
        spec = {"field": field, "preset": text}
    else:
        spec = {"field": field, "preset": "custom", "start": text, "end": dt.date.today().isoformat()}
    try:
        ranges.resolve(spec["preset"], spec.get("start"), spec.get("end"))
    except ValueError as e:
        # The page's "Enter the custom start and end dates" names fields a command line does not have.
        why = "" if "Enter the custom" in str(e) else f" ({str(e).rstrip('.')})"
        raise FieldErrors({option: f"{text!r} is not a date range{why}. Use today, last7, last15, last30, "
                                   "YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD."}) from None
    return spec
