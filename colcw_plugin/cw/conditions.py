"""Build ConnectWise ``conditions`` strings from values, never by pasting text.

    from colcw_plugin.cw import conditions as C
    cond = C.and_(C.eq("identifier", user_text), C.gt("lastUpdated", since))
    str(cond)  # 'identifier = "..." AND lastUpdated > [2025-01-01T00:00:00Z]'

Values are formatted by type: strings double-quoted with ``\\`` and ``"``
backslash-escaped, datetimes as ``[YYYY-MM-DDTHH:MM:SSZ]`` in UTC, booleans
``True``/``False``, ``None`` as ``null``, numbers bare. Field names must match a strict
pattern, so no user text can reach the expression outside a quoted value.

How ConnectWise itself un-escapes a quote inside a value is undocumented (API-NOTES
§4.2, open question 1): backslash escaping is the recommended guess and what the
sandbox implements. Percent-encoding of the whole parameter is left to requests.

Wildcards. User and record text never reaches a condition as a pattern:

* documented (API-NOTES §4.2): ``like`` takes ``%`` as its wildcard; string values "accept ``*`` for
  wildcards"; a literal bracketed ``[string]`` is written ``[[]string]``. That last rule is SQL Server
  LIKE escaping, so we take conditions to become SQL LIKE, with ``_`` (one character) and ``[...]``
  classes as well: inferred, not documented.
* guessed: ``contains`` is ``LIKE '%value%'`` (so ``%``, ``_``, ``[`` and ``*`` in its value are
  wildcards); a string ``=``/``!=`` may be a LIKE too (certainly when its value holds ``*``); ``in``
  lists are SQL ``IN``.

So `escape_like` writes ``[`` as ``[[]``, ``%`` as ``[%]``, ``_`` as ``[_]`` and ``*`` as ``[*]`` (each
harmless inside a SQL Server bracket class even if the character were not special); ``]``, ``-`` and
``^`` are plain outside a class and kept. `contains` escapes its value; `like` takes a pattern the
caller writes, with `escape_like` for any literal part (`like_literal` for a whole literal); `eq`/`ne`
on a string holding any of ``[%_*`` send ``like``/``not like`` of the escaped value, an exact match
(case aside, as ``=`` is) whether ``=`` is a LIKE or not; `in_`/`not_in` send a string holding ``*``
that way too. Whether ConnectWise reads ``[*]`` as a literal ``*`` (rather than turning ``*`` into
``%`` first) is UNVERIFIED against a live server; the sandbox implements the readings above.

``not_`` never emits a bare ``NOT (...)``: it flips the operator (``=`` to ``!=``,
``like`` to ``not like``...) and applies De Morgan to AND/OR, so only documented
syntax is sent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*$")

_NEGATE = {
    "=": "!=",
    "!=": "=",
    "<": ">=",
    ">=": "<",
    ">": "<=",
    "<=": ">",
    "contains": "not contains",
    "not contains": "contains",
    "like": "not like",
    "not like": "like",
    "in": "not in",
    "not in": "in",
}


def check_field(name: str) -> str:
    """Return ``name`` if it is a valid (possibly ``a/b``) field path, else raise ValueError."""
    if not isinstance(name, str) or not FIELD_RE.match(name):
        raise ValueError(f"invalid ConnectWise field name: {name!r}")
    return name


def format_datetime(value: datetime | date) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC. Naive datetimes are taken to be UTC already."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def quote_string(value: str) -> str:
    """Double-quote ``value``, backslash-escaping ``\\`` and ``"``."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# SQL Server LIKE's special characters plus ConnectWise's "*", each written as a one-member class.
_LIKE_ESCAPES = {"[": "[[]", "%": "[%]", "_": "[_]", "*": "[*]"}
_LIKE_SPECIAL = re.compile(r"[\[%_*]")


def escape_like(text: str) -> str:
    """``text`` as a ``like`` pattern (or ``contains`` value) matching itself only: ``[`` as ``[[]``, ``%`` as
    ``[%]``, ``_`` as ``[_]``, ``*`` as ``[*]`` (see the module docstring). Quoting is left to `format_value`."""
    if not isinstance(text, str):
        raise TypeError("escape_like takes a string")
    return _LIKE_SPECIAL.sub(lambda m: _LIKE_ESCAPES[m.group()], text)


