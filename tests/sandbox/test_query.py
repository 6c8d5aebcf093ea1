"""Tests for cw_sandbox.query: the sandbox's ConnectWise conditions/childConditions/orderBy/fields engine.

Several behaviours pinned here are our reading of undocumented ConnectWise behaviour, NOT checked
against a live server (API-NOTES §4.2 and §12): backslash escapes inside quoted values, ``_`` and
``[...]`` in LIKE, and SQL three-valued logic for nulls with ``!=``/``not like``/``not in``. Those
tests carry "UNVERIFIED" in their docstring so they are easy to revisit once a tenant is available.
"""

from __future__ import annotations

import pytest

from cw_sandbox.query import (
    QueryError,
    compile_child_conditions,
    compile_conditions,
    project_fields,
    resolve_path,
    sort_records,
)

RECORDS: list[dict] = [
    {
        "id": 1,
        "identifier": "ACME",
        "name": "Acme Corp",
        "city": "Montréal",
        "revenue": 1500.5,
        "employees": 40,
        "deletedFlag": False,
        "status": {"id": 1, "name": "Active"},
        "_info": {"lastUpdated": "2025-01-02T03:04:05Z", "updatedBy": "jdoe"},
    },
    {
        "id": 2,
        "identifier": "MULLER",
        "name": "Müller GmbH",
        "city": "Berlin",
        "revenue": 99.0,
        "employees": 5,
        "deletedFlag": True,
        "status": {"id": 2, "name": "Inactive"},
        "_info": {"lastUpdated": "2024-06-30T23:59:59Z", "updatedBy": None},
    },
    {
        "id": 3,
        "identifier": "OBRIEN",
        "name": 'O\'Brien "Quoted" \\ Co',
        "city": None,
        "revenue": None,
        "employees": 0,
        "deletedFlag": False,
        "status": None,
        "_info": {"lastUpdated": "2025-01-02T03:04:06Z"},
    },
    {
        "id": 4,
        "identifier": "PCT",
        "name": "100% [Bracket] Widgets",
        "city": "montréal",
        "employees": -3,
        "deletedFlag": False,
        "status": {"id": 1, "name": "Active"},
        "_info": {"lastUpdated": "2023-12-31T00:00:00Z"},
    },
]


def ids(conditions: str | None) -> list[int]:
    pred = compile_conditions(conditions)
    return [r["id"] for r in RECORDS if pred(r)]


def error(conditions: str) -> str:
    with pytest.raises(QueryError) as exc_info:
        compile_conditions(conditions)
    assert isinstance(exc_info.value, ValueError)
    return str(exc_info.value)


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


def test_values_with_percent_and_brackets_are_literal_in_equals_and_contains():
    assert ids('name = "100% [Bracket] Widgets"') == [4]
    assert ids('name contains "100%"') == [4]
    assert ids('name contains "[Bracket]"') == [4]
    assert ids('name contains "]"') == [4]
    assert ids('name contains "%"') == [4]
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


def test_contains_treats_wildcards_literally():
    assert ids('name contains "A*e"') == []


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


# --------------------------------------------------------------------------------------------
# childConditions
# --------------------------------------------------------------------------------------------

CONTACTS: list[dict] = [
    {
        "id": 10,
        "firstName": "Ann",
        "communicationItems": [
            {"type": {"id": 1, "name": "Email"}, "value": "a@b.com", "communicationType": "Email"},
            {"type": {"id": 2, "name": "Direct"}, "value": "555-0100", "communicationType": "Phone"},
        ],
    },
    {
        "id": 11,
        "firstName": "Bob",
        # Bob's value "a@b.com" sits on a Phone row and his Email is another address: a contact
        # that only matches if the terms may be satisfied by *different* elements.
        "communicationItems": [
            {"type": {"id": 2, "name": "Direct"}, "value": "a@b.com", "communicationType": "Phone"},
            {"type": {"id": 1, "name": "Email"}, "value": "bob@b.com", "communicationType": "Email"},
        ],
    },
    {"id": 12, "firstName": "Cy", "communicationItems": []},
    {"id": 13, "firstName": "Di"},
]


def child_ids(child_conditions: str | None) -> list[int]:
    pred = compile_child_conditions(child_conditions)
    return [r["id"] for r in CONTACTS if pred(r)]


