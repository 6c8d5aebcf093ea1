"""The official ConnectWise object schemas, read from ``data/manage_trimmed.json`` and the GET excerpt.

``manage_trimmed.json`` covers the resources colcw writes (and the operation index of every
method); ``openapi_get_subset_2026.4.json`` adds the schemas of the read-only endpoints around
them (company statuses and types, notes, usages, ``/info`` variants...). Both are verbatim
official excerpts (see shared/connectwise/README.md); a name present in both is the same schema.
``supplement_pyconnectwise.json`` holds the few schemas neither has (communication types, sales
probabilities, contact communications, type associations), transcribed from pyconnectwise's
models, which are generated from the official document; the excerpts win on any overlap.
``supplement_callbacks.json`` adds ``CallbackEntry`` and the ``/system/callbacks`` operations
(from a client generated from the official 2025.1 document; see CALLBACKS.md).

The sandbox validates writes with the same ``required`` arrays, "Max length: N;" and
"Required On Updates;" descriptions, enums and types that ConnectWise publishes, so the
rules live in one place: the spec file. Schemas the trimmed spec lacks come from
``data/supplement_*.json`` files (each names its source in ``x-source``), merged in at load.
``to_json_schema`` turns an OpenAPI 3.0 schema into
a JSON Schema (``nullable`` and ``$ref`` handled) for tests that check response shapes.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).parent / "data" / "manage_trimmed.json"
SUBSET_PATH = Path(__file__).parent / "data" / "openapi_get_subset_2026.4.json"
SUPPLEMENT_PATH = Path(__file__).parent / "data" / "supplement_pyconnectwise.json"
CALLBACKS_SUPPLEMENT_PATH = Path(__file__).parent / "data" / "supplement_callbacks.json"
_MAX_LENGTH = re.compile(r"Max length:\s*(\d+)")
_REF_PREFIX = "#/components/schemas/"


@cache
def spec() -> dict:
    """The whole trimmed OpenAPI document, with the callbacks' schema and operations merged in from
    ``supplement_callbacks.json`` (cached; treat as read-only)."""
    doc = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    extra = json.loads(CALLBACKS_SUPPLEMENT_PATH.read_text(encoding="utf-8"))
    doc["components"]["schemas"].update(extra.get("components", {}).get("schemas", {}))
    doc["x-operation-index"].extend(extra.get("x-operation-index", []))
    return doc


@cache
def get_subset() -> dict:
    """The official GET excerpt (2026.4): 324 paths and the schemas they answer (read-only)."""
    return json.loads(SUBSET_PATH.read_text(encoding="utf-8"))


@cache
def all_schemas() -> dict[str, dict]:
    """Every schema of both excerpts by name (treat as read-only)."""
    supplement = json.loads(SUPPLEMENT_PATH.read_text(encoding="utf-8"))["components"]["schemas"]
    return {**supplement, **get_subset()["components"]["schemas"], **spec()["components"]["schemas"]}


def schema(name: str) -> dict:
    """One schema by name (e.g. ``"Company"``); KeyError when neither excerpt has it."""
    return all_schemas()[name]


def has_schema(name: str) -> bool:
    """Whether an official schema of that name is known."""
    return name in all_schemas()


def operation_index() -> list[dict]:
    """The ``x-operation-index`` rows: every method/path ConnectWise has for our resources."""
    return spec()["x-operation-index"]


@dataclass(frozen=True)
class FieldRule:
    """What the spec says about one property of a schema."""

    name: str
    kind: str  # string | integer | number | boolean | ref | array | object
    ref: str | None = None  # schema name for kind == "ref", or the item schema for arrays
    item_kind: str | None = None  # for arrays of scalars
    max_length: int | None = None
    enum: tuple[str, ...] | None = None
    nullable: bool = False
    required_on_updates: bool = False
    fmt: str | None = None


def _ref_name(ref: str) -> str:
    return ref[len(_REF_PREFIX):] if ref.startswith(_REF_PREFIX) else ref


def _rule(name: str, prop: dict) -> FieldRule:
    description = prop.get("description") or ""
    match = _MAX_LENGTH.search(description)
    common: dict[str, Any] = {
        "max_length": int(match.group(1)) if match else None,
        "nullable": bool(prop.get("nullable")),
        "required_on_updates": "Required On Updates" in description,
        "enum": tuple(prop["enum"]) if "enum" in prop else None,
        "fmt": prop.get("format"),
    }
    if "$ref" in prop:
        return FieldRule(name, "ref", ref=_ref_name(prop["$ref"]), **common)
    kind = prop.get("type", "object")
    if kind == "array":
        items = prop.get("items", {})
        if "$ref" in items:
            return FieldRule(name, "array", ref=_ref_name(items["$ref"]), **common)
        return FieldRule(name, "array", item_kind=items.get("type", "object"), **common)
    return FieldRule(name, kind, **common)


@cache
def field_rules(schema_name: str) -> dict[str, FieldRule]:
    """Property name -> FieldRule for ``schema_name``."""
    props = schema(schema_name).get("properties", {})
    return {name: _rule(name, prop) for name, prop in props.items()}


def required_fields(schema_name: str) -> tuple[str, ...]:
    """The schema's ``required`` array (what POST and PUT bodies must carry)."""
    return tuple(schema(schema_name).get("required", ()))


def _convert(node: Any, strict: bool = False) -> Any:
    """OpenAPI 3.0 schema node -> JSON Schema node (nullable, $ref, OpenAPI-only keywords).

    ``strict`` forbids properties the schema does not declare, so a response carrying a
    field ConnectWise never sends fails validation.
    """
    if isinstance(node, list):
        return [_convert(item, strict) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref":
            out["$ref"] = "#/$defs/" + _ref_name(value)
        elif key in ("nullable", "example", "xml", "discriminator", "readOnly", "writeOnly",
                     "deprecated", "externalDocs", "x-source", "format"):
            continue
        elif key in ("properties", "$defs"):
            out[key] = {name: _convert(sub, strict) for name, sub in value.items()}
        else:
            out[key] = _convert(value, strict)
    if strict and "properties" in node and "additionalProperties" not in node:
        out["additionalProperties"] = False
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if "$ref" in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def to_json_schema(schema_name: str, *, array: bool = False, strict: bool = False) -> dict:
    """A self-contained JSON Schema (2020-12) for ``schema_name`` (or an array of it)."""
    defs = {name: _convert(copy.deepcopy(body), strict) for name, body in all_schemas().items()}
    root: dict[str, Any] = {"$ref": f"#/$defs/{schema_name}"}
    if array:
        root = {"type": "array", "items": root}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": defs, **root}
