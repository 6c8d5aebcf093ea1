"""Fault injection for callbacks: drop, duplicate, delay, reorder, bad signature, and their filters."""

from __future__ import annotations

import pytest
import requests
from callback_receiver import fetch_key, signature_ok


@pytest.fixture
def hooked(cw_sandbox, company, receiver):
    """An owner-level company callback to the receiver; returns (sandbox, company id, receiver)."""
    comp, _contact = company
    resp = cw_sandbox.api("POST", "system/callbacks", json={"url": receiver.url(), "type": "company",
                                                            "level": "owner", "objectId": 0})
    assert resp.status_code == 201
    return cw_sandbox, comp["id"], receiver


def rename(sandbox, company_id, name):
    resp = sandbox.api("PATCH", f"company/companies/{company_id}", json=[{"op": "replace", "path": "name",
                                                                          "value": name}])
    assert resp.status_code == 200, resp.text


def test_drop_loses_the_message_and_the_log_says_so(hooked):
    sandbox, cid, receiver = hooked
    sandbox.add_callback_fault("drop", count=1)
    rename(sandbox, cid, "Lost in transit")
    rename(sandbox, cid, "Arrives")
    log = sandbox.wait_for_deliveries()
    assert [(d["state"], d["faults"], d["attempts"]) for d in log] == [
        ("dropped", ["drop"], []), ("delivered", [], log[1]["attempts"])]
    assert [c.entity["name"] for c in receiver.calls] == ["Arrives"]
    assert sandbox.callback_faults()[0]["fired"] == 1


def test_duplicate_sends_the_same_signed_message_again(hooked):
    sandbox, cid, receiver = hooked
    sandbox.add_callback_fault("duplicate", copies=3, nth=1)
    rename(sandbox, cid, "Thrice")
    log = sandbox.wait_for_deliveries()
    assert [d["state"] for d in log] == ["delivered"] * 3
    assert len({c.json["MessageId"] for c in receiver.calls}) == 1 and len(receiver.calls) == 3
    key = fetch_key(receiver.calls[0])
    assert all(signature_ok(c, key) for c in receiver.calls)


def test_delay_holds_a_message_so_a_later_change_overtakes_it(hooked):
    sandbox, cid, receiver = hooked
    sandbox.add_callback_fault("delay", seconds=1.0, count=1)
    rename(sandbox, cid, "Older")
    rename(sandbox, cid, "Newer")
    sandbox.wait_for_deliveries()
    assert [c.entity["name"] for c in receiver.calls] == ["Newer", "Older"]
    assert sandbox.deliveries()[0]["faults"] == ["delay"]


def test_reorder_shuffles_arrival_but_loses_nothing(hooked):
    sandbox, cid, receiver = hooked
    sandbox.add_callback_fault("reorder", window_seconds=1.0)
    names = [f"Step {n}" for n in range(10)]
    for name in names:
        rename(sandbox, cid, name)
    sandbox.wait_for_deliveries()
    arrived = [c.entity["name"] for c in receiver.calls]
    assert sorted(arrived) == sorted(names) and arrived != names


@pytest.mark.parametrize("how", ["wrong_key", "missing", "tampered"])
def test_bad_signature_variants_fail_an_honest_check(hooked, how):
    sandbox, cid, receiver = hooked
    sandbox.add_callback_fault("bad_signature", how=how, count=1)
    rename(sandbox, cid, "Suspicious")
    rename(sandbox, cid, "Genuine")
    sandbox.wait_for_deliveries()
    bad, good = receiver.calls
    key = fetch_key(good)
    assert signature_ok(good, key) and not signature_ok(bad, key)
    if how == "missing":
        assert bad.signature is None
    if how == "tampered":
        assert bad.json["Action"] == "deleted" and good.json["Action"] == "updated"
    assert sandbox.deliveries()[0]["faults"] == ["bad_signature"]


def test_filters_pick_deliveries_by_type_action_id_and_url(cw_sandbox, company, receiver):
    comp, contact = company
    for ctype in ("company", "contact"):
        cw_sandbox.api("POST", "system/callbacks", json={"url": receiver.url(f"/{ctype}"), "type": ctype,
                                                         "level": "owner", "objectId": 0})
    cw_sandbox.add_callback_fault("drop", type="contact")
    cw_sandbox.add_callback_fault("drop", url="/company$", action="deleted")
    cw_sandbox.add_callback_fault("duplicate", id=comp["id"])
    rename(cw_sandbox, comp["id"], "Twice")
    cw_sandbox.api("PATCH", f"company/contacts/{contact['id']}",
                   json=[{"op": "replace", "path": "title", "value": "CEO"}])
    cw_sandbox.api("DELETE", f"company/contacts/{contact['id']}")
    cw_sandbox.api("DELETE", f"company/companies/{comp['id']}")
    log = cw_sandbox.wait_for_deliveries()
    assert sorted((d["type"], d["action"], d["state"]) for d in log) == sorted([
        ("company", "updated", "delivered"), ("company", "updated", "delivered"),
        ("contact", "updated", "dropped"), ("contact", "deleted", "dropped"), ("company", "deleted", "dropped")])
    assert [(c.path, c.json["Action"]) for c in receiver.calls] == [("/company", "updated")] * 2


def test_a_fraction_drops_part_of_the_messages(hooked):
    sandbox, cid, receiver = hooked
    sandbox.add_callback_fault("drop", fraction=0.5)
    for n in range(30):
        rename(sandbox, cid, f"Name {n}")
    log = sandbox.wait_for_deliveries()
    dropped = sum(d["state"] == "dropped" for d in log)
    assert 5 < dropped < 25 and len(receiver.calls) == 30 - dropped


def test_faults_combine_and_clear(hooked):
    sandbox, cid, receiver = hooked
    sandbox.add_callback_fault("duplicate", count=1)
    sandbox.add_callback_fault("bad_signature", count=1)
    rename(sandbox, cid, "Both")
    sandbox.wait_for_deliveries()
    key = fetch_key(receiver.calls[0])
    assert len(receiver.calls) == 2 and not any(signature_ok(c, key) for c in receiver.calls)
    sandbox.clear_callback_faults()
    rename(sandbox, cid, "Clean")
    sandbox.wait_for_deliveries()
    assert len(receiver.calls) == 3 and signature_ok(receiver.calls[2], key)


@pytest.mark.parametrize("spec", [
    {"kind": "explode"}, {"kind": "drop", "fraction": 2}, {"kind": "drop", "count": 1, "nth": 2},
    {"kind": "drop", "url": "("}, {"kind": "bad_signature", "how": "loud"}, {"kind": "drop", "colour": "red"},
    {"kind": "duplicate", "copies": 1}, {"kind": "drop", "id": "7"},
])
def test_bad_fault_specs_are_400(cw_sandbox, spec):
    resp = requests.post(f"{cw_sandbox.base_url}/__sandbox__/callbacks/faults", json=spec, timeout=10)
    assert resp.status_code == 400 and resp.json()["message"]
    assert cw_sandbox.callback_faults() == []
