"""Query engine for the ConnectWise Manage sandbox: ``conditions``, ``childConditions``, ``orderBy``, ``fields``.

Pure Python, no I/O. Everything that parses text raises :class:`QueryError` (a ``ValueError``) whose
``str()`` is fit for the ``message`` of a ConnectWise 400 error body.

Semantics, and where they come from (see shared/connectwise/API-NOTES.md §4, §10, §12):

* ConnectWise translates conditions to SQL Server queries that run under a **case-insensitive,
  accent-sensitive** collation. So ``name = "acme"`` matches ``"ACME"`` but ``"Montréal"`` does not
  match ``"Montreal"``. Callers that need exact case (opportunity names, identifiers they intend to
  compare byte for byte) must re-check the returned rows on the client side.
* Comparisons follow SQL's three-valued logic: a null (or missing) field never satisfies any
  operator except ``= null``. In particular ``name != "x"``, ``name not like "%x%"`` and
  ``id not in (1, 2)`` do **not** match rows whose field is null. UNVERIFIED against a live server
  (an Entity-Framework layer with C# null semantics would behave differently).
* ``like`` emulates SQL Server LIKE: ``%`` (and ``*``, which the Developer Guide says is accepted as
  a wildcard) match any run of characters, ``_`` matches one character, ``[abc]``/``[a-z]``/``[^a]``
  are character classes, so a literal ``[`` is written ``[[]`` (the Developer Guide's escaping rule).
  ``_`` and the bracket classes are inferred from that rule, not documented as such: UNVERIFIED.
* Escaping a quote inside a quoted value is undocumented (§12 question 1). We accept both quote
  styles and the backslash escapes ``\\"``, ``\\'`` and ``\\\\``; any other backslash sequence is
  rejected, so hand-written conditions do not silently diverge from what the client library sends.
* ``contains`` is a case-insensitive substring test; ``%`` and ``*`` inside it are literal.
* The pseudo-field ``lastUpdated`` reads ``_info/lastUpdated`` (no ConnectWise model has a
  top-level ``lastUpdated``).
* Datetime values are compared as datetimes; naive datetimes (no ``Z``/offset) are taken as UTC,
  which is what django-connectwise relies on when it sends naive watermarks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from itertools import product
from typing import Any

__all__ = [
    "QueryError",
    "compile_child_conditions",
    "compile_conditions",
    "project_fields",
    "resolve_path",
    "sort_records",
]

Predicate = Callable[[dict], bool]
# A "test" maps a field value to True/False/None, None standing for SQL's UNKNOWN (null or a value
# that cannot be compared with the literal). Only True makes a row match, for every operator.
_Test = Callable[[Any], "bool | None"]


class QueryError(ValueError):
    """Bad conditions/orderBy/fields text. str(e) is a message suitable for ConnectWise's 400 error body.

    ``position`` is the 0-based character offset of the offending token when known, else None.
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


# --------------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------------

_SEGMENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PSEUDO_FIELDS = {"lastUpdated": ("_info", "lastUpdated")}


def _split_path(path: str, what: str = "field") -> tuple[str, ...]:
    segments = tuple(path.split("/"))
    if not path or not all(_SEGMENT_RE.match(s) for s in segments):
        raise QueryError(f"Invalid {what} name '{path}'")
    return segments


def _compile_getter(path: str) -> Callable[[Any], Any]:
    """Compile a validated path into a fast getter. Missing keys and non-object hops give None."""
    segments = _PSEUDO_FIELDS.get(path) or tuple(path.split("/"))
    if len(segments) == 1:
        key = segments[0]

        def get_one(obj: Any) -> Any:
            return obj.get(key) if isinstance(obj, dict) else None

        return get_one

    def get_many(obj: Any) -> Any:
        for key in segments:
            if not isinstance(obj, dict):
                # Stops at lists too: conditions cannot reach into arrays (that is childConditions).
                return None
            obj = obj.get(key)
        return obj

    return get_many


def resolve_path(record: dict, path: str) -> Any:
    """Return the value at ``path`` ("company/identifier") in ``record``, or None when absent.

    The pseudo-field ``lastUpdated`` maps to ``_info/lastUpdated``. Paths never descend into arrays.
    """
    return _compile_getter(path)(record)


# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------

