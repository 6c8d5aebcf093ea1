"""Tests for cw_sandbox.query: the sandbox's ConnectWise conditions/childConditions/orderBy/fields engine.

Several behaviours pinned here are our reading of undocumented ConnectWise behaviour, NOT checked
against a live server (API-NOTES §4.2 and §12): backslash escapes inside quoted values, ``_`` and
``[...]`` in LIKE, and SQL three-valued logic for nulls with ``!=``/``not like``/``not in``. Those
tests carry "UNVERIFIED" in their docstring so they are easy to revisit once a tenant is available.
"""

from __future__ import annotations

import pytest
from query_support import RECORDS, ids

from cw_sandbox.query import (
    compile_conditions,
)

# --------------------------------------------------------------------------------------------
# Empty / trivial
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("conditions", [None, "", "   "])
def test_empty_conditions_match_everything(conditions):
    assert ids(conditions) == [1, 2, 3, 4]


# --------------------------------------------------------------------------------------------
# Comparison operators
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ("id = 2", [2]),
        ("id != 2", [1, 3, 4]),
        ("id < 2", [1]),
        ("id <= 2", [1, 2]),
        ("id > 2", [3, 4]),
        ("id >= 2", [2, 3, 4]),
        ("employees = -3", [4]),
        ("employees < 0", [4]),
        ("revenue = 1500.5", [1]),
        ("revenue > 100.25", [1]),
        ("revenue <= 99", [2]),
    ],
)
def test_numeric_comparisons(conditions, expected):
    assert ids(conditions) == expected


@pytest.mark.parametrize("conditions", ["id=2", "id =2", "id= 2", "  id   =   2  "])
def test_spaces_around_operators_are_optional(conditions):
    assert ids(conditions) == [2]


def test_string_equality_is_case_insensitive():
    assert ids('identifier = "acme"') == [1]
    assert ids('name = "ACME CORP"') == [1]
    assert ids('identifier != "acme"') == [2, 3, 4]


def test_non_ascii_strings_are_case_insensitive_but_accent_sensitive():
    assert ids('name = "MÜLLER GMBH"') == [2]
    assert ids('city = "MONTRÉAL"') == [1, 4]
    assert ids('city = "Montreal"') == []


def test_string_ordering_is_case_insensitive():
    # "acme corp" < "b" < "müller gmbh"; "100% ..." and "o'brien ..." sort around them.
    assert ids('name < "b"') == [1, 4]
    assert ids('name >= "M"') == [2, 3]


def test_string_literal_against_numeric_field_converts():
    assert ids('id = "2"') == [2]
    assert ids('id > "2"') == [3, 4]
    assert ids('id = "two"') == []


def test_numeric_literal_against_string_field_converts():
    records = [{"id": 1, "code": "42"}, {"id": 2, "code": "x"}]
    pred = compile_conditions("code = 42")
    assert [r["id"] for r in records if pred(r)] == [1]


# --------------------------------------------------------------------------------------------
# Booleans and null
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("literal", ["True", "true", "TRUE"])
def test_true_is_case_insensitive(literal):
    assert ids(f"deletedFlag = {literal}") == [2]


@pytest.mark.parametrize("literal", ["False", "false", "fALSE"])
def test_false_is_case_insensitive(literal):
    assert ids(f"deletedFlag={literal}") == [1, 3, 4]


def test_boolean_not_equal():
    assert ids("deletedFlag != True") == [1, 3, 4]


def test_null_comparisons():
    assert ids("city = null") == [3]
    assert ids("city != null") == [1, 2, 4]
    assert ids("status = NULL") == [3]
    # A key that is absent from the record reads as null.
    assert ids("revenue = null") == [3, 4]
    assert ids("noSuchField = null") == [1, 2, 3, 4]
    assert ids("noSuchField != null") == []


