"""Tests for cw_sandbox.query: malformed conditions and the position their errors name."""

from __future__ import annotations

import pytest
from query_support import error

from cw_sandbox.query import (
    QueryError,
    compile_conditions,
)

# --------------------------------------------------------------------------------------------
# Syntax errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ('name = "abc', "Unterminated string starting at position 7"),
        ("name = 'abc", "Unterminated string starting at position 7"),
        ('name = "abc\\"', "Unterminated string starting at position 7"),
        ('name = "abc\\', "Unterminated string starting at position 7"),
        ('name = "a\\nb"', "Unsupported escape sequence '\\n' at position 9"),
        ("name == 1", "Unknown operator '==' at position 5"),
        ("name <> 1", "Unknown operator '<>' at position 5"),
        ("name =! 1", "Unknown operator '=!' at position 5"),
        ("name equals 1", "Unknown operator 'equals' at position 5"),
        ("name ~ 1", "Unexpected character '~' at position 5"),
        ("name 1", "Expected an operator after 'name' at position 5, found '1'"),
        ("name", "Expected an operator after 'name' at position 4, found end of input"),
        ("name =", "Expected a value at position 6, found end of input"),
        ("name = Acme", "Expected a value at position 7, found 'Acme' (strings must be quoted)"),
        ("(id = 1", "Unbalanced parentheses: '(' at position 0 is never closed"),
        ("((id = 1)", "Unbalanced parentheses: '(' at position 0 is never closed"),
        ("id = 1)", "Unbalanced parentheses: unexpected ')' at position 6"),
        ("()", "Expected a field name at position 1, found ')'"),
        ("id = 1 id = 2", "Unexpected 'id' at position 7: expected AND, OR or the end"),
        ("(id = 1 id = 2)", "Unexpected 'id' at position 8: expected AND, OR or ')'"),
        ("id = 1 AND", "Expected a field name at position 10, found end of input"),
        ("OR id = 1", "Expected a field name at position 0, found 'OR'"),
        ("id = 1 AND AND id = 2", "Expected a field name at position 11, found 'AND'"),
        ("NOT id = 1", "Expected a field name at position 0, found 'NOT'"),
        ("id not = 1", "Expected LIKE, CONTAINS or IN after NOT at position 7, found '='"),
        ("id in 1", "Expected '(' after IN at position 6, found '1'"),
        ("id in ()", "Empty IN list at position 6"),
        ("id in (1 2)", "Expected ',' or ')' in IN list at position 9, found '2'"),
        ("id in (1,", "Expected a value at position 9, found end of input"),
        ("id in (1, 2", "Unbalanced parentheses: '(' at position 6 is never closed"),
        ("d > [2024-01-01", "Unterminated datetime literal starting at position 4"),
        ("d > [2024-13-01]", "Invalid datetime '[2024-13-01]' at position 4"),
        ("d > [yesterday]", "Invalid datetime '[yesterday]' at position 4"),
        ("d > [20240101]", "Invalid datetime '[20240101]' at position 4"),
        ("d > [ 2024-01-01 ]", "Invalid datetime '[ 2024-01-01 ]' at position 4"),
        ("id = 12abc", "Invalid number '12a' at position 5"),
        ("id = 1.", "Invalid number '1.' at position 5"),
        ("a//b = 1", "Invalid field name 'a//b' at position 0"),
        ("a/ = 1", "Invalid field name 'a/' at position 0"),
        ("company.id = 1", "Unexpected character '.' at position 7"),
        ("name like 5", "Operator 'like' needs a quoted string at position 5"),
        ("name contains True", "Operator 'contains' needs a quoted string at position 5"),
        ("name < null", "Operator '<' at position 5 cannot compare with null (only = and != can)"),
        ("flag > True", "Operator '>' at position 5 cannot compare with True (only = and != can)"),
        ('name like "[z-a]"', "Invalid LIKE pattern '[z-a]'"),
    ],
)
def test_syntax_errors(conditions, message):
    assert error(conditions).startswith(message)


def test_error_carries_position():
    with pytest.raises(QueryError) as exc_info:
        compile_conditions("id = 1 AND name ?? 2")
    assert exc_info.value.position == 16