def has_wildcards(text: str) -> bool:
    """Whether ``text`` holds a character ConnectWise may read as a wildcard or class (``[ % _ *``)."""
    return bool(_LIKE_SPECIAL.search(text))


def format_value(value: Any) -> str:
    """Render one value as a conditions literal (see the module docstring)."""
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("conditions cannot hold NaN or infinity")
        if isinstance(value, Decimal) and not value.is_finite():
            raise ValueError("conditions cannot hold NaN or infinity")
        # Plain notation: ConnectWise's parser is not known to accept 1e-05.
        return format(value, "f") if isinstance(value, Decimal) else _plain_float(value)
    if isinstance(value, datetime | date):
        return "[" + format_datetime(value) + "]"
    if isinstance(value, str):
        return quote_string(value)
    # Enum members and other types are refused: str() of them might carry anything.
    raise TypeError(f"cannot use a {type(value).__name__} as a ConnectWise condition value")


def _plain_float(value: float) -> str:
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text


class Condition:
    """A conditions expression. ``str()`` gives the text; ``&``, ``|`` and ``~`` combine."""

    def __str__(self) -> str:
        raise NotImplementedError

    def negate(self) -> Condition:
        """The logical negation, using only documented operators."""
        raise NotImplementedError

    def __and__(self, other: Condition) -> Condition:
        return and_(self, other)

    def __or__(self, other: Condition) -> Condition:
        return or_(self, other)

    def __invert__(self) -> Condition:
        return self.negate()

    def __repr__(self) -> str:
        return f"<Condition {self}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Condition) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


class Comparison(Condition):
    """``field op value`` (one of = != < <= > >= contains like and their negations)."""

    def __init__(self, field: str, op: str, value: Any) -> None:
        self.field = check_field(field)
        if op not in _NEGATE or op in ("in", "not in"):
            raise ValueError(f"unsupported operator {op!r}")
        if value is None and op not in ("=", "!="):
            raise ValueError("null can only be compared with = or !=")
        self.op = op
        self.value = value
        self._text = f"{self.field} {op} {format_value(value)}"

    def __str__(self) -> str:
        return self._text

    def negate(self) -> Condition:
        return Comparison(self.field, _NEGATE[self.op], self.value)


class InList(Condition):
    """``field in (v1, v2, ...)`` or ``field not in (...)``."""

    def __init__(self, field: str, values: Iterable[Any], negated: bool = False) -> None:
        self.field = check_field(field)
        self.values = list(values)
        if not self.values:
            # "in ()" is not valid syntax; an empty list must be handled by the caller.
            raise ValueError("in_() needs at least one value")
        if any(v is None for v in self.values):
            raise ValueError("null cannot be used in an in-list; use is_null()")
        self.negated = negated
        op = "not in" if negated else "in"
        self._text = f"{self.field} {op} (" + ", ".join(format_value(v) for v in self.values) + ")"

    def __str__(self) -> str:
        return self._text

    def negate(self) -> Condition:
        return InList(self.field, self.values, not self.negated)


class Group(Condition):
    """Conditions joined by AND or OR, parenthesised when nested."""

    def __init__(self, joiner: str, parts: list[Condition]) -> None:
        self.joiner = joiner
        self.parts = parts

    def __str__(self) -> str:
        rendered = [f"({p})" if isinstance(p, Group) else str(p) for p in self.parts]
        return f" {self.joiner} ".join(rendered)

    def negate(self) -> Condition:
        flipped = [p.negate() for p in self.parts]
        return Group("OR" if self.joiner == "AND" else "AND", flipped)


def _combine(joiner: str, conditions: tuple[Condition | None, ...]) -> Condition:
    parts: list[Condition] = []
    for cond in conditions:
        if cond is None:
            continue  # lets callers pass optional filters without if-ladders
        if not isinstance(cond, Condition):
            raise TypeError("combine Condition objects, not strings (user text must never be pasted)")
        if isinstance(cond, Group) and cond.joiner == joiner:
            parts.extend(cond.parts)
        else:
            parts.append(cond)
    if not parts:
        raise ValueError(f"{joiner.lower()}_() needs at least one condition")
    return parts[0] if len(parts) == 1 else Group(joiner, parts)