# Token kinds
_LPAREN, _RPAREN, _COMMA, _OP, _WORD, _STRING, _NUMBER, _DATETIME, _EOF = (
    "(",
    ")",
    ",",
    "op",
    "word",
    "string",
    "number",
    "datetime",
    "end",
)
_COMPARISON_OPS = {"=", "!=", "<", "<=", ">", ">="}
_OP_CHARS = "=!<>"
_WORD_CHARS = re.compile(r"[A-Za-z0-9_/]*")
_NUMBER_RE = re.compile(r"-?\d+(\.\d+)?")
_DATETIME_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})?)?\Z"
)
_ESCAPES = {'"': '"', "'": "'", "\\": "\\"}
_KEYWORDS = {"and", "or", "not", "like", "contains", "in", "true", "false", "null"}


class _Token:
    __slots__ = ("kind", "value", "pos", "text")

    def __init__(self, kind: str, value: Any, pos: int, text: str) -> None:
        self.kind = kind
        self.value = value
        self.pos = pos
        self.text = text  # as written, for error messages

    def is_word(self, *words: str) -> bool:
        return self.kind == _WORD and self.value.lower() in words

    def describe(self) -> str:
        return "end of input" if self.kind == _EOF else f"'{self.text}'"


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "(),":
            tokens.append(_Token(c, c, i, c))
            i += 1
        elif c in _OP_CHARS:
            j = i
            while j < n and text[j] in _OP_CHARS:
                j += 1
            op = text[i:j]
            if op not in _COMPARISON_OPS:
                raise QueryError(f"Unknown operator '{op}' at position {i}", i)
            tokens.append(_Token(_OP, op, i, op))
            i = j
        elif c in "\"'":
            value, j = _scan_string(text, i)
            tokens.append(_Token(_STRING, value, i, text[i:j]))
            i = j
        elif c == "[":
            j = text.find("]", i + 1)
            if j < 0:
                raise QueryError(f"Unterminated datetime literal starting at position {i}", i)
            tokens.append(_Token(_DATETIME, _parse_datetime_literal(text[i + 1 : j], i), i, text[i : j + 1]))
            i = j + 1
        elif c.isdigit() or (c == "-" and i + 1 < n and text[i + 1].isdigit()):
            m = _NUMBER_RE.match(text, i)
            assert m is not None  # guaranteed by the test above
            j = m.end()
            if j < n and (text[j].isalnum() or text[j] in "._"):
                raise QueryError(f"Invalid number '{text[i : j + 1]}' at position {i}", i)
            raw = m.group()
            tokens.append(_Token(_NUMBER, float(raw) if m.group(1) else int(raw), i, raw))
            i = j
        elif c.isalpha() or c == "_":
            m = _WORD_CHARS.match(text, i)
            assert m is not None  # the pattern accepts the empty string
            j = m.end()
            word = text[i:j]
            if not all(_SEGMENT_RE.match(s) for s in word.split("/")):
                raise QueryError(f"Invalid field name '{word}' at position {i}", i)
            tokens.append(_Token(_WORD, word, i, word))
            i = j
        else:
            raise QueryError(f"Unexpected character '{c}' at position {i}", i)
    tokens.append(_Token(_EOF, None, n, ""))
    return tokens


def _scan_string(text: str, start: int) -> tuple[str, int]:
    """Scan a quoted string starting at ``start``; return (value, index after the closing quote)."""
    quote = text[start]
    out: list[str] = []
    i, n = start + 1, len(text)
    while i < n:
        c = text[i]
        if c == quote:
            return "".join(out), i + 1
        if c == "\\":
            if i + 1 >= n:
                break  # a trailing backslash leaves the string unterminated
            escaped = text[i + 1]
            if escaped not in _ESCAPES:
                raise QueryError(
                    f"Unsupported escape sequence '\\{escaped}' at position {i}"
                    " (only \\\", \\' and \\\\ are allowed)",
                    i,
                )
            out.append(_ESCAPES[escaped])
            i += 2
            continue
        out.append(c)
        i += 1
    raise QueryError(f"Unterminated string starting at position {start}", start)


