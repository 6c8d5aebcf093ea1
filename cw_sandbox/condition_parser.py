"""Tokenizer and parser for ConnectWise ``conditions`` text, and the field paths it names.

Turns ``company/id = 5 AND (name like "A%" OR deletedFlag = False)`` into a small tuple AST (see
``parse_conditions``). Every syntax error raises :class:`QueryError` carrying the 0-based position
of the offending token. Semantics (what a comparison matches) live in ``predicates.py``; checks of
names and value types against the official schemas in ``names.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

__all__ = ["NUMBER_RE", "PSEUDO_FIELDS", "QueryError", "compile_getter", "parse_conditions", "resolve_path",
           "split_path", "tree_paths"]


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

SEGMENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
PSEUDO_FIELDS = {"lastUpdated": ("_info", "lastUpdated")}


def split_path(path: str, what: str = "field") -> tuple[str, ...]:
    segments = tuple(path.split("/"))
    if not path or not all(SEGMENT_RE.match(s) for s in segments):
        raise QueryError(f"Invalid {what} name '{path}'")
    return segments


def compile_getter(path: str) -> Callable[[Any], Any]:
    """Compile a validated path into a fast getter. Missing keys and non-object hops give None."""
    segments = PSEUDO_FIELDS.get(path) or tuple(path.split("/"))
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
    return compile_getter(path)(record)


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
NUMBER_RE = re.compile(r"-?\d+(\.\d+)?")
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
            m = NUMBER_RE.match(text, i)
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
            if not all(SEGMENT_RE.match(s) for s in word.split("/")):
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



def parse_conditions(text: str | None) -> tuple | None:
    """The AST of ``text``, or None for None/blank text. Raises :class:`QueryError`."""
    if text is None or not text.strip():
        return None
    return _Parser(text).parse()


def tree_paths(node: tuple) -> list[tuple[str, int]]:
    """Every (field path, position) a parsed tree compares, in order."""
    if node[0] == "cmp":
        return [(node[1], node[4])]
    return [p for child in node[1] for p in tree_paths(child)]
