"""conditions, orderBy, fields and query parameter names as strictly as ConnectWise checks them.

Live answers quoted in public code: ``{"code": "ApiFindCondition", "message": "invoiceDate is not a
recognized name."}`` and ``"board/name is not a recognized name."`` for unknown names (also for a
child collection such as ``types/name`` in ``conditions``), and ``ApiFindCondition: Condition Syntax
Error (Line 1, Character 9) - Unrecognized value: ...`` for malformed text. Neither carries ``errors``.
"""

from __future__ import annotations

import pytest


def _find_error(resp) -> str:
    assert resp.status_code == 400, (resp.status_code, resp.text)
    body = resp.json()
    assert set(body) == {"code", "message"}, body
    assert body["code"] == "ApiFindCondition"
    return body["message"]


@pytest.mark.parametrize(("path", "conditions", "name"), [
    ("company/companies", 'nosuch = "x"', "nosuch"),
    ("company/contacts", 'company/nosuch = "x"', "company/nosuch"),
    ("company/contacts", 'name = "Ada"', "name"),  # contacts have firstName/lastName, no name
    ("company/contacts", 'types/name = "Primary"', "types/name"),  # a child collection
    ("company/contacts", 'communicationItems/value = "a@b.example"', "communicationItems/value"),  # an array
    ("company/companies", '_info/lastUpdated > [2024-01-01T00:00:00Z]', "_info/lastUpdated"),
    ("sales/opportunities", 'id = 1 and (status/name = "Open" or nosuch/id = 2)', "nosuch/id"),
])
def test_unknown_names_in_conditions_are_not_recognized(cw_sandbox, company, path, conditions, name):
    for target in (path, f"{path}/count"):
        message = _find_error(cw_sandbox.api("GET", target, params={"conditions": conditions}))
        assert message == f"{name} is not a recognized name."


@pytest.mark.parametrize("order_by", ["nosuch asc", "name desc, nosuch", "types/name", "company/nosuch desc"])
def test_order_by_an_unknown_name_is_not_recognized(cw_sandbox, company, order_by):
    message = _find_error(cw_sandbox.api("GET", "company/contacts", params={"orderBy": order_by}))
    assert message.endswith("is not a recognized name.")


@pytest.mark.parametrize("conditions", [
    'id = "abc"', 'deletedFlag = "yes"', "deletedFlag = 1", 'lastUpdated > "2024-01-01"', "name = 5",
    'status/id in (1, "two")', "identifier like 5", "id like \"1%\"",
])
def test_a_value_of_the_wrong_type_is_400(cw_sandbox, company, conditions):
    message = _find_error(cw_sandbox.api("GET", "company/companies", params={"conditions": conditions}))
    assert message


def test_an_enum_value_outside_the_enum_is_400(cw_sandbox_demo):
    message = _find_error(cw_sandbox_demo.api("GET", "procurement/products",
                                              params={"conditions": 'billableOption = "Sometimes"'}))
    assert "enum" in message.lower()
    ok = cw_sandbox_demo.api("GET", "procurement/products", params={"conditions": 'billableOption = "Billable"'})
    assert ok.status_code == 200 and ok.json()


def test_well_typed_conditions_on_known_names_still_filter(cw_sandbox, company):
    comp, contact = company
    api = cw_sandbox.api
    cases = {
        ("company/contacts", f"company/id = {comp['id']}"): [contact["id"]],
        ("company/contacts", 'company/identifier = "acme" and firstName like "Ad%"'): [contact["id"]],
        ("company/companies", f"id in ({comp['id']}, 999) and deletedFlag = false"): [comp["id"]],
        ("company/companies", 'status/name = "Active" and lastUpdated > [2020-01-01T00:00:00Z]'): [comp["id"]],
        ("company/companies", "country/id != null"): [comp["id"]],
    }
    for (path, conditions), expected in cases.items():
        resp = api("GET", path, params={"conditions": conditions})
        assert resp.status_code == 200, (conditions, resp.text)
        assert [r["id"] for r in resp.json()] == expected, conditions
    child = api("GET", "company/contacts", params={"childConditions": 'communicationItems/value = "ada@acme.example"'})
    assert [r["id"] for r in child.json()] == [contact["id"]]
    unknown_child = api("GET", "company/contacts", params={"childConditions": 'communicationItems/nosuch = "x"'})
    assert _find_error(unknown_child) == "communicationItems/nosuch is not a recognized name."