def _parse_datetime_literal(raw: str, pos: int) -> datetime:
    # The regex keeps us stricter than fromisoformat (which also takes "20240101", spaces, etc.).
    if not _DATETIME_RE.match(raw):
        raise QueryError(f"Invalid datetime '[{raw}]' at position {pos}", pos)
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise QueryError(f"Invalid datetime '[{raw}]' at position {pos}", pos) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _to_datetime(value: Any) -> datetime | None:
    """Parse a record's ISO string; None when it is not a datetime string."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


# --------------------------------------------------------------------------------------------
# Parser -> AST (tuples keep it small): ("or", [..]) | ("and", [..]) | ("cmp", path, op, literal, pos)
# Literals: ("str", s) | ("num", n) | ("bool", b) | ("null", None) | ("dt", datetime) | ("list", [...])
# --------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> tuple:
        node = self.parse_or()
        tok = self.peek()
        if tok.kind == _RPAREN:
            raise QueryError(f"Unbalanced parentheses: unexpected ')' at position {tok.pos}", tok.pos)
        if tok.kind != _EOF:
            raise QueryError(
                f"Unexpected {tok.describe()} at position {tok.pos}: expected AND, OR or the end", tok.pos
            )
        return node

    def parse_or(self) -> tuple:
        items = [self.parse_and()]
        while self.peek().is_word("or"):
            self.take()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else ("or", items)

    def parse_and(self) -> tuple:
        items = [self.parse_primary()]
        while self.peek().is_word("and"):
            self.take()
            items.append(self.parse_primary())
        return items[0] if len(items) == 1 else ("and", items)

    def parse_primary(self) -> tuple:
        tok = self.take()
        if tok.kind == _LPAREN:
            node = self.parse_or()
            close = self.take()
            if close.kind != _RPAREN:
                if close.kind == _EOF:
                    raise QueryError(
                        f"Unbalanced parentheses: '(' at position {tok.pos} is never closed", tok.pos
                    )
                raise QueryError(
                    f"Unexpected {close.describe()} at position {close.pos}: expected AND, OR or ')'",
                    close.pos,
                )
            return node
        if tok.kind != _WORD or tok.value.lower() in _KEYWORDS:
            raise QueryError(f"Expected a field name at position {tok.pos}, found {tok.describe()}", tok.pos)
        return self.parse_comparison(tok)

    def parse_comparison(self, field: _Token) -> tuple:
        tok = self.take()
        if tok.kind == _OP:
            op = tok.value
        elif tok.is_word("like", "contains", "in"):
            op = tok.value.lower()
        elif tok.is_word("not"):
            nxt = self.take()
            if not nxt.is_word("like", "contains", "in"):
                raise QueryError(
                    f"Expected LIKE, CONTAINS or IN after NOT at position {nxt.pos}, found {nxt.describe()}",
                    nxt.pos,
                )
            op = "not " + nxt.value.lower()
        elif tok.kind == _WORD:
            raise QueryError(f"Unknown operator '{tok.text}' at position {tok.pos}", tok.pos)
        else:
            raise QueryError(
                f"Expected an operator after '{field.text}' at position {tok.pos}, found {tok.describe()}",
                tok.pos,
            )

        if op in ("in", "not in"):
            literal = self.parse_list()
        else:
            literal = self.parse_value()
            kind = literal[0]
            if op in ("like", "not like", "contains", "not contains") and kind != "str":
                raise QueryError(f"Operator '{op}' needs a quoted string at position {tok.pos}", tok.pos)
            if kind in ("null", "bool") and op not in ("=", "!="):
                shown = "null" if kind == "null" else str(literal[1])
                raise QueryError(
                    f"Operator '{op}' at position {tok.pos} cannot compare with {shown} (only = and != can)",
                    tok.pos,
                )
        return ("cmp", field.value, op, literal, field.pos)

    def parse_list(self) -> tuple:
        tok = self.take()
        if tok.kind != _LPAREN:
            raise QueryError(f"Expected '(' after IN at position {tok.pos}, found {tok.describe()}", tok.pos)
        if self.peek().kind == _RPAREN:
            raise QueryError(f"Empty IN list at position {tok.pos}", tok.pos)
        values = [self.parse_value()]
        while True:
            sep = self.take()
            if sep.kind == _RPAREN:
                return ("list", values)
            if sep.kind == _EOF:
                raise QueryError(
                    f"Unbalanced parentheses: '(' at position {tok.pos} is never closed", tok.pos
                )
            if sep.kind != _COMMA:
                raise QueryError(
                    f"Expected ',' or ')' in IN list at position {sep.pos}, found {sep.describe()}", sep.pos
                )
            values.append(self.parse_value())

    def parse_value(self) -> tuple:
        tok = self.take()
        if tok.kind == _STRING:
            return ("str", tok.value)
        if tok.kind == _NUMBER:
            return ("num", tok.value)
        if tok.kind == _DATETIME:
            return ("dt", tok.value)
        if tok.kind == _WORD:
            word = tok.value.lower()
            if word == "true":
                return ("bool", True)
            if word == "false":
                return ("bool", False)
            if word == "null":
                return ("null", None)
            raise QueryError(
                f"Expected a value at position {tok.pos}, found '{tok.text}' (strings must be quoted)",
                tok.pos,
            )
        raise QueryError(f"Expected a value at position {tok.pos}, found {tok.describe()}", tok.pos)


# --------------------------------------------------------------------------------------------
# Compilation of comparisons into closures
# --------------------------------------------------------------------------------------------


def _as_number(value: Any) -> float | int | None:
    """Numeric view of a value the way SQL Server's implicit conversion would see it, else None."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value) if _NUMBER_RE.fullmatch(value.strip()) else None
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
            num = _as_number(value)
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
                num = _as_number(value)
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
            num = _as_number(value)
            return None if num is None else compare(num, lit)

        return test_num
    # String literal: string fields compare case-insensitively, numeric fields numerically.
    lowered, lit_num = lit.lower(), _as_number(lit)

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
        try:
            matcher = _like_regex(lit.lower()).fullmatch
        except re.error as exc:  # e.g. a reversed range "[z-a]"
            raise QueryError(f"Invalid LIKE pattern '{lit}': {exc}") from None
        if op == "like":
            return lambda value: None if (t := _text_of(value)) is None else matcher(t.lower()) is not None
        return lambda value: None if (t := _text_of(value)) is None else matcher(t.lower()) is None
    needle = lit.lower()
    if op == "contains":
        return lambda value: None if (t := _text_of(value)) is None else needle in t.lower()
    return lambda value: None if (t := _text_of(value)) is None else needle not in t.lower()


