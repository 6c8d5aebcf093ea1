"""What a parsed condition matches: comparisons compiled into closures over record dicts.

SQL Server semantics under a case-insensitive, accent-sensitive collation (see ``query.py`` for the
full list of choices and which of them are unverified).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import product
from typing import Any

from cw_sandbox.condition_parser import NUMBER_RE, QueryError, compile_getter, parse_conditions, tree_paths

__all__ = ["Predicate", "always", "as_number", "child_predicate", "compile_child_conditions", "compile_conditions",
           "compile_tree", "conditions_predicate", "custom_field_predicate"]

Predicate = Callable[[dict], bool]
# A "test" maps a field value to True/False/None, None standing for SQL's UNKNOWN (null or a value
# that cannot be compared with the literal). Only True makes a row match, for every operator.
_Test = Callable[[Any], "bool | None"]


def _to_datetime(value: Any) -> datetime | None:
    """Parse a record's ISO string; None when it is not a datetime string."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def as_number(value: Any) -> float | int | None:
    """Numeric view of a value the way SQL Server's implicit conversion would see it, else None."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value) if NUMBER_RE.fullmatch(value.strip()) else None
        except ValueError:
            return None
    return None


def _equality_test(literals: list[tuple]) -> _Test:
    """Build an ``=``/``IN`` test over one or more literals, using sets so long id lists stay cheap."""
    strings: set[str] = set()
    numbers: set[float | int] = set()
    bools: set[bool] = set()
    dates: set[datetime] = set()
    for kind, value in literals:
        if kind == "str":
            strings.add(value.lower())
            # "5" is also a number when compared with a numeric field (SQL implicit conversion).
            num = as_number(value)
            if num is not None:
                numbers.add(num)
        elif kind == "num":
            numbers.add(value)
        elif kind == "bool":
            bools.add(value)
        elif kind == "dt":
            dates.add(value)
        # null inside a list never equals anything (x IN (NULL) is UNKNOWN in SQL).

    def test(value: Any) -> bool | None:
        if value is None:
            return None
        if isinstance(value, bool):
            if bools:
                return value in bools
            return int(value) in numbers if numbers else None
        if isinstance(value, int | float):
            return value in numbers if numbers else None
        if isinstance(value, str):
            if strings and value.lower() in strings:
                return True
            if numbers:
                num = as_number(value)
                if num is not None and num in numbers:
                    return True
            if dates:
                dt = _to_datetime(value)
                if dt is not None and dt in dates:
                    return True
            return False if (strings or numbers or dates) else None
        return None  # objects and arrays cannot be compared with a literal

    return test


_ORDERING = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _ordering_test(op: str, literal: tuple) -> _Test:
    compare = _ORDERING[op]
    kind, lit = literal
    if kind == "dt":

        def test_dt(value: Any) -> bool | None:
            dt = _to_datetime(value)
            return None if dt is None else compare(dt, lit)

        return test_dt
    if kind == "num":

        def test_num(value: Any) -> bool | None:
            num = as_number(value)
            return None if num is None else compare(num, lit)

        return test_num
    # String literal: string fields compare case-insensitively, numeric fields numerically.
    lowered, lit_num = lit.lower(), as_number(lit)

    def test_str(value: Any) -> bool | None:
        if isinstance(value, str):
            return compare(value.lower(), lowered)
        if isinstance(value, int | float) and not isinstance(value, bool) and lit_num is not None:
            return compare(value, lit_num)
        return None

    return test_str


def _like_regex(pattern: str) -> re.Pattern[str]:
    """Translate a SQL Server LIKE pattern (plus ConnectWise's ``*``) to a regex over lowered text."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c in "%*":
            out.append(".*")
        elif c == "_":
            out.append(".")
        elif c == "[":
            # SQL Server: "[" opens a class, "]" right after the opening (or "^") is a member; an
            # unclosed "[" never matches in SQL Server, we treat it as a literal to stay lenient there.
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            close = pattern.find("]", j)
            if close < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : close]
                negate = body.startswith("^")
                if negate:
                    body = body[1:]
                members = "".join(re.escape(ch) if ch != "-" else "-" for ch in body)
                out.append(f"[{'^' if negate else ''}{members}]")
                i = close
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _text_of(value: Any) -> str | None:
    """Text view for LIKE/CONTAINS: strings as is, numbers as SQL would cast them, else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _compile_test(op: str, literal: tuple) -> _Test:
    kind, lit = literal
    if kind == "null":
        if op == "=":
            return lambda value: value is None
        return lambda value: value is not None
    if op in ("=", "!=") and kind == "str" and "*" in lit:
        # The Developer Guide says a string value "Accepts * for wildcards": we read that as ConnectWise
        # turning such a comparison into SQL Server LIKE ("*" as "%", so "%", "_" and "[...]" in it are
        # wildcards too). A value without "*" compares as SQL "=" does. UNVERIFIED against a live server.
        return _like_test("like" if op == "=" else "not like", lit)
    if op in ("=", "in"):
        return _equality_test(lit if kind == "list" else [literal])
    if op in ("!=", "not in"):
        eq = _equality_test(lit if kind == "list" else [literal])

        def test_ne(value: Any) -> bool | None:
            result = eq(value)
            return None if result is None else not result

        return test_ne
    if op in _ORDERING:
        return _ordering_test(op, literal)
    if op in ("like", "not like"):
        return _like_test(op, lit)
    # contains is LIKE "%value%" (API-NOTES §4.2: the "[[]" escaping rule reads as SQL Server LIKE), so "%",
    # "*", "_" and "[...]" in its value are wildcards and classes; "[[]", "[%]", "[_]" and "[*]" are literal.
    return _like_test("like" if op == "contains" else "not like", lit, anywhere=True)


def _like_test(op: str, pattern: str, *, anywhere: bool = False) -> _Test:
    try:
        compiled = _like_regex(pattern.lower())
    except re.error as exc:  # e.g. a reversed range "[z-a]"
        raise QueryError(f"Invalid LIKE pattern '{pattern}': {exc}") from None
    matcher = compiled.search if anywhere else compiled.fullmatch
    if op == "like":
        return lambda value: None if (t := _text_of(value)) is None else matcher(t.lower()) is not None
    return lambda value: None if (t := _text_of(value)) is None else matcher(t.lower()) is None


def compile_tree(node: tuple, getter_for: Callable[[str], Callable[[Any], Any]]) -> Predicate:
    tag = node[0]
    if tag == "cmp":
        _, path, op, literal, _pos = node
        get = getter_for(path)
        test = _compile_test(op, literal)
        return lambda obj: test(get(obj)) is True
    parts = tuple(compile_tree(child, getter_for) for child in node[1])
    if len(parts) == 2:  # the common case; avoids a generator per record
        first, second = parts
        if tag == "and":
            return lambda obj: first(obj) and second(obj)
        return lambda obj: first(obj) or second(obj)
    if tag == "and":
        return lambda obj: all(p(obj) for p in parts)
    return lambda obj: any(p(obj) for p in parts)


def always(_record: dict) -> bool:
    """The predicate of no conditions."""
    return True


def compile_conditions(text: str | None) -> Callable[[dict], bool]:
    """Compile a ConnectWise ``conditions`` string into a predicate over a record dict.

    ``None``, ``""`` and whitespace give a predicate that accepts everything. String ``=``, ``<``,
    ``like`` and ``contains`` are case-insensitive because ConnectWise runs on SQL Server with a
    case-insensitive collation: callers needing exact case must re-check results client-side.
    Missing fields read as null. Raises :class:`QueryError` on any syntax error.
    """
    return conditions_predicate(parse_conditions(text))


def conditions_predicate(tree: tuple | None) -> Predicate:
    """The predicate of a parsed ``conditions`` tree (None accepts everything)."""
    return always if tree is None else compile_tree(tree, compile_getter)


def custom_field_predicate(tree: tuple | None) -> Predicate:
    """``customFieldConditions``: true when any entry of ``customFields`` matches the tree."""
    if tree is None:
        return always
    test = compile_tree(tree, compile_getter)
    return lambda record: any(test(cf) for cf in record.get("customFields") or [] if isinstance(cf, dict))


def compile_child_conditions(text: str | None) -> Callable[[dict], bool]:
    """Compile ``childConditions`` (e.g. ``communicationItems/value = "a@b.com"``) into a predicate.

    Every path must be ``<arrayField>/<subpath>``. A record matches when one element of the array
    satisfies all the terms on that array (the whole expression is evaluated against that element).
    When several arrays are named, some combination of one element per array must satisfy the
    expression; an empty array then takes part as a null element (LEFT JOIN style), and a record
    whose named arrays are all empty never matches. Case-insensitive like ``compile_conditions``.
    Raises :class:`QueryError`.
    """
    return child_predicate(parse_conditions(text))


def child_predicate(tree: tuple | None) -> Predicate:
    """The predicate of a parsed ``childConditions`` tree (see ``compile_child_conditions``)."""
    if tree is None:
        return always
    arrays: list[str] = []
    for path, pos in tree_paths(tree):
        head, sep, _rest = path.partition("/")
        if not sep:
            raise QueryError(
                f"childConditions field '{path}' at position {pos} must be '<arrayField>/<field>'", pos
            )
        if head not in arrays:
            arrays.append(head)

    if len(arrays) == 1:
        array = arrays[0]
        element_pred = compile_tree(tree, lambda p: compile_getter(p.partition("/")[2]))

        def match_one(record: dict) -> bool:
            items = record.get(array)
            return isinstance(items, list) and any(element_pred(item) for item in items)

        return match_one

    # Several arrays: evaluate over a binding {arrayField: element}.
    def binding_getter(path: str) -> Callable[[Any], Any]:
        head, _, rest = path.partition("/")
        sub = compile_getter(rest)
        return lambda binding: sub(binding[head])

    binding_pred = compile_tree(tree, binding_getter)

    def match_many(record: dict) -> bool:
        columns = []
        for name in arrays:
            items = record.get(name)
            columns.append(items if isinstance(items, list) and items else [None])
        if all(col == [None] for col in columns):
            return False
        return any(binding_pred(dict(zip(arrays, combo, strict=True))) for combo in product(*columns))

    return match_many

