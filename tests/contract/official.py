"""The official ConnectWise contract, read straight from the excerpts in cw_sandbox/data (not through
the sandbox's own schema code), and the checks the contract tests apply to what colcw sent and read.

* ``check_request(entry)`` -> problems with one logged request: the path exists in the official
  GET excerpt or operation index (trailing slashes as the index has them), the method exists for
  it, the query parameters are declared ones, every ``conditions``/``childConditions``/
  ``orderBy``/``fields`` name exists in the resource's official schema, and a POST/PUT/PATCH body
  validates against the schema.
* ``check_response(entry)`` -> problems parsing what the sandbox answered under pyconnectwise's
  pydantic models (generated from the official document by an independent project).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jsonschema
import pydantic
from pyconnectwise.models import manage as cw_models

from cw_sandbox.condition_parser import parse_conditions, tree_paths

DATA = Path(__file__).resolve().parents[2] / "cw_sandbox" / "data"
API_PREFIX = re.compile(r"^/[^/]+/apis/3\.0/")
STANDARD_PARAMS = {"conditions", "childConditions", "customFieldConditions", "orderBy", "fields", "page", "pageSize",
                   "pageId"}
# Official GET paths outside the excerpts, each documented elsewhere: API-NOTES §2 (the "sanity probe"
# GET {base}/system/info returns Info, 2025.16 catalog) and §3.1 (a contact row's type "points at
# /company/communicationTypes"); pyconnectwise has both endpoints. The CommunicationType schema is the
# transcription of pyconnectwise's model in cw_sandbox/data/supplement_pyconnectwise.json.
EXTRA_GET = {"/system/info": "Info", "/company/communicationTypes": "CommunicationType"}
# Fields documented outside the excerpts: Info.maxWorkFlowRecordsAllowed (API-NOTES §2, 2025.16 catalog).
DOCUMENTED_FIELDS = {"Info": {"maxWorkFlowRecordsAllowed"}}
# Schema names in the index summaries that differ from the component names.
SUMMARY_NAMES = {"ApiContact": "Contact", "Company.Company.Company": "Company",
                 "Sales.Opportunity.Opportunity": "Opportunity"}


@cache
def _doc(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@cache
def schemas() -> dict[str, dict]:
    trimmed, subset = _doc("manage_trimmed.json"), _doc("openapi_get_subset_2026.4.json")
    supplement = _doc("supplement_pyconnectwise.json")
    return {**supplement["components"]["schemas"], **subset["components"]["schemas"],
            **trimmed["components"]["schemas"]}


def _schema_name(summary: str) -> str | None:
    name = re.sub(r"^(Get List of|Get Count of|Get|Post|Put|Patch|Delete)\s+", "", summary)
    name = name.replace("ConnectWise.Apis.v3_0.v2015_3.", "")
    name = SUMMARY_NAMES.get(name, name)
    return name if name in schemas() else None


@cache
def operations() -> dict[tuple[str, str], str | None]:
    """(method, official path template) -> the resource schema name (None when unknown)."""
    ops: dict[tuple[str, str], str | None] = {}
    for row in _doc("manage_trimmed.json")["x-operation-index"]:
        ops[(row["method"], row["path"])] = _schema_name(row["summary"])
    for path, item in _doc("openapi_get_subset_2026.4.json")["paths"].items():
        content = item["get"]["responses"]["200"].get("content") or {}
        body = next(iter(content.values()), {}).get("schema", {})
        ref = body.get("$ref") or body.get("items", {}).get("$ref") or ""
        ops[("GET", path)] = ref.rsplit("/", 1)[-1] or None
    for path, name in EXTRA_GET.items():
        ops[("GET", path)] = name
    return ops


@cache
def _params(template: str) -> set[str]:
    item = _doc("openapi_get_subset_2026.4.json")["paths"].get(template)
    if item is None:
        return STANDARD_PARAMS
    return {p["name"] for p in item["get"].get("parameters", []) if p["in"] == "query"}


def relative(path: str) -> str | None:
    """``/v2025_1/apis/3.0/company/companies`` -> ``/company/companies`` (None off the API)."""
    match = API_PREFIX.match(path)
    return "/" + path[match.end():] if match else None


def _fills(placeholder: str, part: str) -> bool:
    """Whether a path segment can stand for a placeholder: ids are digits, identifiers any text."""
    if not placeholder.startswith("{") or not part:
        return False
    return part.isdigit() if placeholder in ("{id}", "{parentId}") else True


def template_of(method: str, rel: str) -> str | None:
    """The official template ``rel`` instantiates for ``method`` (trailing slash significant)."""
    parts = rel.split("/")
    candidates = []
    for (op_method, template), _ in operations().items():
        segments = template.split("/")
        if len(segments) != len(parts):
            continue
        if all(s == p or _fills(s, p) for s, p in zip(segments, parts, strict=True)):
            candidates.append((op_method == method, template))
    exact = [t for same, t in candidates if same]
    if exact:
        return sorted(exact, key=lambda t: t.count("{"))[0]
    return sorted(t for _, t in candidates)[0] if candidates else None


def _resolve(schema_name: str, path: str, *, arrays: bool, whole_ok: bool) -> bool:
    """Whether ``path`` names something in ``schema_name`` (references followed; arrays only when
    ``arrays``; a whole object or array only when ``whole_ok``, as in ``fields``)."""
    if path == "lastUpdated" and not whole_ok:
        return True  # the documented pseudo-field (Developer Guide, API-NOTES §8)
    schema = schemas().get(schema_name)
    segments = path.split("/")
    for n, segment in enumerate(segments):
        if schema is None:
            return False
        prop = schema.get("properties", {}).get(segment)
        if prop is None:
            return False
        last = n == len(segments) - 1
        if "$ref" in prop:
            if last:
                return whole_ok
            schema = schemas().get(prop["$ref"].rsplit("/", 1)[-1])
        elif prop.get("type") == "array":
            if last:
                return whole_ok
            if not (arrays or whole_ok) or "$ref" not in prop.get("items", {}):
                return False
            schema = schemas().get(prop["items"]["$ref"].rsplit("/", 1)[-1])
        elif prop.get("type") == "object":
            return last and (whole_ok or "properties" not in prop)
        else:
            return last
    return False


def names_used(entry: dict) -> list[tuple[str, str]]:
    """(parameter, name) for every field name the query of ``entry`` uses."""
    out = []
    for key, value in parse_qsl(entry["query"], keep_blank_values=True):
        if key in ("conditions", "childConditions"):
            tree = parse_conditions(value)
            out += [(key, path) for path, _pos in (tree_paths(tree) if tree else [])]
        elif key == "orderBy":
            out += [(key, part.split()[0]) for part in value.split(",") if part.strip()]
        elif key == "fields":
            out += [(key, name.strip()) for name in value.split(",") if name.strip()]
    return out


def _openapi_to_json_schema(node: Any, *, strict: bool) -> Any:
    if isinstance(node, list):
        return [_openapi_to_json_schema(n, strict=strict) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref":
            out["$ref"] = "#/$defs/" + value.rsplit("/", 1)[-1]
        elif key in ("nullable", "example", "format", "readOnly", "writeOnly", "deprecated", "xml", "x-source"):
            continue
        elif key == "properties":
            out[key] = {name: _openapi_to_json_schema(sub, strict=strict) for name, sub in value.items()}
        else:
            out[key] = _openapi_to_json_schema(value, strict=strict)
    if strict and "properties" in node and "additionalProperties" not in node:
        out["additionalProperties"] = False
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "$ref" in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def body_validator(schema_name: str, *, required: bool) -> jsonschema.Draft202012Validator:
    defs = {name: _openapi_to_json_schema(body, strict=True) for name, body in schemas().items()}
    root = dict(defs[schema_name])
    if not required:
        root.pop("required", None)
    return jsonschema.Draft202012Validator({"$defs": defs, **root})


def _patch_problems(schema_name: str, ops: Any) -> list[str]:
    if not isinstance(ops, list) or not ops:
        return ["PATCH body is not a non-empty array of operations"]
    problems = []
    props = schemas()[schema_name].get("properties", {})
    for op in ops:
        if not isinstance(op, dict) or set(op) - {"op", "path", "value"} or op.get("op") not in ("add", "replace",
                                                                                               "remove"):
            problems.append(f"PATCH operation {op!r} is not a PatchOperation")
            continue
        name = str(op.get("path", "")).lstrip("/")
        if name not in props:
            problems.append(f"PATCH path {op.get('path')!r} is not a property of {schema_name}")
            continue
        if op["op"] != "remove":
            wrapper = {"type": "object", "properties": {name: props[name]}}
            defs = {n: _openapi_to_json_schema(b, strict=True) for n, b in schemas().items()}
            validator = jsonschema.Draft202012Validator({"$defs": defs, **_openapi_to_json_schema(wrapper,
                                                                                                    strict=True)})
            problems += [f"PATCH {name}: {e.message}" for e in validator.iter_errors({name: op.get("value")})]
    return problems


def check_request(entry: dict) -> list[str]:
    """Everything in one logged request that the official contract does not allow."""
    method, rel = entry["method"], relative(entry["path"])
    if rel is None:
        return []  # /login/companyinfo: not part of the REST API document (API-NOTES §2)
    template = template_of(method, rel)
    if template is None:
        return [f"{method} {rel}: no such path in the official excerpts"]
    if (method, template) not in operations():
        return [f"{method} {rel}: the official index has no {method} for {template}"]
    schema_name = operations()[(method, template)]
    problems = []
    for key, _value in parse_qsl(entry["query"], keep_blank_values=True):
        if key not in _params(template):
            problems.append(f"{method} {rel}: query parameter {key!r} is not declared for {template}")
    read_schema = operations().get(("GET", template)) or schema_name
    for param, name in names_used(entry):
        if read_schema is None or not _resolve(read_schema, name, arrays=param == "childConditions",
                                               whole_ok=param == "fields"):
            problems.append(f"{method} {rel}: {param} name {name!r} is not in the official {read_schema} schema")
    body = entry.get("request_json")
    if method in ("POST", "PUT") and schema_name is not None:
        validator = body_validator(schema_name, required=True)
        problems += [f"{method} {rel}: body {list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    elif method == "PATCH" and schema_name is not None:
        problems += [f"{method} {rel}: {p}" for p in _patch_problems(schema_name, body)]
    return problems


# -- responses under pyconnectwise --------------------------------------------------------------------


def model_for(schema_name: str) -> type[pydantic.BaseModel] | None:
    return getattr(cw_models, schema_name, None)


def _aliases(model: type[pydantic.BaseModel]) -> dict[str, pydantic.fields.FieldInfo]:
    return {(f.alias or name): f for name, f in model.model_fields.items()}


def parse_problems(record: Any, model: type[pydantic.BaseModel], *, partial: bool) -> list[str]:
    """Problems parsing ``record`` as ``model``. ``partial`` (a ``fields=`` answer): each present field
    must parse under its declared type; otherwise the whole model must validate. Undeclared keys are
    problems in both cases (pydantic would silently drop them)."""
    if not isinstance(record, dict):
        return [f"{model.__name__}: not an object: {record!r}"[:200]]
    fields = _aliases(model)
    # pyconnectwise was generated from an older document: a field the official excerpts declare
    # (State.disabled, 2025.16) is not a problem for the sandbox, only one neither source has.
    official = set(schemas().get(model.__name__, {}).get("properties", {})) | DOCUMENTED_FIELDS.get(model.__name__,
                                                                                                   set())
    problems = [f"{model.__name__}: undeclared field {k!r}" for k in record if k not in fields and k not in official]
    if partial:
        for key, value in record.items():
            if key in fields:
                try:
                    pydantic.TypeAdapter(fields[key].annotation).validate_python(value)
                except pydantic.ValidationError as exc:
                    problems.append(f"{model.__name__}.{key}: {exc.errors()[0]['msg']}")
    else:
        try:
            model.model_validate(record)
        except pydantic.ValidationError as exc:
            problems += [f"{model.__name__}.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5]]
    return problems


def check_response(entry: dict) -> list[str]:
    """Problems reading the sandbox's answer to ``entry`` with pyconnectwise's models."""
    rel = relative(entry["path"])
    if rel is None or entry["status"] not in (200, 201) or "response_json" not in entry:
        return []
    method = entry["method"]
    template = template_of(method, rel) or ""
    body = entry["response_json"]
    if template.endswith("/count"):
        name = "Count"
    else:
        name = operations().get(("GET", template)) or operations().get((method, template))
    model = model_for(name or "")
    if model is None:
        return [f"{method} {rel}: no pyconnectwise model for {name!r}"]
    partial = "fields=" in entry["query"]
    rows = body if isinstance(body, list) else [body]
    problems: list[str] = []
    for row in rows:
        problems += [f"{method} {rel}: {p}" for p in parse_problems(row, model, partial=partial)]
    return problems
