"""Generic write validation driven by the official schemas.

``clean_body`` checks a POST/PUT body (or a PATCHed record) against the resource's schema:
types, enums, "Max length", the ``required`` array, "Required On Updates" on PUT/PATCH,
unique fields, and it turns every ``*Reference`` into the filled-in object ConnectWise
returns (``{id, identifier/name, _info}``), resolving by id, identifier or name. Every
problem is collected first and reported in one 400 InvalidObject, as ConnectWise does.
Resource-specific rules (defaults, cross-field checks) live in ``rules.py``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app, has_app_context

from cw_sandbox.errors import bad_request, field_error, human, invalid
from cw_sandbox.resources import REFERENCES, RESOURCES_BY_KEY, Resource
from cw_sandbox.schemas import FieldRule, field_rules, required_fields
from cw_sandbox.store import Store

READ_ONLY = {"id", "_info"}


def now_iso() -> str:
    """Server time as ConnectWise writes it: ``YYYY-MM-DDTHH:MM:SSZ``."""
    return sandbox_now().strftime("%Y-%m-%dT%H:%M:%SZ")


def sandbox_now() -> datetime:
    """The tenant's clock: the machine's, set off by the tenant's ``clock_offset`` (the ``clock_offset_seconds``
    option: a ConnectWise whose clock is not the client's). Outside a request (a callback's delivery thread), the
    machine's."""
    return datetime.now(UTC) + timedelta(seconds=clock_offset())


def clock_offset() -> float:
    """Seconds the tenant of the request being answered sets its clock ahead of the machine's (0 outside one)."""
    if not has_app_context():
        return 0.0
    return float(getattr(current_app.extensions.get("cw_sandbox"), "clock_offset", 0.0))


def cw_length(value: str) -> int:
    """A string's length as ConnectWise measures it against "Max length: N": in UTF-16 code units.

    ConnectWise is an ASP.NET service on SQL Server (``X-Powered-By: ASP.NET``, ``Server: Microsoft-IIS``
    in live answers; see the README). A .NET string's ``Length`` and an ``nvarchar(N)`` column both count
    UTF-16 code units, so a character outside the Basic Multilingual Plane (an emoji such as "🔥", many
    CJK extension ideographs) counts 2: a 60-character description holding one emoji is 61 long.
    Accented letters (precomposed "é") count 1, as in Python.
    """
    return len(value.encode("utf-16-le")) // 2


def cw_cut(value: str, limit: int) -> str:
    """``value`` cut to at most ``limit`` UTF-16 code units (see ``cw_length``), never inside a surrogate pair:
    what the sandbox itself copies into a limited field (a product's description into its forecast row)."""
    out = value[:limit]
    while cw_length(out) > limit:
        out = out[:-1]
    return out


def parse_datetime(value: str) -> str | None:
    """Normalise an ISO-8601 value to ``YYYY-MM-DDTHH:MM:SSZ`` UTC; None when unparseable.

    A value without an offset is taken as UTC (django-connectwise sends naive datetimes).
    """
    try:
        parsed = datetime.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class WriteContext:
    """Who writes, where references link to, and the errors found so far."""

    store: Store
    actor: str
    api_base: str  # e.g. "http://127.0.0.1:5000/v2025_1/apis/3.0/"
    resource: Resource
    errors: list[dict] = field(default_factory=list)
    # Fields this tenant made mandatory on the resource (Setup Tables; the control API's ``required_fields``).
    extra_required: tuple[str, ...] = ()
    # A change from one closed opportunity status to another keeps the first close's closedDate/closedBy
    # (the control API's ``reclose: "keep"``) instead of stamping who made it and when (the default).
    reclose_keeps: bool = False

    def error(self, code: str, message: str, fld: str) -> None:
        """Record a field error against the resource being written."""
        self.errors.append(field_error(code, message, self.resource.label, fld))

    def raise_if_errors(self) -> None:
        """Raise the 400 InvalidObject when anything was recorded."""
        if self.errors:
            raise invalid(self.resource.label, self.errors)


def find_by(store: Store, key: str, fld: str, value: str, display: bool = False) -> dict | None:
    """The first record of ``key`` whose ``fld`` (or display name) equals ``value``, ignoring case."""
    wanted = value.strip().lower()
    res = RESOURCES_BY_KEY.get(key)
    for record in store.all(key):
        got = res.display(record) if (display and res) else record.get(fld)
        if isinstance(got, str) and got.strip().lower() == wanted:
            return record
    return None


def make_reference(ctx: WriteContext, ref_schema: str, record: dict) -> dict:
    """The reference object ConnectWise returns for ``record``."""
    target = REFERENCES[ref_schema]
    res = RESOURCES_BY_KEY[target.key]
    out: dict[str, Any] = {"id": record["id"]}
    for name in target.fields:
        value = res.display(record) if name == "name" else record.get(name)
        if name == "name" and value is None:
            value = record.get("name")
        if value is not None:
            out[name] = value
    if target.href:
        path = target.href.replace("{parent}", str(res.parent_of(record)))
        out["_info"] = {f"{target.link_name or res.label}_href": f"{ctx.api_base}{path}/{record['id']}"}
    return out


