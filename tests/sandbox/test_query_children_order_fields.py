"""Tests for cw_sandbox.query: childConditions, orderBy, fields and paths (conditions: test_query.py)."""

from __future__ import annotations

import pytest
from query_support import RECORDS

from cw_sandbox.query import (
    QueryError,
    compile_child_conditions,
    project_fields,
    resolve_path,
    sort_records,
)

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
