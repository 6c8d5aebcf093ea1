"""A customer exported with Location Code "Main" (the company on ConnectWise's default site Main), whose code a rep
then changes to "West Branch" in ChannelOnline, is the host's change only: the export moves the company onto a site
"West Branch", and neither a later live update (ConnectWise changing another field) nor Import all takes the code back.
Before, ConnectWise's "Main" read blank once the host's code was "West Branch" while the agreement still said "Main",
so with ConnectWise the master the export "kept ConnectWise's Location Code" (nobody had touched the site), a live
update blanked the customer's code ("changed on both sides"), and Import all did the same. A real move of the company
to another site in ConnectWise is still ConnectWise's change, taken under ConnectWise the master. Against the sandbox,
over HTTP, with Live updates on and callbacks delivered to a live host."""

from __future__ import annotations

import pytest
from inbound_support import enable, export_customer, run_items, settle, wait_for
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, HOST_MASTER, RecordDrift, SyncItem, SyncRun, get_link
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Customer


def _run(kind: str, params: dict) -> SyncRun:
    run = create_run(db.session, runtime().kinds, kind, params)
    db.session.commit()
    done = runtime().execute(db.session, run.id)
    assert done.status == "succeeded", done.message
    db.session.expire_all()
    return done


def _customer_items(run: SyncRun) -> list[SyncItem]:
    return list(db.session.execute(select(SyncItem).where(SyncItem.run_id == run.id, SyncItem.entity == "customer")
                                   .order_by(SyncItem.id)).scalars())


def _edit_host(customer_id: int, **fields) -> None:
    customer = db.session.get(Customer, customer_id)
    data = {f: getattr(customer, f) for f in services.CUSTOMER_EDITABLE}
    services.save_customer({**data, **fields}, customer_id=customer_id)


def _site_of(sandbox, company_id: int) -> str:
    return sandbox.api("GET", f"company/companies/{company_id}").json()["site"]["name"]


def _sites(sandbox, company_id: int) -> list[str]:
    return sorted(s["name"] for s in sandbox.api("GET", f"company/companies/{company_id}/sites").json())


def _code(customer_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Customer, customer_id).location_code


def _moved_off_main(sandbox, live_url: str, master: str) -> tuple[Customer, int]:
    """Exported on "Main" with Live updates on, then moved to "West Branch" by the rep and exported again."""
    enable(live_url, master)
    customer, company, _ = export_customer(sandbox, location_code="Main")
    settle(sandbox)
    assert _site_of(sandbox, company) == "Main"
    assert _code(customer.id) == "Main"

    _edit_host(customer.id, location_code="West Branch")  # the rep's edit: nobody touched ConnectWise
    [item] = _customer_items(_run("customer_export", {"customer_id": customer.id}))
    assert item.action == "updated", item.message
    assert "kept ConnectWise" not in item.message, item.message
    assert _site_of(sandbox, company) == "West Branch", item.message
    assert _sites(sandbox, company) == ["Main", "West Branch"]
    assert get_link(db.session, "customer", customer.id).synced_values["location_code"] == "West Branch"
    settle(sandbox)
    assert _code(customer.id) == "West Branch"
    return customer, company


@pytest.mark.parametrize("master", [CW_MASTER, HOST_MASTER])
def test_a_code_moved_off_main_in_channelonline_is_exported_and_never_taken_back(
        app, fast_callbacks, live_server, worker_thread, master):
    sandbox = fast_callbacks
    customer, company = _moved_off_main(sandbox, live_server.url, master)

    # Someone changes the company's phone in ConnectWise: a live update, which must leave the code alone.
    sandbox.edit_company(company, {"phoneNumber": "512-555-0199"})
    if master == CW_MASTER:
        wait_for(lambda: db.session.get(Customer, customer.id).phone == "512-555-0199", what="the phone to come back")
    settle(sandbox)
    assert _code(customer.id) == "West Branch"
    log = " ".join(i.message or "" for i in run_items("cw_live_update"))
    assert "Location Code" not in log, log

    _run("customer_import", {"mode": "all"})
    assert _code(customer.id) == "West Branch"
    assert _site_of(sandbox, company) == "West Branch"

    # And the next export leaves the site alone (with ChannelOnline the master it sends the customer's phone back).
    [item] = _customer_items(_run("customer_export", {"customer_id": customer.id}))
    assert item.action == ("unchanged" if master == CW_MASTER else "updated"), item.message
    assert "Location Code" not in item.message and "site" not in item.message, item.message
    assert _site_of(sandbox, company) == "West Branch"
    assert _sites(sandbox, company) == ["Main", "West Branch"]
    assert _code(customer.id) == "West Branch"


@pytest.mark.parametrize("master", [CW_MASTER, HOST_MASTER])
def test_a_code_moved_off_main_not_exported_yet_is_no_change_of_connectwises(
        app, fast_callbacks, live_server, worker_thread, master):
    """The rep's new code waits for its export while ConnectWise changes another field: the live update (and, with
    ChannelOnline the master, Import all) neither takes ConnectWise's "Main" over it (ConnectWise the master) nor
    notes it as changed in ConnectWise (ChannelOnline the master); the export then moves the company."""
    sandbox = fast_callbacks
    enable(live_server.url, master)
    customer, company, _ = export_customer(sandbox, location_code="Main")
    settle(sandbox)
    _edit_host(customer.id, location_code="West Branch")

    sandbox.edit_company(company, {"phoneNumber": "512-555-0199"})
    wait_for(lambda: any("512-555-0199" in (i.message or "") for i in run_items("cw_live_update")),
             what="the live update of the phone")
    settle(sandbox)
    if master == HOST_MASTER:  # (a bulk import keeps the customer's values and notes ConnectWise's changes)
        _run("customer_import", {"mode": "all"})
    assert _code(customer.id) == "West Branch"
    drift = [(d.field, d.host_value, d.cw_value) for d in db.session.execute(select(RecordDrift)).scalars()]
    assert all(field != "location_code" for field, _, _ in drift), drift
    log = " ".join(i.message or "" for i in run_items("cw_live_update") + run_items("customer_import"))
    assert "took Location Code" not in log and "changed on both sides" not in log, log

    [item] = _customer_items(_run("customer_export", {"customer_id": customer.id}))
    assert "kept ConnectWise" not in item.message, item.message
    assert _site_of(sandbox, company) == "West Branch", item.message
    assert _code(customer.id) == "West Branch"


def test_a_company_moved_to_another_site_in_connectwise_is_still_taken_with_connectwise_the_master(
        app, fast_callbacks, live_server, worker_thread):
    sandbox = fast_callbacks
    customer, company = _moved_off_main(sandbox, live_server.url, CW_MASTER)

    # A person in ConnectWise moves the company to a new site East: ConnectWise's change of the code.
    resp = sandbox.api("POST", f"company/companies/{company}/sites", json={"name": "East", "city": "Austin"})
    assert resp.status_code == 201, resp.text
    settle(sandbox)
    sandbox.edit_company(company, {"site": {"id": resp.json()["id"]}})
    wait_for(lambda: db.session.get(Customer, customer.id).location_code == "East", what="the site East to come back")
    settle(sandbox)
    assert get_link(db.session, "customer", customer.id).synced_values["location_code"] == "East"
    log = " ".join(i.message or "" for i in run_items("cw_live_update"))
    assert "changed on both sides" not in log, log

    [item] = _customer_items(_run("customer_export", {"customer_id": customer.id}))
    assert item.action == "unchanged", item.message
    assert _site_of(sandbox, company) == "East"