def _compile_node(node: tuple, getter_for: Callable[[str], Callable[[Any], Any]]) -> Predicate:
    tag = node[0]
    if tag == "cmp":
        _, path, op, literal, _pos = node
        get = getter_for(path)
        test = _compile_test(op, literal)
        return lambda obj: test(get(obj)) is True
    parts = tuple(_compile_node(child, getter_for) for child in node[1])
    if len(parts) == 2:  # the common case; avoids a generator per record
        first, second = parts
        if tag == "and":
            return lambda obj: first(obj) and second(obj)
        return lambda obj: first(obj) or second(obj)
    if tag == "and":
        return lambda obj: all(p(obj) for p in parts)
    return lambda obj: any(p(obj) for p in parts)


def _parse(text: str | None) -> tuple | None:
    if text is None or not text.strip():
        return None
    return _Parser(text).parse()


def _always(_record: dict) -> bool:
    return True


def compile_conditions(text: str | None) -> Callable[[dict], bool]:
    """Compile a ConnectWise ``conditions`` string into a predicate over a record dict.

    ``None``, ``""`` and whitespace give a predicate that accepts everything. String ``=``, ``<``,
    ``like`` and ``contains`` are case-insensitive because ConnectWise runs on SQL Server with a
    case-insensitive collation: callers needing exact case must re-check results client-side.
    Missing fields read as null. Raises :class:`QueryError` on any syntax error.
    """
    tree = _parse(text)
    if tree is None:
        return _always
    return _compile_node(tree, _compile_getter)


def _paths(node: tuple) -> list[tuple[str, int]]:
    if node[0] == "cmp":
        return [(node[1], node[4])]
    return [p for child in node[1] for p in _paths(child)]


def compile_child_conditions(text: str | None) -> Callable[[dict], bool]:
    """Compile ``childConditions`` (e.g. ``communicationItems/value = "a@b.com"``) into a predicate.

    Every path must be ``<arrayField>/<subpath>``. A record matches when one element of the array
    satisfies all the terms on that array (the whole expression is evaluated against that element).
    When several arrays are named, some combination of one element per array must satisfy the
    expression; an empty array then takes part as a null element (LEFT JOIN style), and a record
    whose named arrays are all empty never matches. Case-insensitive like ``compile_conditions``.
    Raises :class:`QueryError`.
    """
    tree = _parse(text)
    if tree is None:
        return _always
    arrays: list[str] = []
    for path, pos in _paths(tree):
        head, sep, _rest = path.partition("/")
        if not sep:
            raise QueryError(
                f"childConditions field '{path}' at position {pos} must be '<arrayField>/<field>'", pos
            )
        if head not in arrays:
            arrays.append(head)

    if len(arrays) == 1:
        array = arrays[0]
        element_pred = _compile_node(tree, lambda p: _compile_getter(p.partition("/")[2]))

        def match_one(record: dict) -> bool:
            items = record.get(array)
            return isinstance(items, list) and any(element_pred(item) for item in items)

        return match_one

    # Several arrays: evaluate over a binding {arrayField: element}.
    def binding_getter(path: str) -> Callable[[Any], Any]:
        head, _, rest = path.partition("/")
        sub = _compile_getter(rest)
        return lambda binding: sub(binding[head])

    binding_pred = _compile_node(tree, binding_getter)

    def match_many(record: dict) -> bool:
        columns = []
        for name in arrays:
            items = record.get(name)
            columns.append(items if isinstance(items, list) and items else [None])
        if all(col == [None] for col in columns):
            return False
        return any(binding_pred(dict(zip(arrays, combo, strict=True))) for combo in product(*columns))

    return match_many


