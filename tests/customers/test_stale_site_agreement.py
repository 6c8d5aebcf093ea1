"""A link an export wrote before 675be73, agreeing on Location Code "HQ" while its company stayed on "Main" (the site
step cut short, no site HQ made), heals itself: ConnectWise never had the site HQ, so a live update, a safety net pass
or an import reads the agreement as "Main" (shared/stale_site.py) instead of taking "Main" as ConnectWise's change. The
customer keeps "HQ" under either master, nothing is noted as changed in ConnectWise, and the next export finishes the
site step. Before, with ConnectWise the master each of them blanked the customer's code (and the export "kept
ConnectWise's Location Code"); with ChannelOnline the master they noted a change in ConnectWise nobody made. A company
a person really moved from its site HQ to Main still comes back. Against the sandbox, over HTTP."""

from __future__ import annotations

import pytest
from customer_support import company, export, items, link_of, make_customer, run
from sqlalchemy import select

from colcw_plugin.cw.errors import PermissionDenied
from colcw_plugin.cw.resources import Resource
from colcw_plugin.models import CW_MASTER, HOST_MASTER, Link, RecordDrift
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.inbound import LIVE_KIND, RECONCILE_KIND
from colcw_plugin.sync.shared.fields import MADE, same_site
from helpers import tune_runtime
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = pytest.mark.postgres

READERS = ["live update", "safety net", "import"]


def _master(name: str) -> None:
    get_live(db.session).customer_master = name
    db.session.commit()


def _sites(sandbox, company_id: int) -> list[str]:
    return sorted(s["name"] for s in sandbox.api("GET", f"company/companies/{company_id}/sites").json())


def _code(customer_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Customer, customer_id).location_code


def _read(reader: str, company_id: int):
    """One reading of ConnectWise under the master set: what it said of the customer."""
    if reader == "live update":
        done = run(LIVE_KIND, {"records": {"company": [company_id]}})
    elif reader == "safety net":
        done = run(RECONCILE_KIND, {"mode": "changes"})
    else:
        done = run("customer_import", {"mode": "all"})
    assert done.status == "succeeded", done.message
    db.session.expire_all()
    return " ".join(i.message or "" for i in items(done, "customer"))


def _location_drift() -> list:
    return [(d.field, d.host_value, d.cw_value) for d in db.session.execute(select(RecordDrift)).scalars()
            if d.field == "location_code"]


def _pre_675be73(sandbox, monkeypatch, app) -> tuple[int, int]:
    """A customer on "HQ" whose export's site POST failed for the whole run, its link then rewritten as exports wrote
    it before 675be73: agreeing on "HQ" (no run remembered as its creator). The company is on "Main" and has no site
    HQ; the customer was not edited since. (The customer's id, its company's.)"""
    tune_runtime(monkeypatch, app, record_retry_intervals=())
    customer = make_customer(location_code="HQ")
    sandbox.add_fault(status=500, method="POST", path=r"company/companies/\d+/sites$")
    assert [i.action for i in items(export(customer.id), "customer")] == ["not_attempted"]
    sandbox.clear_faults()
    link = db.session.execute(select(Link).where(Link.entity == "customer", Link.host_id == customer.id)).scalar_one()
    link.synced_values = {**{k: v for k, v in link.synced_values.items() if k != MADE}, "location_code": "HQ"}
    db.session.commit()
    company_id = link.cw_id
    assert company(sandbox, company_id)["site"]["name"] == "Main"
    assert _sites(sandbox, company_id) == ["Main"]
    return customer.id, company_id