def test_child_conditions_one_element_must_satisfy_all_terms():
    assert child_ids(
        'communicationItems/value = "a@b.com" AND communicationItems/communicationType = "Email"'
    ) == [10]


def test_child_conditions_single_term_and_case():
    assert child_ids('communicationItems/value = "A@B.COM"') == [10, 11]
    assert child_ids('communicationItems/value like "%@b.com"') == [10, 11]
    assert child_ids('communicationItems/value contains "bob"') == [11]


def test_child_conditions_nested_subpath_and_or():
    assert child_ids('communicationItems/type/name = "Email" AND communicationItems/value like "bob%"') == [
        11
    ]
    assert child_ids(
        '(communicationItems/value = "555-0100" OR communicationItems/value = "bob@b.com")'
        ' AND communicationItems/communicationType != "Fax"'
    ) == [10, 11]


def test_child_conditions_empty_or_missing_array_never_matches():
    assert child_ids("communicationItems/value = null") == []
    assert child_ids("communicationItems/value != null") == [10, 11]


@pytest.mark.parametrize("child_conditions", [None, "", "  "])
def test_empty_child_conditions_match_everything(child_conditions):
    assert child_ids(child_conditions) == [10, 11, 12, 13]


def test_child_conditions_over_two_arrays():
    record = {
        "id": 1,
        "communicationItems": [{"value": "x@y.com"}],
        "customFields": [],
    }
    pred = compile_child_conditions('communicationItems/value = "x@y.com" OR customFields/caption = "Tom"')
    assert pred(record) is True
    pred = compile_child_conditions('communicationItems/value = "x@y.com" AND customFields/caption = "Tom"')
    assert pred(record) is False
    record["customFields"] = [{"caption": "Other"}, {"caption": "tom"}]
    assert pred(record) is True


def test_child_conditions_errors():
    with pytest.raises(QueryError, match="childConditions field 'value' at position 0 must be"):
        compile_child_conditions('value = "a@b.com"')
    with pytest.raises(QueryError, match="Unterminated string"):
        compile_child_conditions('communicationItems/value = "a@b.com')


# --------------------------------------------------------------------------------------------
# orderBy
# --------------------------------------------------------------------------------------------

SORTABLE: list[dict] = [
    {"id": 1, "name": "beta", "contact": {"name": "Zed"}, "rank": 2},
    {"id": 2, "name": "Alpha", "contact": {"name": "amy"}, "rank": None},
    {"id": 3, "name": "alpha", "contact": None, "rank": 1},
    {"id": 4, "name": "Gamma", "contact": {"name": "Bob"}, "rank": 2},
    {"id": 5, "name": None, "contact": {"name": "bob"}, "rank": 1},
]


def order(order_by: str | None, records: list[dict] = SORTABLE) -> list[int]:
    return [r["id"] for r in sort_records(records, order_by)]


def test_default_order_is_id_ascending():
    shuffled = [SORTABLE[3], SORTABLE[0], SORTABLE[4], SORTABLE[2], SORTABLE[1]]
    assert order(None, shuffled) == [1, 2, 3, 4, 5]
    assert order("", shuffled) == [1, 2, 3, 4, 5]


def test_sort_records_returns_a_new_list():
    records = list(reversed(SORTABLE))
    result = sort_records(records, "id asc")
    assert result is not records
    assert [r["id"] for r in records] == [5, 4, 3, 2, 1]


def test_order_by_string_is_case_insensitive_with_nulls_first_and_id_tiebreak():
    assert order("name asc") == [5, 2, 3, 1, 4]
    assert order("name") == [5, 2, 3, 1, 4]
    assert order("name ASC") == [5, 2, 3, 1, 4]


def test_order_by_desc_puts_nulls_last_and_still_breaks_ties_by_id_ascending():
    assert order("name desc") == [4, 1, 2, 3, 5]
    assert order("id desc") == [5, 4, 3, 2, 1]


def test_ties_are_broken_by_id_whatever_the_input_order():
    shuffled = [SORTABLE[3], SORTABLE[0], SORTABLE[4], SORTABLE[2], SORTABLE[1]]
    assert order("rank asc", shuffled) == [2, 3, 5, 1, 4]
    assert order("rank desc", shuffled) == [1, 4, 3, 5, 2]


def test_order_by_nested_path():
    assert order("contact/name asc") == [3, 2, 4, 5, 1]
    assert order("contact/name desc") == [1, 4, 5, 2, 3]


