"""The host's field rules, read from its columns: one definition for its pages and plugins' writes.

A text field may hold at most its column's length (``String(100)`` → 100 characters), a number fits
its ``Numeric(precision, scale)`` column, an id names an existing row. :class:`~host_stub.gateway.UnitOfWork`
checks every value it writes with these functions before anything is flushed, so a page shows a
field error beside the field and a plugin (colcw's import) gets a :class:`~host_stub.gateway.ValidationError`
naming the field, never a database exception. Nothing here knows Flask.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Column, Numeric, String

from .models import PRODUCT_TYPES, DocumentLine

Errors = dict[str, str]

def taken_message(account_number: str, holder: str) -> str:
    """The error for an account number another customer holds, naming that customer (the rep, or a plugin's run
    log, can then find which one)."""
    who = f" ({holder})" if holder else ""
    return f"Account number {account_number} is already used by another customer{who}."


# How a field is named in an error message (the pages show the same words beside the field).
LABELS = {"account_number": "Account #", "name": "Company name", "address1": "Address line 1",
          "address2": "Address line 2", "city": "City", "state": "State / province", "zip": "Zip / postal code",
          "country": "Country", "website": "Website", "phone": "Phone", "fax": "Fax", "location_code": "Location code",
          "title": "Title", "first_name": "First name", "last_name": "Last name", "work_phone": "Work phone",
          "mobile_phone": "Mobile phone", "home_phone": "Home phone", "other_phone": "Other phone", "email": "E-mail",
          "item_number": "Item #", "manufacturer": "Manufacturer", "description": "Description",
          "category": "Category", "subcategory": "Sub-category", "quantity": "Quantity", "cost": "Cost",
          "price": "Price"}


def column_limits(model) -> dict[str, int]:
    """Each text column of ``model`` with its maximum length (columns without one are left out)."""
    return {c.name: c.type.length for c in model.__table__.columns
            if isinstance(c.type, String) and getattr(c.type, "length", None)}


@functools.cache
def _column(model, name: str) -> Column:
    return model.__table__.columns[name]


@functools.cache
def _length(model, name: str) -> int | None:
    return getattr(_column(model, name).type, "length", None)


def limit(model, name: str) -> int | None:
    """The length the column ``model.name`` allows (None: no limit)."""
    return _length(model, name)


def stripped(value: Any) -> str:
    """``value`` as the host saves text: stripped, "" for None."""
    return "" if value is None else str(value).strip()


def fits(model, name: str, value: str) -> bool:
    """Whether text ``value`` fits the column ``model.name``."""
    limit = _length(model, name)
    return not limit or len(value) <= limit


def text(errors: Errors, key: str, value: Any, model, name: str, label: str, *, required: str | None = None) -> str:
    """``value`` as stripped text; an error at ``key`` when it is missing (``required`` says what to
    enter) or longer than the column ``model.name`` allows."""
    out = stripped(value)
    limit = _length(model, name)
    if required and not out:
        errors[key] = required
    elif limit and len(out) > limit:
        errors[key] = f"{label} can be at most {limit} characters; this one has {len(out)}. Shorten it."
    return out


def number(errors: Errors, key: str, value: Any, model, name: str, label: str) -> Decimal:
    """``value`` as a decimal rounded to the column's scale (as the database would), 0 when blank;
    an error at ``key`` when it is not a number or too large for the column."""
    default = Decimal(0)
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        d = Decimal("NaN")
    if not d.is_finite():
        errors[key] = f"{label} must be a number, e.g. 12.50."
        return default
    kind = _column(model, name).type
    if isinstance(kind, Numeric) and kind.precision is not None:
        scale = kind.scale or 0
        bound = Decimal(10) ** (kind.precision - scale)
        if abs(d) < bound:  # (checked first: rounding 1e30 to cents needs more digits than a decimal context holds)
            d = d.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP) if scale else d.to_integral_value()
        if abs(d) >= bound:
            errors[key] = f"{label} must be less than {bound:,} (and more than -{bound:,})."
            return default
    return d


def row_id(errors: Errors, key: str, value: Any, message: str) -> int | None:
    """``value`` as a row id (a positive whole number), None when blank; ``message`` at ``key`` otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raw = str(value).strip()
    if raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**31:
        return int(raw)
    errors[key] = message
    return None


def parse_date(value: Any) -> dt.date | None:
    """A date from ``YYYY-MM-DD`` (None when blank); ValueError otherwise."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def document_lines(lines: Iterable[Mapping[str, Any]], errors: Errors) -> list[dict]:
    """A document's lines as they will be saved; errors at ``lines[<i>].<field>``."""
    parsed_lines = []
    for i, ln in enumerate(lines):
        key, who = f"lines[{i}]", f"Line {i + 1}: "
        parsed = {f: text(errors, f"{key}.{f}", ln.get(f), DocumentLine, f, who + LABELS[f],
                          required=f"{who}enter the item / part number." if f == "item_number" else None)
                  for f in ("item_number", "manufacturer", "description", "category", "subcategory")}
        ptype = ln.get("product_type") or "Product"
        if ptype not in PRODUCT_TYPES:
            errors[f"{key}.product_type"] = f"{who}product type must be Product, Service or Labor."
        parsed.update({f: number(errors, f"{key}.{f}", ln.get(f, missing), DocumentLine, f, who + LABELS[f])
                       for f, missing in (("quantity", 1), ("cost", 0), ("price", 0))})
        parsed.update(product_type=ptype, id=ln.get("id"))
        parsed_lines.append(parsed)
    return parsed_lines