def test_nulls_never_satisfy_other_operators():
    """UNVERIFIED: SQL three-valued logic, a null field fails != / not like / not in / not contains."""
    assert ids('city != "Berlin"') == [1, 4]
    assert ids('city not like "B%"') == [1, 4]
    assert ids('city not contains "x"') == [1, 2, 4]
    assert ids('city not in ("Berlin")') == [1, 4]
    assert ids("revenue < 1000000") == [1, 2]


def test_value_null_inside_in_list_matches_nothing():
    assert ids("city in (null)") == []


# --------------------------------------------------------------------------------------------
# Strings: quotes, escapes, special characters
# --------------------------------------------------------------------------------------------


def test_single_and_double_quotes_are_equivalent():
    assert ids("identifier = 'ACME'") == [1]
    assert ids('identifier = "ACME"') == [1]


def test_other_quote_char_needs_no_escape():
    assert ids("""name = "O'Brien \\"Quoted\\" \\\\ Co\"""") == [3]
    assert ids('name like "O\'Brien%"') == [3]
    assert ids("name like '%\"Quoted\"%'") == [3]


def test_backslash_escapes():
    """UNVERIFIED: backslash escaping inside quoted values (API-NOTES §12 question 1)."""
    # name is:  O'Brien "Quoted" \ Co
    assert ids(r"""name = 'O\'Brien "Quoted" \\ Co'""") == [3]
    assert ids(r'''name = "O'Brien \"Quoted\" \\ Co"''') == [3]
    assert ids(r"""name = 'O\'Brien \"Quoted\" \\ Co'""") == [3]
    assert ids(r'name contains "\\"') == [3]
    assert ids(r'name contains "\\\\"') == []


def test_spaces_inside_quotes_are_significant():
    records = [{"id": 1, "name": " padded "}, {"id": 2, "name": "padded"}]
    pred = compile_conditions('name = " padded "')
    assert [r["id"] for r in records if pred(r)] == [1]


def test_escaped_quote_does_not_end_the_string():
    assert ids(r'identifier = "AC\"ME" OR id = 1') == [1]


def test_values_with_percent_and_brackets_are_literal_in_equals():
    """UNVERIFIED: "=" without "*" is SQL "=", where LIKE's wildcards are plain characters."""
    assert ids('name = "100% [Bracket] Widgets"') == [4]
    assert ids('name = "100_ [Bracket] Widgets"') == []
    # A string that looks like a datetime literal is still a string.
    assert ids('name = "[2024-01-01]"') == []


def test_operator_words_inside_strings_are_not_keywords():
    records = [{"id": 1, "name": "this and that or (other)"}]
    pred = compile_conditions('name = "this and that or (other)"')
    assert pred(records[0]) is True


# --------------------------------------------------------------------------------------------
# contains / like
# --------------------------------------------------------------------------------------------


def test_contains_and_not_contains():
    assert ids('name contains "corp"') == [1]
    assert ids('name CONTAINS "GMBH"') == [2]
    assert ids('city contains "tré"') == [1, 4]
    assert ids('name not contains "o"') == [2, 4]
    assert ids('name NOT CONTAINS "o"') == [2, 4]


def test_contains_is_like_with_wildcards_and_classes():
    """UNVERIFIED: contains is LIKE "%value%" (API-NOTES §4.2, the "[[]" rule), "*" a wildcard too."""
    assert ids('name contains "A*e"') == [1, 4]  # "Acme", "[Bracket"
    assert ids('name contains "%"') == [1, 2, 3, 4]
    assert ids('name contains "c_rp"') == [1]
    assert ids('name contains "[Bracket]"') == [1, 2, 3, 4]  # a class: any one of B r a c k e t
    assert ids('name contains "100%"') == [4]
    assert ids('name contains "]"') == [4]  # "]" outside a class is itself


def test_contains_escapes_make_wildcards_literal():
    assert ids('name contains "[[]Bracket]"') == [4]
    assert ids('name contains "0[%] [[]"') == [4]
    assert ids('name contains "[%]"') == [4]
    assert ids('name contains "c[_]rp"') == []
    assert ids('name contains "A[*]e"') == []
    assert ids('name not contains "[%]"') == [1, 2, 3]


