"""A bulk import whose ConnectWise state list cannot be read (the API member not allowed to read it) still imports:
states are compared as spelled, and the run says so once, on its page. Against the sandbox over HTTP."""

from __future__ import annotations

from html import unescape

from customer_support import items, make_customer, run

from colcw_plugin.models import CUSTOMER, set_link
from host_stub.extensions import db


def _company(sandbox, **fields) -> dict:
    made = sandbox.api("POST", "company/companies", json={"addressLine1": "1 Main St", **fields})
    assert made.status_code == 201, made.text
    return made.json()


def test_an_unreadable_state_list_leaves_the_import_going_and_is_said_once(sync_ready, admin_client):
    sandbox = sync_ready
    # Linked, ChannelOnline the master, its state spelled out: the import compares it, so reads the state list.
    linked = make_customer(contacts=[], name="Lone Star Dental", account_number="LSD1", state="Texas")
    company = _company(sandbox, identifier="LSD1", name="Lone Star Dental", city="Austin", state="TX")
    set_link(db.session, CUSTOMER, linked.id, company["id"], cw_identifier="LSD1")
    db.session.commit()
    for n in range(2):
        _company(sandbox, identifier=f"NEW{n}", name=f"New Company {n}", city="Austin", state="TX")
    sandbox.deny(["company/states"])

    done = run("customer_import", {"mode": "all"})

    assert done.status == "succeeded", done.message
    outcome = {i.cw_id: i.action for i in items(done, "customer")}
    assert sorted(outcome.values()).count("created") == 2, outcome
    assert done.message.count("ConnectWise's state list could not be read") == 1, done.message
    assert "states were compared as spelled" in done.message
    page = " ".join(unescape(admin_client.get(f"/admin/integration/connectwise/jobs/runs/{done.id}").get_data(as_text=True)).split())
    assert page.count("ConnectWise's state list could not be read") == 1, page
