"""A customer export whose site step was cut short (the site POST or the company PATCH that moves the company onto it
failed transiently) records as agreed only what ConnectWise holds, and the next pass finishes the step: the company
ends on its Location Code's site, one such site (the one a failed try made is taken, not doubled), the customer keeps
its code, and a later live update changes nothing. Before, the link said "HQ" as agreed while the company stayed on
"Main", so with ConnectWise the master the next pass "kept ConnectWise's Location Code" and live updates blanked the
customer's; with ChannelOnline the master the next pass took "Main" for HQ. Against the sandbox, over HTTP."""

from __future__ import annotations

import pytest
from customer_support import company, export, items, link_of, make_customer, run, update_customer
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, HOST_MASTER, RecordDrift
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.inbound import LIVE_KIND
from helpers import tune_runtime
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = pytest.mark.postgres

SITE_POST = {"status": 500, "method": "POST", "path": r"company/companies/\d+/sites$", "count": 1}
# The transport tries a PATCH again after a 500 (max_attempts, 5): each of its tries fails.
COMPANY_PATCH = {"status": 500, "method": "PATCH", "path": r"company/companies/\d+$", "count": 5}


def _master(name: str) -> None:
    get_live(db.session).customer_master = name
    db.session.commit()


def _sites(sandbox, company_id: int) -> list[str]:
    return sorted(s["name"] for s in sandbox.api("GET", f"company/companies/{company_id}/sites").json())


def _live_update(cw_id: int) -> None:
    assert run(LIVE_KIND, {"records": {"company": [cw_id]}}).status == "succeeded"
    db.session.expire_all()


@pytest.mark.parametrize("master", [CW_MASTER, HOST_MASTER])
@pytest.mark.parametrize("fault", [SITE_POST, COMPANY_PATCH], ids=["site POST", "company PATCH"])
def test_a_site_step_cut_short_is_finished_by_the_next_pass_and_the_location_code_survives(
        sync_ready, monkeypatch, app, master, fault):
    tune_runtime(monkeypatch, app, record_retry_intervals=(0,))
    _master(master)
    customer = make_customer(location_code="HQ")
    sync_ready.add_fault(**fault)

    done = export(customer.id)
    assert done.status == "succeeded", done.message
    [item] = items(done, "customer")
    company_id = link_of("customer", customer.id).cw_id
    assert company(sync_ready, company_id)["site"]["name"] == "HQ", item.message
    assert _sites(sync_ready, company_id) == ["HQ", "Main"]  # one HQ: a site the failed try made is taken
    assert "kept ConnectWise" not in item.message, item.message
    assert "created site HQ in ConnectWise; the company's site is now HQ" in item.message, item.message
    assert db.session.get(Customer, customer.id).location_code == "HQ"
    assert link_of("customer", customer.id).synced_values["location_code"] == "HQ"

    # Read back: nothing changed in ConnectWise, so nothing is taken from it nor said to differ.
    _live_update(company_id)
    assert db.session.get(Customer, customer.id).location_code == "HQ"
    assert db.session.execute(select(RecordDrift)).scalars().all() == []
    again = items(export(customer.id), "customer")
    assert [i.action for i in again] == ["unchanged"], again[0].message
    assert _sites(sync_ready, company_id) == ["HQ", "Main"]
    assert company(sync_ready, company_id)["site"]["name"] == "HQ"


@pytest.mark.parametrize("master", [CW_MASTER, HOST_MASTER])
def test_while_the_site_step_waits_the_link_agrees_on_what_connectwise_holds_and_the_next_export_finishes_it(
        sync_ready, monkeypatch, app, master):
    """The step keeps failing for the whole run (the customer ends not attempted, the company on "Main" and a site
    "HQ" made but not moved onto): a live update meanwhile neither takes "Main" as ConnectWise's change nor reports
    it; the next export moves the company onto that "HQ" (no second one) instead of keeping "Main"."""
    tune_runtime(monkeypatch, app, record_retry_intervals=())
    _master(master)
    customer = make_customer(location_code="HQ")
    sync_ready.add_fault(**COMPANY_PATCH)
    first = export(customer.id)
    assert [i.action for i in items(first, "customer")] == ["not_attempted"]
    company_id = link_of("customer", customer.id).cw_id
    assert company(sync_ready, company_id)["site"]["name"] == "Main"
    assert _sites(sync_ready, company_id) == ["HQ", "Main"]
    assert link_of("customer", customer.id).synced_values["location_code"] == ""  # what ConnectWise holds

    _live_update(company_id)
    assert db.session.get(Customer, customer.id).location_code == "HQ"
    assert db.session.execute(select(RecordDrift)).scalars().all() == []

    second = export(customer.id)
    [item] = items(second, "customer")
    assert item.action == "updated", item.message
    assert "kept ConnectWise" not in item.message, item.message
    assert company(sync_ready, company_id)["site"]["name"] == "HQ"
    assert _sites(sync_ready, company_id) == ["HQ", "Main"]
    assert link_of("customer", customer.id).synced_values["location_code"] == "HQ"
    _live_update(company_id)
    assert db.session.get(Customer, customer.id).location_code == "HQ"
    assert db.session.execute(select(RecordDrift)).scalars().all() == []


def test_an_update_whose_site_step_was_cut_short_keeps_the_customers_new_code(sync_ready, monkeypatch, app):
    """A linked customer moved to "Branch" in ChannelOnline, ConnectWise the master: the export's site POST fails for
    the whole run. The link keeps agreeing on "HQ", which the company is still on, so a live update does not take
    "HQ" back into the customer as ConnectWise's change; the next export moves the company to "Branch"."""
    tune_runtime(monkeypatch, app, record_retry_intervals=())
    _master(CW_MASTER)
    customer = make_customer(location_code="HQ")
    assert export(customer.id).status == "succeeded"
    company_id = link_of("customer", customer.id).cw_id
    update_customer(customer.id, location_code="Branch")
    sync_ready.add_fault(status=500, method="POST", path=r"company/companies/\d+/sites$")
    assert [i.action for i in items(export(customer.id), "customer")] == ["not_attempted"]
    sync_ready.clear_faults()
    assert company(sync_ready, company_id)["site"]["name"] == "HQ"
    assert link_of("customer", customer.id).synced_values["location_code"] == "HQ"

    _live_update(company_id)
    assert db.session.get(Customer, customer.id).location_code == "Branch"
    [item] = items(export(customer.id), "customer")
    assert item.action == "updated" and "kept ConnectWise" not in item.message, item.message
    assert company(sync_ready, company_id)["site"]["name"] == "Branch"
    assert _sites(sync_ready, company_id) == ["Branch", "HQ", "Main"]
    _live_update(company_id)
    assert db.session.get(Customer, customer.id).location_code == "Branch"
