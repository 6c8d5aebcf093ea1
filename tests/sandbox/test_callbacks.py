"""/system/callbacks: registration CRUD against the official CallbackEntry schema, and ObjectExists."""

from __future__ import annotations

import pytest
from cw_helpers import assert_matches_schema, field_errors

HOOK = "https://colcw.example/hooks/cw/abc123"


def register(sandbox, **overrides):
    body = {"url": HOOK, "type": "company", "level": "owner", "objectId": 1, "description": "colcw companies"}
    body.update(overrides)
    return sandbox.api("POST", "system/callbacks", json=body)


def test_a_registration_reads_back_in_the_official_shape(cw_sandbox):
    created = register(cw_sandbox)
    assert created.status_code == 201
    entry = created.json()
    assert_matches_schema(entry, "CallbackEntry")
    api_member = cw_sandbox.api("GET", "system/members", params={"conditions": 'identifier="APIMember"'}).json()[0]
    assert {k: entry[k] for k in ("url", "type", "level", "objectId", "description", "inactiveFlag", "memberId")} == {
        "url": HOOK, "type": "company", "level": "owner", "objectId": 1, "description": "colcw companies",
        "inactiveFlag": False, "memberId": api_member["id"]}
    assert entry["_info"]["enteredBy"] == "APIMember"

    listed = cw_sandbox.api("GET", "system/callbacks").json()
    assert_matches_schema(listed, "CallbackEntry")
    assert listed == [entry]
    one = cw_sandbox.api("GET", f"system/callbacks/{entry['id']}")
    assert one.status_code == 200 and one.json() == entry
    assert cw_sandbox.api("GET", "system/callbacks/count").json() == {"count": 1}


def test_callbacks_are_found_by_url_conditions_as_integrations_look_them_up(cw_sandbox):
    mine = register(cw_sandbox).json()
    register(cw_sandbox, url="https://other.example/hook")
    rows = cw_sandbox.api("GET", "system/callbacks", params={"conditions": 'url contains "colcw.example"'}).json()
    assert [r["id"] for r in rows] == [mine["id"]]


def test_registering_the_same_url_type_level_and_object_twice_is_object_exists(cw_sandbox):
    first = register(cw_sandbox).json()
    again = register(cw_sandbox, type="Company", level="OWNER", description="another description")
    assert field_errors(again) == {"url": "ObjectExists"}
    assert f"id {first['id']}" in again.json()["errors"][0]["message"]
    assert cw_sandbox.api("GET", "system/callbacks/count").json() == {"count": 1}
    # Another type, level, object or URL is another registration.
    for other in ({"type": "contact"}, {"level": "company", "objectId": 5}, {"url": HOOK + "x"}):
        assert register(cw_sandbox, **other).status_code == 201, other


def test_an_inactive_registration_still_counts_as_existing(cw_sandbox):
    entry = register(cw_sandbox).json()
    patched = cw_sandbox.api("PATCH", f"system/callbacks/{entry['id']}",
                             json=[{"op": "replace", "path": "inactiveFlag", "value": True}])
    assert patched.status_code == 200 and patched.json()["inactiveFlag"] is True
    assert field_errors(register(cw_sandbox)) == {"url": "ObjectExists"}


def test_an_edit_that_would_duplicate_another_registration_is_object_exists(cw_sandbox):
    register(cw_sandbox)
    other = register(cw_sandbox, type="contact").json()
    resp = cw_sandbox.api("PATCH", f"system/callbacks/{other['id']}",
                          json=[{"op": "replace", "path": "type", "value": "company"}])
    assert field_errors(resp) == {"url": "ObjectExists"}
    assert cw_sandbox.api("GET", f"system/callbacks/{other['id']}").json()["type"] == "contact"
    # Saving a registration unchanged is not a duplicate of itself.
    same = cw_sandbox.api("PUT", f"system/callbacks/{other['id']}",
                          json={k: other[k] for k in ("url", "type", "level", "objectId")})
    assert same.status_code == 200


def test_url_type_level_and_object_id_are_required(cw_sandbox):
    resp = cw_sandbox.api("POST", "system/callbacks", json={"description": "nothing else"})
    assert field_errors(resp) == {"url": "NullValue", "type": "NullValue", "level": "NullValue",
                                  "objectId": "NullValue"}


@pytest.mark.parametrize(("overrides", "field", "code"), [
    ({"url": "not a url"}, "url", "InvalidObject"),
    ({"url": "ftp://colcw.example/hook"}, "url", "InvalidObject"),
    ({"level": "everything"}, "level", "InvalidObject"),
    ({"type": "opportunity", "level": "territory", "objectId": 3}, "level", "InvalidObject"),
    ({"level": "company", "objectId": 0}, "objectId", "InvalidObject"),
    ({"objectId": -1}, "objectId", "InvalidObject"),
    ({"objectId": "one"}, "objectId", "InvalidObject"),
    ({"description": "d" * 101}, "description", "MaxLengthField"),
    ({"inactiveFlag": "no"}, "inactiveFlag", "InvalidObject"),
])
def test_bad_values_are_refused_field_by_field(cw_sandbox, overrides, field, code):
    assert field_errors(register(cw_sandbox, **overrides)) == {field: code}
    assert cw_sandbox.api("GET", "system/callbacks/count").json() == {"count": 0}


def test_types_the_sandbox_does_not_model_still_register(cw_sandbox):
    resp = register(cw_sandbox, type="ticket", level="board", objectId=12)
    assert resp.status_code == 201 and resp.json()["type"] == "ticket"


def test_put_replaces_patch_edits_and_delete_removes(cw_sandbox):
    entry = register(cw_sandbox).json()
    put = cw_sandbox.api("PUT", f"system/callbacks/{entry['id']}", json={
        "url": HOOK, "type": "company", "level": "company", "objectId": 42})
    assert put.status_code == 200
    assert_matches_schema(put.json(), "CallbackEntry")
    assert put.json()["level"] == "company" and "description" not in put.json()
    assert put.json()["memberId"] == entry["memberId"]
    bad_patch = cw_sandbox.api("PATCH", f"system/callbacks/{entry['id']}",
                               json=[{"op": "replace", "path": "url", "value": "nope"}])
    assert field_errors(bad_patch) == {"url": "InvalidObject"}
    assert cw_sandbox.api("DELETE", f"system/callbacks/{entry['id']}").status_code == 204
    assert cw_sandbox.api("GET", f"system/callbacks/{entry['id']}").status_code == 404
    assert cw_sandbox.api("GET", "system/callbacks").json() == []
    assert register(cw_sandbox).status_code == 201  # the URL is free again


def test_methods_follow_the_operation_index(cw_sandbox):
    entry = register(cw_sandbox).json()
    assert cw_sandbox.api("DELETE", "system/callbacks").status_code == 405
    assert cw_sandbox.api("POST", f"system/callbacks/{entry['id']}", json={}).status_code == 405


def test_registrations_need_api_credentials(cw_sandbox):
    resp = cw_sandbox.api("GET", "system/callbacks", auth=("sandbox+nobody", "wrong"))
    assert resp.status_code == 401
