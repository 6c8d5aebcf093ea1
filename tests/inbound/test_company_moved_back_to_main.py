"""A company a person moves in ConnectWise to a new site "East" and then back to its site "Main" comes back both times
with ConnectWise the master: the customer's Location Code reads "East", then Main's (a blank code, or "Main").

It did not, about one run in three: ConnectWise's ``lastUpdated`` is whole seconds, and when the export, the move to
East and the move back all fell in one second, the callback for the move back carried the very stamp and fields of
the company as colcw's export wrote it, so it was taken for colcw's own write coming back and not read (the host kept
East). The version colcw remembers of its write now includes who ConnectWise says updated the record: the person's
move back is never colcw's version. The first test is that scenario with the sandbox's real callbacks (the same
second some of the time); the second makes the same second certain: the sandbox's callback for the move back is
dropped and ConnectWise's message for it is sent as it reads when it falls in the second of colcw's write. Against the
sandbox, over HTTP, with Live updates on and callbacks delivered to a live host."""

from __future__ import annotations

import json
import uuid

import requests
from inbound_support import (
    enable,
    export_customer,
    run_items,
    settle,
    signed_headers,
    the_callback_url,
    wait_for,
)

from colcw_plugin.models import CW_MASTER, get_link
from colcw_plugin.sync.shared.fields import same_site
from host_stub.extensions import db
from host_stub.models import Customer


def _code(customer_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Customer, customer_id).location_code


def _moved_to_east(sandbox, live_url: str) -> tuple[Customer, int, int]:
    """Exported on Main with Live updates on, then moved by a person in ConnectWise to a new site East, which the host
    took; (the customer, its company, the company's site Main)."""
    enable(live_url, CW_MASTER)
    customer, company, _ = export_customer(sandbox, location_code="Main")
    settle(sandbox)
    assert same_site(_code(customer.id), "Main")
    sites = sandbox.api("GET", f"company/companies/{company}/sites").json()
    main = next(s["id"] for s in sites if s["name"] == "Main")

    resp = sandbox.api("POST", f"company/companies/{company}/sites", json={"name": "East", "city": "Austin"})
    assert resp.status_code == 201, resp.text
    settle(sandbox)
    sandbox.edit_company(company, {"site": {"id": resp.json()["id"]}})
    wait_for(lambda: _code(customer.id) == "East", what="the site East to come back")
    settle(sandbox)
    return customer, company, main


def _back_on_main(sandbox, customer: Customer) -> None:
    wait_for(lambda: same_site(_code(customer.id), "Main"), what="the site Main to come back")
    settle(sandbox)
    assert same_site(_code(customer.id), "Main")
    assert same_site(get_link(db.session, "customer", customer.id).synced_values["location_code"], "Main")
    log = " ".join(i.message or "" for i in run_items("cw_live_update"))
    assert "changed on both sides" not in log, log


def test_a_company_moved_to_east_and_back_to_main_in_connectwise_comes_back_both_times(
        app, fast_callbacks, live_server, worker_thread):
    sandbox = fast_callbacks
    customer, company, main = _moved_to_east(sandbox, live_server.url)
    sandbox.edit_company(company, {"site": {"id": main}})  # at once: often the second colcw's export wrote it
    _back_on_main(sandbox, customer)


def test_a_move_back_in_the_second_colcw_wrote_the_company_is_read_back(
        app, fast_callbacks, live_server, worker_thread):
    sandbox = fast_callbacks
    customer, company, main = _moved_to_east(sandbox, live_server.url)
    # The company as colcw's export last wrote it, as its callback carried it (its lastUpdated: the second of the write).
    wrote = [json.loads(json.loads(d["body"])["Entity"]) for d in sandbox.deliveries(body=True)
             if d["type"] == "company" and d["member_id"] == "APIMember"][-1]

    # The person moves it back to Main; ConnectWise's message about it is the one for a move in that same second.
    sandbox.add_callback_fault("drop", type="company", id=company)
    sandbox.edit_company(company, {"site": {"id": main}})
    sandbox.wait_for_deliveries()
    sandbox.clear_callback_faults()
    now = sandbox.api("GET", f"company/companies/{company}").json()
    entity = {**now, "_info": {**now["_info"], "lastUpdated": wrote["_info"]["lastUpdated"]}}
    assert {k: v for k, v in entity.items() if k != "_info"} == {k: v for k, v in wrote.items() if k != "_info"}
    assert entity["_info"]["updatedBy"] == "admin1"
    key = sandbox.signing_key()
    body = json.dumps({"MessageId": str(uuid.uuid4()), "FromUrl": "127.0.0.1", "CompanyId": sandbox.company_id,
                       "MemberId": "admin1", "Action": "updated", "Type": "company", "ID": company,
                       "ProductInstanceId": None, "PartnerId": None, "Entity": json.dumps(entity),
                       "Metadata": {"key_url": key["key_url"]}}).encode()
    resp = requests.post(the_callback_url(), data=body, headers=signed_headers(body, key["signing_key"]), timeout=10)
    assert resp.status_code == 200, resp.text
    assert "own change" not in resp.text, resp.text
    _back_on_main(sandbox, customer)