def test_order_by_multiple_keys_with_mixed_directions():
    assert order("rank asc, name desc") == [2, 3, 5, 4, 1]
    assert order("rank desc,id desc") == [4, 1, 5, 3, 2]
    assert order("rank desc, id asc") == [1, 4, 3, 5, 2]


def test_order_by_lastupdated_pseudo_field():
    assert order("lastUpdated desc", RECORDS) == [3, 1, 2, 4]


@pytest.mark.parametrize(
    ("order_by", "message"),
    [
        ("name up", "Unknown sort direction 'up' in orderBy"),
        ("name asc desc", "Invalid sort key 'name asc desc' in orderBy"),
        ("name asc,,id", "Empty sort key in orderBy"),
        ("name asc,", "Empty sort key in orderBy"),
        ("na-me asc", "Invalid field name 'na-me'"),
    ],
)
def test_order_by_errors(order_by, message):
    with pytest.raises(QueryError) as exc_info:
        sort_records(SORTABLE, order_by)
    assert str(exc_info.value).startswith(message)


# --------------------------------------------------------------------------------------------
# fields
# --------------------------------------------------------------------------------------------

FULL: dict = {
    "id": 7,
    "identifier": "ACME",
    "name": "Acme",
    "status": {"id": 1, "name": "Active", "_info": {"status_href": "x"}},
    "site": None,
    "communicationItems": [{"value": "a@b.com", "defaultFlag": True}, {"value": "555", "defaultFlag": False}],
    "_info": {"lastUpdated": "2025-01-02T03:04:05Z", "updatedBy": "jdoe"},
}


def test_fields_none_returns_the_record_unchanged():
    assert project_fields(FULL, None) is FULL
    assert project_fields(FULL, "") is FULL


def test_fields_projects_top_level_and_nested_paths():
    assert project_fields(FULL, "id,name,status/id,_info/lastUpdated") == {
        "id": 7,
        "name": "Acme",
        "status": {"id": 1},
        "_info": {"lastUpdated": "2025-01-02T03:04:05Z"},
    }


def test_fields_result_is_a_new_dict_and_keeps_record_key_order():
    result = project_fields(FULL, " _info , id ")
    assert list(result) == ["id", "_info"]
    assert result["_info"] == FULL["_info"]
    result["id"] = 99
    assert FULL["id"] == 7


def test_fields_whole_object_wins_over_sub_path():
    assert project_fields(FULL, "status/id,status") == {"status": FULL["status"]}
    assert project_fields(FULL, "status,status/id") == {"status": FULL["status"]}


def test_fields_deeply_nested_and_missing_paths():
    assert project_fields(FULL, "status/_info/status_href,nope,status/nope,name/first") == {
        "status": {"_info": {"status_href": "x"}}
    }


def test_fields_null_reference_stays_null():
    assert project_fields(FULL, "id,site/id") == {"id": 7, "site": None}


def test_fields_through_an_array_projects_each_element():
    assert project_fields(FULL, "communicationItems/value") == {
        "communicationItems": [{"value": "a@b.com"}, {"value": "555"}]
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("id,,name", "Empty field name in fields"),
        ("id,", "Empty field name in fields"),
        ("status//id", "Invalid field name 'status//id'"),
        ("id name", "Invalid field name 'id name'"),
    ],
)
def test_fields_errors(fields, message):
    with pytest.raises(QueryError) as exc_info:
        project_fields(FULL, fields)
    assert str(exc_info.value).startswith(message)


# --------------------------------------------------------------------------------------------
# resolve_path
# --------------------------------------------------------------------------------------------


def test_resolve_path():
    assert resolve_path(FULL, "id") == 7
    assert resolve_path(FULL, "status/name") == "Active"
    assert resolve_path(FULL, "status/_info/status_href") == "x"
    assert resolve_path(FULL, "lastUpdated") == "2025-01-02T03:04:05Z"
    assert resolve_path(FULL, "_info/updatedBy") == "jdoe"
    assert resolve_path(FULL, "site/id") is None
    assert resolve_path(FULL, "missing") is None
    assert resolve_path(FULL, "name/first") is None
    assert resolve_path(FULL, "communicationItems/value") is None
    assert resolve_path({"id": 1}, "lastUpdated") is None