@pytest.mark.parametrize("master", [CW_MASTER, HOST_MASTER])
@pytest.mark.parametrize("reader", READERS)
def test_an_agreed_site_connectwise_never_had_is_no_change_of_connectwises_and_the_next_export_finishes_it(
        sync_ready, monkeypatch, app, reader, master):
    customer_id, company_id = _pre_675be73(sync_ready, monkeypatch, app)
    _master(master)

    said = _read(reader, company_id)
    assert _code(customer_id) == "HQ", said
    assert _location_drift() == [], said
    for words in ("took", "changed in ConnectWise", "both sides", "(blank)"):  # (ChannelOnline's own edit: said so)
        assert words not in said, said
    # The link now agrees on the site the company is on: the next reading needs no site read, and finds the same.
    assert same_site(link_of("customer", customer_id).synced_values["location_code"], "Main")

    [item] = items(export(customer_id), "customer")
    assert item.action == "updated", item.message
    assert "kept ConnectWise" not in item.message, item.message
    # The site step is finished as for any linked company: the one site at the customer's address (ConnectWise's
    # "Main", made with the company at its address) is taken for HQ, and holds the code from then on.
    assert "Location Code HQ" in item.message or "site HQ" in item.message, item.message
    assert link_of("customer", customer_id).synced_values["location_code"] == "HQ"
    assert _code(customer_id) == "HQ"

    again = _read(reader, company_id)
    assert _code(customer_id) == "HQ", again
    assert _location_drift() == [], again
    assert [i.action for i in items(export(customer_id), "customer")] == ["unchanged"]


def test_with_main_elsewhere_the_next_export_creates_the_site(sync_ready, monkeypatch, app):
    """The company's site Main is at another address than the customer's (moved there in ConnectWise): the export
    straight after the stale link, no reading between, creates the site HQ and moves the company onto it."""
    customer_id, company_id = _pre_675be73(sync_ready, monkeypatch, app)
    _master(CW_MASTER)
    [main] = sync_ready.api("GET", f"company/companies/{company_id}/sites").json()
    resp = sync_ready.api("PATCH", f"company/companies/{company_id}/sites/{main['id']}",
                          json=[{"op": "replace", "path": "addressLine1", "value": "9 Elsewhere Rd"}])
    assert resp.status_code == 200, resp.text

    [item] = items(export(customer_id), "customer")
    assert item.action == "updated" and "kept ConnectWise" not in item.message, item.message
    assert company(sync_ready, company_id)["site"]["name"] == "HQ", item.message
    assert _sites(sync_ready, company_id) == ["HQ", "Main"]
    assert link_of("customer", customer_id).synced_values["location_code"] == "HQ"
    _read("live update", company_id)
    assert _code(customer_id) == "HQ"


@pytest.mark.parametrize("reader", READERS)
def test_a_company_moved_from_its_site_hq_to_main_in_connectwise_still_comes_back(sync_ready, monkeypatch, app,
                                                                                   reader):
    tune_runtime(monkeypatch, app, record_retry_intervals=())
    _master(CW_MASTER)
    customer = make_customer(location_code="HQ")
    assert export(customer.id).status == "succeeded"
    company_id = link_of("customer", customer.id).cw_id
    assert company(sync_ready, company_id)["site"]["name"] == "HQ"
    main = next(s["id"] for s in sync_ready.api("GET", f"company/companies/{company_id}/sites").json()
                if s["name"] == "Main")
    sync_ready.edit_company(company_id, {"site": {"id": main}})  # a person's move: the site HQ is still there

    said = _read(reader, company_id)
    assert same_site(_code(customer.id), "Main"), said
    assert same_site(link_of("customer", customer.id).synced_values["location_code"], "Main")
    [item] = items(export(customer.id), "customer")
    assert item.action == "unchanged", item.message
    assert company(sync_ready, company_id)["site"]["name"] == "Main"


def test_sites_connectwise_refuses_to_show_leave_the_agreement_as_it_is(sync_ready, monkeypatch, app):
    """ConnectWise refuses the read of the company's sites: the live update still succeeds, taking the agreement as it
    is (as before the rule: ConnectWise's "Main" taken) rather than failing every pass that meets the link."""
    customer_id, company_id = _pre_675be73(sync_ready, monkeypatch, app)
    _master(CW_MASTER)
    real_list = Resource.list

    def refused(self, *args, **kwargs):
        if self.path.endswith("/sites"):  # (the sandbox answers no 403: ConnectWise's refusal, as the client raises it)
            raise PermissionDenied("You do not have permission to view sites.", status=403)
        return real_list(self, *args, **kwargs)

    monkeypatch.setattr(Resource, "list", refused)
    said = _read("live update", company_id)
    assert same_site(_code(customer_id), "Main"), said
