"""Conditions are built from values: escaping, formats, field validation, combinators."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from colcw_plugin.cw import conditions as C


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('O"Brien', r'name = "O\"Brien"'),
        ("O'Brien", 'name = "O\'Brien"'),
        ("back\\slash", r'name = "back\\slash"'),
        ('\\"', r'name = "\\\""'),
        ("100%", 'name like "100[%]"'),  # wildcards: an exact like (test_condition_wildcards)
        ("[bracket]", 'name like "[[]bracket]"'),
        ("Zürich – 東京", 'name = "Zürich – 東京"'),
        ('x" OR id > 0 OR name = "', r'name = "x\" OR id > 0 OR name = \""'),
    ],
)
def test_string_values_are_quoted_and_escaped(value, expected):
    assert str(C.eq("name", value)) == expected


def test_escaped_string_cannot_end_the_literal_early():
    text = str(C.eq("name", 'a\\" OR 1=1 OR name = "b'))
    # Walk the literal as a backslash-escaping parser would: it must run to the end.
    body = text[len('name = "') :]
    i = 0
    while i < len(body):
        if body[i] == "\\":
            i += 2
            continue
        if body[i] == '"':
            break
        i += 1
    assert i == len(body) - 1


def test_datetimes_are_bracketed_utc():
    aware = datetime(2025, 3, 1, 12, 30, 15, 999, tzinfo=timezone(timedelta(hours=2)))
    assert str(C.gt("lastUpdated", aware)) == "lastUpdated > [2025-03-01T10:30:15Z]"
    assert str(C.ge("lastUpdated", datetime(2025, 1, 1))) == "lastUpdated >= [2025-01-01T00:00:00Z]"
    assert str(C.lt("expectedCloseDate", date(2025, 6, 30))) == "expectedCloseDate < [2025-06-30T00:00:00Z]"
    assert str(C.le("x", datetime(2025, 1, 1, tzinfo=UTC))) == "x <= [2025-01-01T00:00:00Z]"


def test_scalars_booleans_null_and_numbers():
    assert str(C.eq("deletedFlag", False)) == "deletedFlag = False"
    assert str(C.eq("inactiveFlag", True)) == "inactiveFlag = True"
    assert str(C.is_null("value")) == "value = null"
    assert str(C.not_null("value")) == "value != null"
    assert str(C.ne("board/id", 3)) == "board/id != 3"
    assert str(C.gt("price", 1.5)) == "price > 1.5"
    assert str(C.gt("price", 1e-7)) == "price > 0.0000001"
    assert str(C.gt("price", Decimal("10.50"))) == "price > 10.50"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), Decimal("NaN"), object(), b"bytes", ["x"]])
def test_unsupported_values_are_refused(bad):
    with pytest.raises((TypeError, ValueError)):
        C.eq("name", bad)


@pytest.mark.parametrize(
    "field",
    ["", "name = 1 OR x", "na me", 'name"', "name)", "1abc", "a//b", "/a", "a/", "a-b", "a.b", "name;"],
)
def test_field_names_are_validated(field):
    with pytest.raises(ValueError):
        C.eq(field, 1)


@pytest.mark.parametrize(
    "field", ["name", "company/id", "_info", "communicationItems/value", "userDefinedField10"]
)
def test_valid_field_names(field):
    assert str(C.eq(field, 1)).startswith(field + " = ")


def test_in_lists_and_combinators():
    cond = C.and_(C.in_("status/id", [1, 2, 3]), C.or_(C.contains("name", "a&b"), C.like("name", "%x%")))
    assert str(cond) == 'status/id in (1, 2, 3) AND (name contains "a&b" OR name like "%x%")'
    assert str(C.not_in("id", ["a", 'b"'])) == r'id not in ("a", "b\"")'
    assert str(C.and_(C.eq("a", 1), None, C.and_(C.eq("b", 2), C.eq("c", 3)))) == "a = 1 AND b = 2 AND c = 3"
    assert str(C.eq("a", 1) & C.eq("b", 2) | C.eq("c", 3)) == "(a = 1 AND b = 2) OR c = 3"


def test_not_flips_operators_and_applies_de_morgan():
    assert str(C.not_(C.eq("a", 1))) == "a != 1"
    assert str(~C.contains("summary", "Low")) == 'summary not contains "Low"'
    assert str(C.not_(C.in_("id", [1]))) == "id not in (1)"
    assert str(C.not_(C.or_(C.gt("a", 1), C.like("b", "x%")))) == 'a <= 1 AND b not like "x%"'


def test_empty_and_invalid_combinations_are_refused():
    with pytest.raises(ValueError):
        C.in_("id", [])
    with pytest.raises(ValueError):
        C.and_()
    with pytest.raises(ValueError):
        C.gt("x", None)
    with pytest.raises(TypeError):
        C.and_(C.eq("a", 1), 'name = "x"')  # text is never pasted in
    with pytest.raises(TypeError):
        C.render('name = "x"')


def test_whole_parameter_survives_url_encoding():
    value = 'a&b=c+d %25 #frag "q" \\ ü'
    cond = C.eq("name", value)
    url = requests.Request("GET", "https://h/x", params={"conditions": str(cond)}).prepare().url
    assert parse_qs(urlsplit(url).query)["conditions"] == [str(cond)]
