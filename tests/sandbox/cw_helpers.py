"""Assertions shared by the sandbox tests: official-schema validation and error-body reading."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import jsonschema

from cw_sandbox import schemas
from cw_sandbox.schemas import to_json_schema


@cache
def _validator(schema_name: str, array: bool) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(to_json_schema(schema_name, array=array, strict=True))


def assert_matches_schema(body: object, schema_name: str) -> None:
    """Fail with every violation when ``body`` does not fit the official schema (undeclared fields included)."""
    errors = list(_validator(schema_name, isinstance(body, list)).iter_errors(body))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def field_errors(resp) -> dict[str, str]:
    """field -> code of a 400 InvalidObject body."""
    body = resp.json()
    assert resp.status_code == 400, (resp.status_code, body)
    assert body["code"] == "InvalidObject"
    return {e["field"]: e["code"] for e in body["errors"]}


SUBSET_PATH = Path(schemas.__file__).parent / "data" / "openapi_get_subset_2026.4.json"


@cache
def get_subset() -> dict:
    """The official GET excerpt (2026.4), read independently of the sandbox's own schema code."""
    return json.loads(SUBSET_PATH.read_text(encoding="utf-8"))


def response_schema(template: str) -> dict:
    """A JSON Schema (strict: no undeclared fields) for the 200 answer of GET ``template`` in the excerpt."""
    spec = get_subset()
    content = spec["paths"][template]["get"]["responses"]["200"]["content"]
    root = _openapi_to_json_schema(next(iter(content.values()))["schema"])
    defs = {name: _openapi_to_json_schema(body) for name, body in spec["components"]["schemas"].items()}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": defs, **root}


def _openapi_to_json_schema(node):
    if isinstance(node, list):
        return [_openapi_to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$ref":
            out["$ref"] = "#/$defs/" + value.rsplit("/", 1)[-1]
        elif key in ("nullable", "example", "format", "readOnly", "writeOnly", "deprecated", "xml"):
            continue
        elif key == "properties":
            out[key] = {name: _openapi_to_json_schema(sub) for name, sub in value.items()}
        else:
            out[key] = _openapi_to_json_schema(value)
    if "properties" in node and "additionalProperties" not in node:
        out["additionalProperties"] = False
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if "$ref" in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out