def test_string_equals_with_a_star_is_a_like():
    """UNVERIFIED: a string holding "*" "accepts * for wildcards" (Developer Guide), read as LIKE."""
    assert ids('name = "acme*"') == [1]
    assert ids('identifier = "*C*"') == [1, 4]
    assert ids('name != "acme*"') == [2, 3, 4]
    assert ids('name = "acme[*]"') == []
    assert ids('identifier = "[a]CME*"') == [1]


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ('name like "acme%"', [1]),
        ('name like "%GMBH"', [2]),
        ('name like "%e%"', [1, 2, 3, 4]),
        ('name like "Acme Corp"', [1]),
        ('name like "Acme"', []),
        ('name like "a*p"', [1]),
        ('name like "*widgets"', [4]),
        ('name LIKE "m%"', [2]),
        ('city like "montréal"', [1, 4]),
        ('name not like "%e%"', []),
        ('name NOT LIKE "a%"', [2, 3, 4]),
    ],
)
def test_like(conditions, expected):
    assert ids(conditions) == expected


def test_like_sql_server_extras():
    """UNVERIFIED: SQL Server LIKE's _ and [...] inferred from the documented "[[]" escaping rule."""
    assert ids('identifier like "AC_E"') == [1]
    assert ids('identifier like "[am]%"') == [1, 2]
    assert ids('identifier like "[^am]%"') == [3, 4]
    assert ids('identifier like "[a-c]%"') == [1]
    assert ids('name like "%[[]Bracket]%"') == [4]
    assert ids('name like "100[%] %"') == [4]
    assert ids('name like "1000%"') == []
    # An unclosed "[" is matched literally rather than failing.
    records = [{"id": 1, "name": "a[b"}]
    assert compile_conditions('name like "a[b"')(records[0]) is True


def test_like_matches_across_newlines():
    assert compile_conditions('notes like "a%b"')({"notes": "a\nb"}) is True


def test_like_on_numbers_uses_their_text():
    assert ids('employees like "4%"') == [1]


# --------------------------------------------------------------------------------------------
# in / not in
# --------------------------------------------------------------------------------------------


def test_in_and_not_in():
    assert ids("id in (1, 3)") == [1, 3]
    assert ids("id in(1,3)") == [1, 3]
    assert ids("id IN (4)") == [4]
    assert ids("id not in (1,3)") == [2, 4]
    assert ids("id NOT IN (1, 2, 3, 4)") == []
    assert ids("status/id in (2, 99)") == [2]
    # status is null on record 3: not in does not select it.
    assert ids("status/id not in (2)") == [1, 4]


def test_in_with_strings_and_mixed_quotes_is_case_insensitive():
    assert ids("""identifier in ("acme", 'muller', "nobody")""") == [1, 2]
    assert ids("""identifier not in ('acme', "MULLER")""") == [3, 4]


def test_in_with_decimals_and_negatives():
    assert ids("employees in (-3, 40)") == [1, 4]
    assert ids("revenue in (1500.5, 99)") == [1, 2]


def test_in_with_a_long_id_list():
    pred = compile_conditions("id in (" + ",".join(str(i) for i in range(2, 2000)) + ")")
    assert [r["id"] for r in RECORDS if pred(r)] == [2, 3, 4]


# --------------------------------------------------------------------------------------------
# Datetimes and lastUpdated
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ("lastUpdated > [2025-01-02T03:04:05Z]", [3]),
        ("lastUpdated >= [2025-01-02T03:04:05Z]", [1, 3]),
        ("lastUpdated = [2025-01-02T03:04:05Z]", [1]),
        ("lastUpdated != [2025-01-02T03:04:05Z]", [2, 3, 4]),
        ("lastUpdated < [2024-01-01T00:00:00Z]", [4]),
        ("lastUpdated>[2024-01-01]", [1, 2, 3]),
        ("lastUpdated >= [2023-12-31]", [1, 2, 3, 4]),
        # Naive datetimes are UTC, with or without fractional seconds (django-connectwise's format).
        ("lastUpdated > [2025-01-02T03:04:05]", [3]),
        ("lastUpdated > [2025-01-02T03:04:05.500000]", [3]),
        ("lastUpdated > [2025-01-02T03:04:05.5Z]", [3]),
        # An explicit offset is converted: 05:04:05+02:00 is 03:04:05Z.
        ("lastUpdated = [2025-01-02T05:04:05+02:00]", [1]),
        ("lastUpdated > [2025-01-02T03:04]", [1, 3]),
    ],
)
def test_datetime_comparisons(conditions, expected):
    assert ids(conditions) == expected


