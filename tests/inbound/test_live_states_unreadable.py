"""A live update whose ConnectWise state list cannot be read (the API member not allowed to read it) still applies
what ConnectWise changed: states are compared as spelled, and the run's message says so once. Against the sandbox
over HTTP (it failed entirely before)."""

from __future__ import annotations

from inbound_support import enable, export_customer

from colcw_plugin.models import CW_MASTER
from colcw_plugin.sync.inbound import LIVE_KIND
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Customer


def test_an_unreadable_state_list_leaves_the_live_update_going_and_is_said_once(app, fast_callbacks):
    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="LS1", name="Lone Star Dental", city="Austin",
                                           state="TX")
    customer = db.session.get(Customer, customer.id)
    data = {f: getattr(customer, f) for f in services.CUSTOMER_EDITABLE}
    services.save_customer({**data, "state": "Texas"}, customer_id=customer.id)  # spelled out, not exported
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    sandbox.edit_company(company, {"name": "Lone Star Dental Group"})
    sandbox.deny(["company/states"])

    run = create_run(db.session, runtime().kinds, LIVE_KIND, {"records": {"company": [company]}})
    db.session.commit()
    done = runtime().execute(db.session, run.id)

    assert done.status == "succeeded", done.message
    assert db.session.get(Customer, customer.id).name == "Lone Star Dental Group"
    assert done.message.count("ConnectWise's state list could not be read") == 1, done.message
    assert "states were compared as spelled" in done.message


def test_a_live_update_of_announced_records_says_it_too(app, fast_callbacks):
    """The live update callbacks start (records announced, read in waves) says it as the named one does."""
    from colcw_plugin.models import InboundHint

    sandbox = fast_callbacks
    customer, company, _ = export_customer(sandbox, account_number="LS2", name="Lone Star Optics", city="Austin",
                                           state="TX")
    customer = db.session.get(Customer, customer.id)
    data = {f: getattr(customer, f) for f in services.CUSTOMER_EDITABLE}
    services.save_customer({**data, "state": "Texas"}, customer_id=customer.id)  # spelled out, not exported
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    sandbox.edit_company(company, {"name": "Lone Star Optics Group"})
    sandbox.deny(["company/states"])
    db.session.add(InboundHint(entity="company", cw_id=company, action="updated"))
    run = create_run(db.session, runtime().kinds, LIVE_KIND, {})
    db.session.commit()
    done = runtime().execute(db.session, run.id)

    assert done.status == "succeeded", done.message
    assert db.session.get(Customer, customer.id).name == "Lone Star Optics Group"
    assert done.message.count("ConnectWise's state list could not be read") == 1, done.message