@pytest.mark.parametrize(("conditions", "character"), [
    ("name = = 1", 8),
    ('name = "abc', 8),
    ("id = 1 id = 2", 8),
    ("(id = 1", 1),
    ("id = 4ANDobjectId = 5", 6),
])
def test_malformed_conditions_are_api_find_condition_without_errors_naming_the_position(cw_sandbox, conditions,
                                                                                          character):
    message = _find_error(cw_sandbox.api("GET", "company/companies", params={"conditions": conditions}))
    assert message.startswith(f"Condition Syntax Error (Line 1, Character {character})"), message


def test_malformed_child_conditions_and_order_by_are_api_find_condition(cw_sandbox):
    assert _find_error(cw_sandbox.api("GET", "company/contacts", params={"childConditions": "communicationItems/"}))
    assert _find_error(cw_sandbox.api("GET", "company/contacts", params={"orderBy": "firstName sideways"}))


@pytest.mark.parametrize(("fields", "expected"), [
    ("id,nosuch", {"id"}), ("id,company/nosuch,company/id", {"id", "company"}), ("firstName,_info/lastUpdated",
                                                                              {"firstName"}),
    ("communicationItems/nosuch,lastName", {"lastName"}), ("*", {"id"}), ("nosuch", {"id"})])
def test_fields_with_an_unknown_name_drops_it(cw_sandbox, company, fields, expected):
    """Public code describing live answers: an unrecognized ``fields`` name is silently dropped;
    after 2018.4 ``fields=*`` answered ids only (a public issue)."""
    rows = cw_sandbox.api("GET", "company/contacts", params={"fields": fields})
    assert rows.status_code == 200
    assert set(rows.json()[0]) == expected
    one = cw_sandbox.api("GET", f"company/contacts/{company[1]['id']}", params={"fields": fields})
    assert one.status_code == 200 and set(one.json()) == expected
    if "company" in expected:
        assert rows.json()[0]["company"] == {"id": company[0]["id"]}


def test_a_malformed_fields_list_is_400(cw_sandbox, company):
    assert _find_error(cw_sandbox.api("GET", "company/contacts", params={"fields": "id,,name"}))


def test_query_parameter_names_are_case_insensitive(cw_sandbox, company):
    comp, contact = company
    api = cw_sandbox.api
    for name in ("conditions", "CONDITIONS", "Conditions"):
        rows = api("GET", "company/states", params={name: 'identifier = "TX"'}).json()
        assert [r["identifier"] for r in rows] == ["TX"], name
    assert len(api("GET", "company/states", params={"pagesize": 5}).json()) == 5
    assert len(api("GET", "company/states", params={"PAGESIZE": 5, "PAGE": 2}).json()) == 5
    rows = api("GET", "company/states", params={"orderby": "identifier desc", "FIELDS": "identifier",
                                                "pageSize": 2}).json()
    assert rows == [{"identifier": "WY"}, {"identifier": "WV"}]
    found = api("GET", "company/contacts", params={"childconditions": 'communicationItems/value = "ada@acme.example"'})
    assert [r["id"] for r in found.json()] == [contact["id"]]
    assert api("GET", "company/states/count", params={"Conditions": 'identifier = "TX"'}).json() == {"count": 1}
    resp = api("GET", "company/states", params={"pagesize": 1000, "pageid": 3},
               headers={"pagination-type": "forward-only"})
    assert resp.json()[0]["id"] == 4