def test_datetimes_are_compared_as_datetimes_not_text():
    # Text comparison would put "2025-01-02T03:04:05.100Z" after "2025-01-02T03:04:05Z" ('.' < 'Z').
    record = {"id": 1, "_info": {"lastUpdated": "2025-01-02T03:04:05.100Z"}}
    assert compile_conditions("lastUpdated > [2025-01-02T03:04:05Z]")(record) is True
    assert compile_conditions("lastUpdated < [2025-01-02T03:04:05.2Z]")(record) is True


def test_datetime_in_list():
    assert ids("lastUpdated in ([2023-12-31], [2025-01-02T03:04:06Z])") == [3, 4]


def test_datetime_against_non_datetime_values_never_matches():
    records = [{"id": 1, "d": "not a date"}, {"id": 2, "d": None}, {"id": 3, "d": 17}]
    pred = compile_conditions("d < [2100-01-01]")
    assert [r["id"] for r in records if pred(r)] == []


def test_nested_info_path_also_works():
    assert ids("_info/lastUpdated > [2025-01-01]") == [1, 3]
    assert ids('_info/updatedBy = "JDOE"') == [1]


# --------------------------------------------------------------------------------------------
# Nested paths, logic, precedence
# --------------------------------------------------------------------------------------------


def test_nested_paths():
    assert ids('status/name = "active"') == [1, 4]
    assert ids("status/id = 2") == [2]
    assert ids('status/missing/deeper = "x"') == []
    # Paths never go into arrays in conditions (that is childConditions).
    record = {"id": 1, "items": [{"value": "x"}]}
    assert compile_conditions('items/value = "x"')(record) is False


def test_and_or_are_case_insensitive():
    assert ids("id = 1 and deletedFlag = False") == [1]
    assert ids("id = 1 AND deletedFlag = True") == []
    assert ids("id = 1 Or id = 2") == [1, 2]
    assert ids("id = 1 OR id = 2 or id = 4") == [1, 2, 4]
    assert ids("id >= 1 and id <= 3 AND deletedFlag = false") == [1, 3]


def test_and_binds_tighter_than_or():
    # id=1 OR (id=2 AND deletedFlag=False): the AND fails for 2, so only 1.
    assert ids("id = 1 OR id = 2 AND deletedFlag = False") == [1]
    # (id=2 AND deletedFlag=True) OR id=4
    assert ids("id = 2 AND deletedFlag = True OR id = 4") == [2, 4]


def test_parentheses_override_precedence():
    assert ids("(id = 1 OR id = 2) AND deletedFlag = False") == [1]
    assert ids("(id = 1 OR id = 2) AND (deletedFlag = True OR id = 3)") == [2]
    assert ids("((id = 4))") == [4]
    assert ids("(status/id = 1 and (city = 'Montréal' or id = 3)) or (id=2)") == [1, 2, 4]


def test_django_connectwise_style_wrapped_conditions():
    assert ids("(lastUpdated>[2024-01-01T00:00:00.000000] and deletedFlag=False)") == [1, 3]
    assert ids("(type/identifier='S' or type/identifier='O')") == []


def test_compile_once_reuse_many():
    pred = compile_conditions('status/name = "Active"')
    assert [pred(r) for r in RECORDS] == [True, False, False, True]
    assert [pred(r) for r in RECORDS] == [True, False, False, True]
