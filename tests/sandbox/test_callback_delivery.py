"""Callback delivery: the signed message, which changes fire, retries, give-up, and never blocking a write."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import requests
from callback_receiver import fetch_key, signature_ok

FAST = {"retry_delays": [0.2, 0.4]}


def register(sandbox, url, ctype="company", level="owner", object_id=0):
    resp = sandbox.api("POST", "system/callbacks", json={"url": url, "type": ctype, "level": level,
                                                         "objectId": object_id})
    assert resp.status_code == 201, resp.text
    return resp.json()


def patch(sandbox, path, field, value):
    resp = sandbox.api("PATCH", path, json=[{"op": "replace", "path": field, "value": value}])
    assert resp.status_code == 200, resp.text


def rename(sandbox, company_id, name):
    resp = sandbox.api("PATCH", f"company/companies/{company_id}", json=[{"op": "replace", "path": "name",
                                                                          "value": name}])
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_an_api_write_posts_a_signed_message_with_the_record(cw_sandbox, company, receiver):
    comp, _contact = company
    register(cw_sandbox, receiver.url())
    updated = rename(cw_sandbox, comp["id"], "Acme Corporation")
    (call,) = receiver.wait_for(1)
    msg = call.json
    assert list(msg) == ["MessageId", "FromUrl", "CompanyId", "MemberId", "Action", "Type", "ID",
                         "ProductInstanceId", "PartnerId", "Entity", "Metadata"]
    assert {k: msg[k] for k in ("CompanyId", "MemberId", "Action", "Type", "ID")} == {
        "CompanyId": "sandbox", "MemberId": "APIMember", "Action": "updated", "Type": "company", "ID": comp["id"]}
    assert isinstance(msg["Entity"], str) and json.loads(msg["Entity"]) == updated
    assert json.loads(msg["Entity"]) == cw_sandbox.api("GET", f"company/companies/{comp['id']}").json()
    key_url = urlsplit(msg["Metadata"]["key_url"])
    assert f"{key_url.scheme}://{key_url.netloc}" == cw_sandbox.base_url
    assert call.headers["Content-Type"].startswith("application/json")
    key = fetch_key(call)  # no credentials needed, as for ConnectWise's key_url
    assert signature_ok(call, key)
    assert not signature_ok(call, key + "x")
    (entry,) = cw_sandbox.wait_for_deliveries()
    assert entry["state"] == "delivered" and entry["message_id"] == msg["MessageId"]
    assert [a["status"] for a in entry["attempts"]] == [200]


def test_added_updated_and_deleted_for_companies_contacts_and_opportunities(cw_sandbox_demo, receiver):
    sandbox = cw_sandbox_demo
    for ctype in ("company", "contact", "opportunity"):
        register(sandbox, receiver.url(f"/{ctype}"), ctype=ctype)
    new = sandbox.api("POST", "company/companies", json={"identifier": "NEWCO", "name": "New Co", "city": "Austin",
                                                         "state": "TX"}).json()
    contact = sandbox.api("POST", "company/contacts", json={"firstName": "Lin", "company": {"id": new["id"]}}).json()
    assert sandbox.api("DELETE", f"company/contacts/{contact['id']}").status_code == 204
    opp = sandbox.api("GET", "sales/opportunities", params={"pageSize": 1}).json()[0]
    assert sandbox.api("DELETE", f"sales/opportunities/{opp['id']}").status_code == 204
    assert sandbox.api("DELETE", f"company/companies/{new['id']}").status_code == 204
    sandbox.wait_for_deliveries()
    # In order for each URL; deliveries to different URLs run side by side.
    seen = {path: [(c.json["Action"], c.json["ID"]) for c in receiver.calls if c.path == path]
            for path in ("/company", "/contact", "/opportunity")}
    assert seen == {"/company": [("added", new["id"]), ("deleted", new["id"])],
                    "/contact": [("added", contact["id"]), ("deleted", contact["id"])],
                    "/opportunity": [("deleted", opp["id"])]}
    by_action = {(c.path, c.json["Action"]): c for c in receiver.calls}
    assert by_action[("/company", "deleted")].entity["deletedFlag"] is True  # ConnectWise keeps deleted companies
    assert by_action[("/contact", "deleted")].entity["firstName"] == "Lin"  # a deleted record's last state


def test_levels_and_object_ids_narrow_what_a_callback_hears(cw_sandbox_demo, receiver):
    sandbox = cw_sandbox_demo
    opps = sandbox.api("GET", "sales/opportunities", params={"pageSize": 1000}).json()
    first, second = opps[0], opps[1]
    lost = sandbox.api("GET", "sales/opportunities/statuses", params={"conditions": 'name="Lost"'}).json()[0]
    register(sandbox, receiver.url("/one"), "opportunity", "opportunity", first["id"])
    register(sandbox, receiver.url("/lost"), "opportunity", "status", lost["id"])
    register(sandbox, receiver.url("/company"), "contact", "company", first["company"]["id"])
    register(sandbox, receiver.url("/off"), "opportunity", "owner", 0)
    off = sandbox.api("GET", "system/callbacks", params={"conditions": 'url like "%/off"'}).json()[0]
    sandbox.api("PATCH", f"system/callbacks/{off['id']}", json=[{"op": "replace", "path": "inactiveFlag",
                                                                  "value": True}])
    patch(sandbox, f"sales/opportunities/{second['id']}", "status", {"name": "Lost"})
    patch(sandbox, f"sales/opportunities/{first['id']}", "status", {"name": "Won"})
    contact_of_first = first["contact"]["id"]
    patch(sandbox, f"company/contacts/{contact_of_first}", "title", "Buyer")
    other_contact = sandbox.api("GET", "company/contacts", params={
        "conditions": f"company/id != {first['company']['id']}", "pageSize": 1}).json()[0]
    patch(sandbox, f"company/contacts/{other_contact['id']}", "title", "Buyer")
    sandbox.wait_for_deliveries()
    heard = sorted((c.path, c.json["ID"]) for c in receiver.calls)
    assert heard == sorted([("/lost", second["id"]), ("/one", first["id"]), ("/company", contact_of_first)])


def test_product_lines_notify_their_opportunity(cw_sandbox_demo, receiver):
    sandbox = cw_sandbox_demo
    register(sandbox, receiver.url(), "opportunity")
    opp = sandbox.api("GET", "sales/opportunities", params={"pageSize": 1}).json()[0]
    item = sandbox.api("GET", "procurement/catalog", params={"pageSize": 1}).json()[0]
    line = sandbox.api("POST", "procurement/products", json={
        "catalogItem": {"id": item["id"]}, "opportunity": {"id": opp["id"]}, "quantity": 3.0,
        "billableOption": "Billable"}).json()
    assert sandbox.api("DELETE", f"procurement/products/{line['id']}").status_code == 204
    calls = receiver.wait_for(2)
    sandbox.wait_for_deliveries()
    assert len(receiver.calls) == 2
    assert [(c.json["Type"], c.json["Action"], c.json["ID"]) for c in calls] == [
        ("opportunity", "updated", opp["id"])] * 2
    assert calls[0].entity["id"] == opp["id"] and calls[0].entity["name"] == opp["name"]


def test_one_url_hears_one_records_changes_in_commit_order(cw_sandbox, company, receiver):
    comp, _contact = company
    register(cw_sandbox, receiver.url())
    for n in range(15):
        rename(cw_sandbox, comp["id"], f"Acme {n}")
    cw_sandbox.wait_for_deliveries()
    assert [c.entity["name"] for c in receiver.calls] == [f"Acme {n}" for n in range(15)]
    assert len({c.json["MessageId"] for c in receiver.calls}) == 15


def test_a_write_never_waits_for_the_receiver(cw_sandbox, company, receiver):
    comp, _contact = company
    register(cw_sandbox, receiver.url())
    gate = receiver.hold()
    rename(cw_sandbox, comp["id"], "First")
    receiver.wait_for(1)  # the receiver holds this POST open...
    second = rename(cw_sandbox, comp["id"], "Second")  # ...and the API still answers writes and reads
    assert second["name"] == "Second"
    assert cw_sandbox.api("GET", f"company/companies/{comp['id']}").json()["name"] == "Second"
    assert [d["state"] for d in cw_sandbox.deliveries()] == ["pending", "pending"]
    gate.set()
    log = cw_sandbox.wait_for_deliveries()
    assert [d["state"] for d in log] == ["delivered", "delivered"]
    assert [c.entity["name"] for c in receiver.calls] == ["First", "Second"]


def test_404_409_419_and_429_are_retried_twice_after_the_set_delays(cw_sandbox, company, receiver):
    comp, _contact = company
    cw_sandbox.set_callback_settings(**FAST)
    register(cw_sandbox, receiver.url())
    receiver.answer(429, 419, 200, 404, 409, 404)
    rename(cw_sandbox, comp["id"], "Retried")
    cw_sandbox.wait_for_deliveries()
    rename(cw_sandbox, comp["id"], "Given up")
    first, second = cw_sandbox.wait_for_deliveries()
    assert (first["state"], [a["status"] for a in first["attempts"]]) == ("delivered", [429, 419, 200])
    assert (second["state"], [a["status"] for a in second["attempts"]]) == ("failed", [404, 409, 404])
    times = [c.at for c in receiver.calls[:3]]
    assert times[1] - times[0] >= 0.2 and times[2] - times[1] >= 0.4
    assert len({c.json["MessageId"] for c in receiver.calls[:3]}) == 1  # a retry re-sends the same message
    assert receiver.calls[0].body == receiver.calls[2].body


def test_other_statuses_and_timeouts_fail_without_a_retry(cw_sandbox, company, receiver):
    comp, _contact = company
    cw_sandbox.set_callback_settings(timeout_seconds=0.3, **FAST)
    register(cw_sandbox, receiver.url())
    receiver.answer(500)
    rename(cw_sandbox, comp["id"], "Server error")
    cw_sandbox.wait_for_deliveries()
    gate = receiver.hold()
    rename(cw_sandbox, comp["id"], "Too slow")
    first, second = cw_sandbox.wait_for_deliveries()
    gate.set()
    assert (first["state"], [a["status"] for a in first["attempts"]]) == ("failed", [500])
    assert second["state"] == "failed" and len(second["attempts"]) == 1
    assert second["attempts"][0]["status"] is None and "timeout" in second["attempts"][0]["error"]


def test_a_callback_failing_for_three_days_is_set_inactive(cw_sandbox, company, receiver):
    comp, _contact = company
    entry = register(cw_sandbox, receiver.url())
    receiver.answer(*[500] * 10)
    rename(cw_sandbox, comp["id"], "Day 0")
    cw_sandbox.wait_for_deliveries()
    cw_sandbox.advance_callback_clock(2 * 86400)
    rename(cw_sandbox, comp["id"], "Day 2")
    cw_sandbox.wait_for_deliveries()
    assert cw_sandbox.api("GET", f"system/callbacks/{entry['id']}").json()["inactiveFlag"] is False
    cw_sandbox.advance_callback_clock(86400)
    rename(cw_sandbox, comp["id"], "Day 3")
    log = cw_sandbox.wait_for_deliveries()
    assert [(d["state"], d["gave_up"]) for d in log] == [("failed", False), ("failed", False), ("failed", True)]
    assert cw_sandbox.api("GET", f"system/callbacks/{entry['id']}").json()["inactiveFlag"] is True
    rename(cw_sandbox, comp["id"], "Not heard")
    assert len(cw_sandbox.wait_for_deliveries()) == 3 and len(receiver.calls) == 3
    # Switching it back on starts afresh: the next failure does not deactivate it again.
    cw_sandbox.api("PATCH", f"system/callbacks/{entry['id']}", json=[{"op": "replace", "path": "inactiveFlag",
                                                                       "value": False}])
    rename(cw_sandbox, comp["id"], "Heard again")
    assert cw_sandbox.wait_for_deliveries()[-1]["gave_up"] is False
    assert cw_sandbox.api("GET", f"system/callbacks/{entry['id']}").json()["inactiveFlag"] is False


def test_a_success_ends_the_failure_streak(cw_sandbox, company, receiver):
    comp, _contact = company
    cw_sandbox.set_callback_settings(give_up_after_seconds=60)
    entry = register(cw_sandbox, receiver.url())
    receiver.answer(500, 200, 500)
    for name in ("Fails", "Works"):
        rename(cw_sandbox, comp["id"], name)
        cw_sandbox.wait_for_deliveries()
    cw_sandbox.advance_callback_clock(120)
    rename(cw_sandbox, comp["id"], "Fails again")
    assert [d["state"] for d in cw_sandbox.wait_for_deliveries()] == ["failed", "delivered", "failed"]
    assert cw_sandbox.api("GET", f"system/callbacks/{entry['id']}").json()["inactiveFlag"] is False


def test_deliveries_stop_when_the_callback_is_deleted(cw_sandbox, company, receiver):
    comp, _contact = company
    entry = register(cw_sandbox, receiver.url())
    gate = receiver.hold()
    rename(cw_sandbox, comp["id"], "Sent")
    receiver.wait_for(1)
    rename(cw_sandbox, comp["id"], "Never sent")
    assert cw_sandbox.api("DELETE", f"system/callbacks/{entry['id']}").status_code == 204
    gate.set()
    assert [d["state"] for d in cw_sandbox.wait_for_deliveries()] == ["delivered", "cancelled"]
    assert len(receiver.calls) == 1


def test_a_rotated_key_signs_new_messages_and_old_key_urls_still_answer(cw_sandbox, company, receiver):
    comp, _contact = company
    register(cw_sandbox, receiver.url())
    rename(cw_sandbox, comp["id"], "Old key")
    old = receiver.wait_for(1)[0]
    new_key = cw_sandbox.rotate_signing_key()
    rename(cw_sandbox, comp["id"], "New key")
    new = receiver.wait_for(2)[1]
    assert new.json["Metadata"]["key_url"] == new_key["key_url"] != old.json["Metadata"]["key_url"]
    assert signature_ok(new, fetch_key(new)) and fetch_key(new) == new_key["signing_key"]
    assert signature_ok(old, fetch_key(old)) and not signature_ok(new, fetch_key(old))
    unknown = requests.get(new_key["key_url"][:-4] + "0000", timeout=10)
    assert unknown.status_code == 404


def test_reset_forgets_callbacks_queue_settings_and_faults(cw_sandbox, company, receiver):
    comp, _contact = company
    cw_sandbox.set_callback_settings(retry_delays=[0.1], workers=2)
    cw_sandbox.add_callback_fault("drop")
    register(cw_sandbox, receiver.url())
    rename(cw_sandbox, comp["id"], "Dropped")
    assert cw_sandbox.deliveries()[0]["state"] == "dropped"
    cw_sandbox.reset("empty")
    assert cw_sandbox.deliveries() == [] and cw_sandbox.callback_faults() == []
    assert cw_sandbox.callback_settings()["retry_delays"] == [2.0, 4.0]
    assert cw_sandbox.api("GET", "system/callbacks").json() == []


def test_settings_are_validated(cw_sandbox):
    for bad in ({"retry_delays": "2,4"}, {"timeout_seconds": 0}, {"workers": 0}, {"retry_statuses": [99]},
                {"speed": 1}):
        resp = requests.post(f"{cw_sandbox.base_url}/__sandbox__/callbacks/settings", json=bad, timeout=10)
        assert resp.status_code == 400, bad
    assert cw_sandbox.set_callback_settings(retry_delays=[])["retry_delays"] == []