def resolve_reference(ctx: WriteContext, fld: str, ref_schema: str, value: Any) -> dict | None:
    """Resolve a reference by id, identifier or name; record a field error and return None if it fails."""
    target = REFERENCES.get(ref_schema)
    if not isinstance(value, dict):
        ctx.error("InvalidObject", f"The field {fld} must be an object.", fld)
        return None
    if target is None:
        # A reference to something the sandbox does not model (tax code, calendar...): keep the
        # id the client sent, since we cannot say whether it exists.
        kept = {k: v for k, v in value.items() if k in ("id", "identifier", "name") and v is not None}
        return kept or None
    res = RESOURCES_BY_KEY[target.key]
    record = None
    if value.get("id") is not None:
        rid = value["id"]
        if isinstance(rid, bool) or not isinstance(rid, int):
            ctx.error("InvalidObject", f"The field {fld}/id must be an integer.", f"{fld}/id")
            return None
        record = ctx.store.get(target.key, rid)
        lookup = (f"{fld}/id", str(rid))
    elif isinstance(value.get("identifier"), str) and "identifier" in field_rules_or_empty(res):
        record = find_by(ctx.store, target.key, "identifier", value["identifier"])
        lookup = (f"{fld}/identifier", repr(value["identifier"]))
    elif isinstance(value.get("name"), str):
        record = find_by(ctx.store, target.key, "name", value["name"], display=True)
        lookup = (f"{fld}/name", repr(value["name"]))
    else:
        ctx.error("NullValue", f"The {fld} reference needs an id.", f"{fld}/id")
        return None
    if record is None:
        ctx.error("NotFound", f"{human(res.label)} {lookup[1]} not found", lookup[0])
        return None
    return make_reference(ctx, ref_schema, record)


def field_rules_or_empty(res: Resource) -> dict[str, FieldRule]:
    """Field rules of a resource's schema ({} for built-in tables without a schema)."""
    try:
        return field_rules(res.schema)
    except KeyError:
        return {"identifier": FieldRule("identifier", "string")} if res.key == "currencies" else {}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == {}


def _check_scalar(ctx: WriteContext, rule: FieldRule, value: Any, fld: str) -> Any:
    """Type/enum/length check of one scalar; returns the normalised value (or None on error)."""
    kind = rule.kind
    if rule.enum:
        if isinstance(value, str):
            for option in rule.enum:
                if option.lower() == value.lower():
                    return option
        ctx.error("InvalidObject", f"The field {fld} must be one of: {', '.join(rule.enum)}.", fld)
        return None
    if kind == "string":
        if not isinstance(value, str):
            ctx.error("InvalidObject", f"The field {fld} must be a string.", fld)
            return None
        if rule.fmt == "date-time":
            normal = parse_datetime(value)
            if normal is None:
                ctx.error("InvalidObject", f"The field {fld} must be a date-time (YYYY-MM-DDTHH:MM:SSZ).", fld)
            return normal
        if rule.max_length is not None and cw_length(value) > rule.max_length:
            ctx.error("MaxLengthField",
                      f"The field {fld} must be a string with a maximum length of {rule.max_length}.", fld)
            return None
        return value
    if kind == "integer":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            ctx.error("InvalidObject", f"The field {fld} must be an integer.", fld)
            return None
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            ctx.error("InvalidObject", f"The field {fld} must be a number.", fld)
            return None
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            ctx.error("InvalidObject", f"The field {fld} must be true or false.", fld)
            return None
        return value
    return copy.deepcopy(value)


def clean_body(ctx: WriteContext, body: Any, *, mode: str) -> dict:
    """Validate ``body`` for ``mode`` in (post, put, patch); return the record fields to store.

    Unknown properties are dropped, as ConnectWise's JSON deserialiser ignores them. Nulls
    mean "not set". Reference fields come back resolved. Errors accumulate in ``ctx``.
    """
    if not isinstance(body, dict):
        raise bad_request(f"The request body must be a JSON object describing a {ctx.resource.label}.")
    rules = field_rules(ctx.resource.schema)
    out: dict[str, Any] = {}
    for name, value in body.items():
        rule = rules.get(name)
        if rule is None or name in READ_ONLY or value is None:
            continue
        if rule.kind == "ref":
            resolved = resolve_reference(ctx, name, rule.ref or "", value)
            if resolved is not None:
                out[name] = resolved
        elif rule.kind == "array":
            if not isinstance(value, list):
                ctx.error("InvalidObject", f"The field {name} must be an array.", name)
                continue
            if rule.ref in REFERENCES:
                items = [resolve_reference(ctx, name, rule.ref or "", item) for item in value]
                out[name] = [item for item in items if item is not None]
            else:
                out[name] = copy.deepcopy(value)
        elif rule.kind == "object":
            out[name] = copy.deepcopy(value)
        else:
            normal = _check_scalar(ctx, rule, value, name)
            if normal is not None:
                out[name] = normal
    return out


def check_required(ctx: WriteContext, record: dict, *, mode: str) -> None:
    """``required`` fields (plus the resource's extras and the tenant's own); on PUT/PATCH also "Required On
    Updates". A field the tenant made mandatory is reported as any required field is."""
    needed = (list(required_fields(ctx.resource.schema)) + list(ctx.resource.extra_required)
              + list(ctx.extra_required))
    if mode in ("put", "patch"):
        needed += [r.name for r in field_rules(ctx.resource.schema).values() if r.required_on_updates]
    already = {e["field"].split("/")[0] for e in ctx.errors}
    for name in dict.fromkeys(needed):
        if name not in already and _blank(record.get(name)):
            ctx.error("NullValue", f"The {name} field is required.", name)


def check_unique(ctx: WriteContext, record: dict, own_id: int | None) -> None:
    """Unique fields (company identifier, catalog identifier...) -> ObjectExists."""
    for name in ctx.resource.unique:
        value = record.get(name)
        if not isinstance(value, str):
            continue
        other = find_by(ctx.store, ctx.resource.key, name, value)
        if other is not None and other["id"] != own_id:
            ctx.error("ObjectExists", f"The {name} '{value}' is already in use.", name)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def looks_like_email(value: str) -> bool:
    """The loose check ConnectWise applies to e-mail communication values."""
    return bool(_EMAIL.match(value))
