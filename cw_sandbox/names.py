"""Names and value types in ``conditions``, ``childConditions``, ``orderBy`` and ``fields``, checked
against the resource's official schema, as ConnectWise checks them before it runs a query.

What public code quotes from live tenants (API-NOTES-style table in cw_sandbox/README.md):

* An unknown field, an unknown sub-field of a reference, a child collection or an array in
  ``conditions`` answers ``{"code": "ApiFindCondition", "message": "<name> is not a recognized
  name."}`` (``invoiceDate``, ``board/name``; child collections such as contact ``types`` belong in
  ``childConditions``). :class:`UnknownName` carries that exact message.
* A value of the wrong kind is a "Condition Syntax Error ... Unrecognized value", and an enum field
  compared with a value outside its enum answers "Enum value supplied was invalid".
  :class:`BadValue` carries the position so the HTTP layer can say where.

``fields`` is the exception: public code describing live answers says an unrecognized ``fields``
name is silently dropped, so ``recognised_fields`` drops it (colcw's contract tests check
``fields`` names against the official schemas instead).

Unverified, chosen stricter: the same check for ``orderBy`` names; ``_info`` is one field
(``_info/lastUpdated`` is not a name; ``lastUpdated`` is, as the pseudo-field the Developer
Guide documents); a string literal is never taken as a number or a date (SQL Server would try an
implicit conversion), and ``like``/``contains`` only apply to text fields.
"""

from __future__ import annotations

from dataclasses import dataclass

from cw_sandbox.condition_parser import PSEUDO_FIELDS, SEGMENT_RE, QueryError
from cw_sandbox.schemas import FieldRule, field_rules, has_schema

__all__ = ["BadValue", "Leaf", "UnknownName", "check_child_conditions", "check_conditions", "check_order_by",
           "recognised_fields"]

_TEXT_OPS = ("like", "not like", "contains", "not contains")


class UnknownName(QueryError):
    """A name the schema does not have (or that cannot be used where it was written)."""

    def __init__(self, name: str, position: int | None = None) -> None:
        super().__init__(f"{name} is not a recognized name.", position)
        self.name = name


class BadValue(QueryError):
    """A literal that does not fit the field it is compared with."""


@dataclass(frozen=True)
class Leaf:
    """The comparable kind of a resolved path: text, enum, integer, number, boolean, datetime or any."""

    kind: str
    enum: tuple[str, ...] | None = None


_PSEUDO = {name: Leaf("datetime") for name in PSEUDO_FIELDS}


def _rules(schema_name: str | None) -> dict[str, FieldRule] | None:
    return field_rules(schema_name) if schema_name and has_schema(schema_name) else None


def _leaf(rule: FieldRule) -> Leaf | None:
    if rule.enum:
        return Leaf("enum", rule.enum)
    if rule.kind == "string":
        return Leaf("datetime" if rule.fmt == "date-time" else "text")
    if rule.kind in ("integer", "number", "boolean"):
        return Leaf(rule.kind)
    if rule.kind == "object" and rule.name != "_info":
        return Leaf("any")  # e.g. CustomFieldValue.value: the spec says only "object"
    return None


def resolve(schema_name: str, path: str, position: int | None = None, *, arrays: bool = False) -> Leaf:
    """The comparable leaf ``path`` names in ``schema_name``; :class:`UnknownName` otherwise.

    References are followed (``company/identifier``); arrays only when ``arrays`` (childConditions),
    and then only as the first segment.
    """
    rules = _rules(schema_name)
    if path in _PSEUDO and rules is not None and path not in rules:
        return _PSEUDO[path]
    segments = path.split("/")
    for n, segment in enumerate(segments):
        rule = rules.get(segment) if rules is not None else None
        if rule is None:
            raise UnknownName(path, position)
        last = n == len(segments) - 1
        if rule.kind == "ref":
            rules = _rules(rule.ref)
            if last:
                raise UnknownName(path, position)  # a whole reference is not comparable
            continue
        if rule.kind == "array":
            if not (arrays and n == 0 and not last and rule.ref):
                raise UnknownName(path, position)
            rules = _rules(rule.ref)
            continue
        leaf = _leaf(rule)
        if not last or leaf is None:
            raise UnknownName(path, position)
        return leaf
    raise UnknownName(path, position)