def and_(*conditions: Condition | None) -> Condition:
    """All of ``conditions`` (``None`` entries are skipped)."""
    return _combine("AND", conditions)


def or_(*conditions: Condition | None) -> Condition:
    """Any of ``conditions`` (``None`` entries are skipped)."""
    return _combine("OR", conditions)


def not_(condition: Condition) -> Condition:
    """The negation of ``condition`` (operators flipped, De Morgan for groups)."""
    return condition.negate()


def eq(field: str, value: Any) -> Condition:
    """``field = value`` (``None`` gives ``field = null``); a string holding ``[ % _ *`` as
    ``field like "<escaped value>"``, which matches the value exactly however ConnectWise reads ``=``."""
    if isinstance(value, str) and has_wildcards(value):
        return Comparison(field, "like", escape_like(value))
    return Comparison(field, "=", value)


def ne(field: str, value: Any) -> Condition:
    """``field != value``; a string holding ``[ % _ *`` as ``field not like "<escaped value>"``."""
    if isinstance(value, str) and has_wildcards(value):
        return Comparison(field, "not like", escape_like(value))
    return Comparison(field, "!=", value)


def gt(field: str, value: Any) -> Condition:
    """``field > value``."""
    return Comparison(field, ">", value)


def ge(field: str, value: Any) -> Condition:
    """``field >= value``."""
    return Comparison(field, ">=", value)


def lt(field: str, value: Any) -> Condition:
    """``field < value``."""
    return Comparison(field, "<", value)


def le(field: str, value: Any) -> Condition:
    """``field <= value``."""
    return Comparison(field, "<=", value)


def contains(field: str, value: str) -> Condition:
    """``field contains "value"``: a substring match of ``value`` as typed (`escape_like` applied, so its
    ``%``, ``_``, ``[`` and ``*`` are not wildcards)."""
    if not isinstance(value, str):
        raise TypeError("contains takes a string")
    return Comparison(field, "contains", escape_like(value))


def like(field: str, pattern: str) -> Condition:
    """``field like "pattern"``: ``%`` (and ``*``) any text, ``_`` one character, ``[...]`` a class.

    ``pattern`` is sent as written: build any part of it that comes from user or record text with
    `escape_like` (``"%" + escape_like(text) + "%"``), or use `like_literal`, `contains` or `eq`.
    """
    return Comparison(field, "like", pattern)


def like_literal(field: str, text: str) -> Condition:
    """``field like "<text escaped>"``: ``field`` equal to ``text`` (case aside), no character of it a wildcard."""
    return Comparison(field, "like", escape_like(text))


def _starred(values: Iterable[Any]) -> tuple[list[Any], list[str]]:
    plain: list[Any] = []
    starred: list[str] = []
    for value in values:
        (starred if isinstance(value, str) and "*" in value else plain).append(value)
    return plain, starred


def in_(field: str, values: Iterable[Any]) -> Condition:
    """``field in (v1, v2, ...)``; raises ValueError on an empty list. A string holding ``*`` (a wildcard in
    ConnectWise strings) is asked for apart, as ``field like "<escaped>"`` ORed in."""
    plain, starred = _starred(values)
    if not starred:
        return InList(field, plain)
    return or_(InList(field, plain) if plain else None, *(like_literal(field, v) for v in starred))


def not_in(field: str, values: Iterable[Any]) -> Condition:
    """``field not in (v1, v2, ...)`` (a string holding ``*`` as ``field not like "<escaped>"`` ANDed in)."""
    plain, starred = _starred(values)
    if not starred:
        return InList(field, plain, negated=True)
    return and_(InList(field, plain, negated=True) if plain else None,
                *(Comparison(field, "not like", escape_like(v)) for v in starred))


def is_null(field: str) -> Condition:
    """``field = null``."""
    return Comparison(field, "=", None)


def not_null(field: str) -> Condition:
    """``field != null``."""
    return Comparison(field, "!=", None)


def render(condition: Condition | None) -> str | None:
    """The text for a query parameter, or None. Refuses plain strings on purpose."""
    if condition is None:
        return None
    if not isinstance(condition, Condition):
        raise TypeError("conditions must be built with colcw_plugin.cw.conditions, not passed as text")
    return str(condition)