# --------------------------------------------------------------------------------------------
# orderBy
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _parse_order_by(order_by: str) -> tuple[tuple[str, bool], ...]:
    keys: list[tuple[str, bool]] = []
    for part in order_by.split(","):
        words = part.split()
        if not words:
            raise QueryError(f"Empty sort key in orderBy '{order_by}'")
        if len(words) > 2:
            raise QueryError(f"Invalid sort key '{part.strip()}' in orderBy: expected '<field> asc|desc'")
        _split_path(words[0])
        direction = words[1].lower() if len(words) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise QueryError(f"Unknown sort direction '{words[1]}' in orderBy: expected asc or desc")
        keys.append((words[0], direction == "desc"))
    if all(path != "id" for path, _ in keys):
        # SQL gives no order among ties; pin it with id so page N and N+1 never overlap.
        keys.append(("id", False))
    return tuple(keys)


def _sort_key(value: Any) -> tuple:
    # Nulls lowest, like SQL Server: first when ascending, last when descending.
    if value is None:
        return (0,)
    if isinstance(value, bool | int | float):
        return (1, value)
    if isinstance(value, str):
        return (2, value.lower())  # case-insensitive collation
    return (3,)  # objects/arrays: not orderable, keep their relative order


def sort_records(records: list[dict], order_by: str | None) -> list[dict]:
    """Return a new list sorted by a ConnectWise ``orderBy`` ("name asc, contact/name desc").

    Direction defaults to asc and is case-insensitive; an unknown direction raises
    :class:`QueryError`. None/empty sorts by id ascending. Nulls sort first ascending and last
    descending; strings compare case-insensitively. Ties are broken by id ascending.
    """
    keys = _parse_order_by(order_by) if order_by and order_by.strip() else (("id", False),)
    result = list(records)
    # Stable sorts applied from the least significant key give a multi-key, mixed-direction sort.
    for path, descending in reversed(keys):
        get = _compile_getter(path)
        result.sort(key=lambda r, get=get: _sort_key(get(r)), reverse=descending)
    return result


# --------------------------------------------------------------------------------------------
# fields
# --------------------------------------------------------------------------------------------

_WHOLE = object()  # marks "take the whole value" in a field tree
_MISSING = object()  # "nothing to output" from _project


@lru_cache(maxsize=256)
def _parse_fields(fields: str) -> dict:
    tree: dict = {}
    for raw in fields.split(","):
        path = raw.strip()
        if not path:
            raise QueryError(f"Empty field name in fields '{fields}'")
        node = tree
        segments = _split_path(path)
        for segment in segments[:-1]:
            child = node.setdefault(segment, {})
            if child is _WHOLE:
                break  # "status" already asked for the whole object, "status/id" adds nothing
            node = child
        else:
            node[segments[-1]] = _WHOLE
    return tree


def _project(value: Any, tree: dict) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            sub = tree.get(key)
            if sub is None:
                continue
            if sub is _WHOLE:
                out[key] = item
            elif item is None:
                out[key] = None  # keep "present but null", the sub-fields cannot exist
            else:
                projected = _project(item, sub)
                if projected is not _MISSING and projected != {}:  # none of the sub-paths exist
                    out[key] = projected
        return out
    if isinstance(value, list):
        return [_project(item, tree) for item in value if isinstance(item, dict)]
    return _MISSING  # a scalar has no sub-fields


def project_fields(record: dict, fields: str | None) -> dict:
    """Return a new dict holding only the comma-separated (nested, ``/``) paths of ``fields``.

    ``"id,name,status/id,_info/lastUpdated"`` keeps ``id``, ``name``, ``status.id`` and
    ``_info.lastUpdated``. Key order follows the record. Paths that do not exist are left out; a
    path through an array projects every element. Leaf values are shared, not copied.
    None or empty returns ``record`` itself. Raises :class:`QueryError` on a malformed list.
    """
    if fields is None or not fields.strip():
        return record
    return _project(record, _parse_fields(fields))