def _describe(kind: str, value: object) -> str:
    if kind == "str":
        return f'"{value}"'
    if kind == "dt":
        return f"[{value}]"
    return "null" if kind == "null" else str(value)


def _check_literal(path: str, leaf: Leaf, op: str, literal: tuple, position: int) -> None:
    kind, value = literal
    if kind == "list":
        for item in value:
            _check_literal(path, leaf, "=", item, position)
        return
    if kind == "null" or leaf.kind == "any":
        return
    expected = {"text": "str", "enum": "str", "integer": "num", "number": "num", "boolean": "bool",
                "datetime": "dt"}[leaf.kind]
    if op in _TEXT_OPS and leaf.kind not in ("text", "enum"):
        raise BadValue(f"Operator '{op}' at position {position} needs a text field; {path} is "
                       f"{'a ' + leaf.kind if leaf.kind != 'integer' else 'an integer'}", position)
    if kind != expected:
        need = {"str": "a quoted string", "num": "a number", "bool": "true or false",
                "dt": "a datetime in square brackets"}[expected]
        raise BadValue(f"Unrecognized value {_describe(kind, value)} for {path} at position {position}: "
                       f"{path} takes {need}", position)
    if leaf.kind == "integer" and isinstance(value, float) and not value.is_integer():
        raise BadValue(f"Unrecognized value {value} for {path} at position {position}: {path} takes a whole "
                       "number", position)
    if leaf.kind == "enum" and leaf.enum and value.lower() not in {e.lower() for e in leaf.enum}:
        raise BadValue(f"Enum value supplied was invalid: {_describe(kind, value)} for {path} (one of "
                       f"{', '.join(leaf.enum)})", position)


def _walk(tree: tuple, schema_name: str, *, arrays: bool) -> None:
    if tree[0] == "cmp":
        _, path, op, literal, position = tree
        _check_literal(path, resolve(schema_name, path, position, arrays=arrays), op, literal, position)
        return
    for child in tree[1]:
        _walk(child, schema_name, arrays=arrays)


def check_conditions(tree: tuple | None, schema_name: str) -> None:
    """Every name in a ``conditions`` tree exists and every value fits its field."""
    if tree is not None:
        _walk(tree, schema_name, arrays=False)


def check_child_conditions(tree: tuple | None, schema_name: str) -> None:
    """Every ``childConditions`` name is ``<array>/<field>`` of the schema, with values that fit."""
    if tree is not None:
        _walk(tree, schema_name, arrays=True)


def check_order_by(keys: tuple[tuple[str, bool], ...], schema_name: str) -> None:
    """Every ``orderBy`` key names a sortable field (not a reference, array or object)."""
    for path, _descending in keys:
        resolve(schema_name, path)


def _field_exists(schema_name: str, path: str) -> bool:
    rules = _rules(schema_name)
    segments = path.split("/")
    for n, segment in enumerate(segments):
        rule = (rules or {}).get(segment) if SEGMENT_RE.match(segment) else None
        if rule is None:
            return False
        if n == len(segments) - 1:
            return True
        if rule.kind not in ("ref", "array") or not rule.ref or not has_schema(rule.ref):
            return False  # scalars and objects (``_info``) have no named sub-fields
        rules = _rules(rule.ref)
    return False


def recognised_fields(text: str, schema_name: str) -> str:
    """The ``fields`` paths ``schema_name`` has, comma-joined; ``id`` when none is.

    ConnectWise drops an unrecognized ``fields`` name silently rather than rejecting it (public
    code describing live answers), and answered ``fields=*`` with ids only after 2018.4 (a public
    issue); an empty name is still a malformed list (400).
    """
    kept = []
    for raw in text.split(","):
        path = raw.strip()
        if not path:
            raise QueryError(f"Empty field name in fields '{text}'")
        if _field_exists(schema_name, path):
            kept.append(path)
    return ",".join(kept) or "id"
