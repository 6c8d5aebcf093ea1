"""Assertions shared by the sandbox tests: official-schema validation and error-body reading."""

from __future__ import annotations

from functools import cache

import jsonschema

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
