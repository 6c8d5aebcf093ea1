"""An opportunity moved from one closed status to another (Won → Lost): what its closedDate and closedBy say.

Nothing public says what ConnectWise does (README, "Behaviours"): the sandbox stamps a new close with who made
it and when, and the control API's ``reclose: "keep"`` plays a ConnectWise that keeps the first close's."""

from __future__ import annotations

import time

import requests


def _open_opportunity(sandbox) -> dict:
    return sandbox.api("GET", "sales/opportunities", params={"conditions": 'status/name="Open"', "pageSize": 1}).json()[0]


def _won_by_the_api(sandbox, opp_id: int) -> dict:
    won = sandbox.api("GET", "sales/opportunities/statuses", params={"conditions": 'name="Won"'}).json()[0]
    body = sandbox.api("PATCH", f"sales/opportunities/{opp_id}",
                       json=[{"op": "replace", "path": "status", "value": {"id": won["id"]}}]).json()
    assert body["closedBy"]["identifier"] == "APIMember"
    return body


def test_a_person_moving_a_won_opportunity_to_lost_is_the_new_closer(cw_sandbox_demo):
    sandbox = cw_sandbox_demo
    won = _won_by_the_api(sandbox, _open_opportunity(sandbox)["id"])
    time.sleep(1.1)  # the stamps have whole seconds
    lost = sandbox.set_opportunity_status(won["id"], "Lost", member="rrep")
    assert lost["closedBy"]["identifier"] == "rrep" and lost["closedDate"] > won["closedDate"]
    # The same status again is no new close; an edit of another field leaves the close alone.
    renamed = sandbox.edit_opportunity(won["id"], {"name": "Renamed deal"}, member="admin1")
    assert (renamed["closedBy"]["identifier"], renamed["closedDate"]) == ("rrep", lost["closedDate"])


def test_a_write_that_sets_the_close_itself_is_taken_as_it_says(cw_sandbox_demo):
    sandbox = cw_sandbox_demo
    won = _won_by_the_api(sandbox, _open_opportunity(sandbox)["id"])
    lost = sandbox.api("GET", "sales/opportunities/statuses", params={"conditions": 'name="Lost"'}).json()[0]
    body = sandbox.api("PATCH", f"sales/opportunities/{won['id']}", json=[
        {"op": "replace", "path": "status", "value": {"id": lost["id"]}},
        {"op": "replace", "path": "closedDate", "value": "2026-01-02T03:04:05Z"}]).json()
    assert body["closedDate"] == "2026-01-02T03:04:05Z" and body["closedBy"]["identifier"] == "APIMember"


def test_the_keep_option_keeps_the_first_close(cw_sandbox_demo):
    sandbox = cw_sandbox_demo
    assert sandbox.set_options(reclose="keep")["reclose"] == "keep"
    won = _won_by_the_api(sandbox, _open_opportunity(sandbox)["id"])
    lost = sandbox.set_opportunity_status(won["id"], "Lost", member="rrep")
    assert (lost["closedBy"]["identifier"], lost["closedDate"]) == ("APIMember", won["closedDate"])
    assert lost["_info"]["updatedBy"] == "rrep"
    sandbox.reset("demo")  # a reset goes back to stamping
    assert sandbox.set_options()["reclose"] == "stamp"


def test_a_wrong_reclose_value_is_refused(cw_sandbox_demo):
    resp = requests.post(f"{cw_sandbox_demo.base_url}/__sandbox__/options", json={"reclose": "maybe"}, timeout=10)
    assert resp.status_code == 400 and "reclose is 'stamp' or 'keep'" in resp.text
