"""A host state written out ("Nova Scotia") is the same state as ConnectWise's code ("NS"), which exports record as
agreed: when ConnectWise then changes the state, live updates see a change made in ConnectWise only, never a
conflict the rep did not make (compared as written, "Nova Scotia" read as the host's own change)."""

from __future__ import annotations

import pytest
from inbound_support import enable, export_customer, run_items, settle, wait_for
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, HOST_MASTER, RecordDrift, get_link
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Customer

PROVINCES = {"NS": "Nova Scotia", "QC": "Quebec"}


def _provinces(sandbox) -> None:
    canada = sandbox.api("GET", "company/countries", params={"conditions": 'name = "Canada"'}).json()[0]
    for code, name in PROVINCES.items():
        resp = sandbox.api("POST", "company/states", json={"identifier": code, "name": name,
                                                           "country": {"id": canada["id"]}})
        assert resp.status_code == 201, resp.text


def _drift(customer_id: int) -> list[tuple]:
    return [(d.entity, d.field, d.kind, d.host_value, d.cw_value) for d in db.session.execute(
        select(RecordDrift).where(RecordDrift.customer_id == customer_id).order_by(RecordDrift.id)).scalars()]


def _written_out_and_exported(sandbox) -> Customer:
    """Exported as NS, then the rep writes the province out and exports again: nothing sent, agreed as "NS"."""
    _provinces(sandbox)
    customer, company, _ = export_customer(sandbox, city="Halifax", state="NS", zip="B3H 1A1", country="Canada")
    customer = db.session.get(Customer, customer.id)
    data = {f: getattr(customer, f) for f in services.CUSTOMER_EDITABLE}
    services.save_customer({**data, "state": "Nova Scotia"}, customer_id=customer.id)
    run = create_run(db.session, runtime().kinds, "customer_export", {"customer_id": customer.id})
    db.session.commit()
    assert runtime().execute(db.session, run.id).status == "succeeded"
    assert get_link(db.session, "customer", customer.id).synced_values["state"] == "NS"
    assert sandbox.api("GET", f"company/companies/{company}").json()["state"] == "NS"
    return db.session.get(Customer, customer.id)


@pytest.mark.parametrize("master", [HOST_MASTER, CW_MASTER])
def test_a_state_changed_in_connectwise_is_no_conflict_with_the_same_state_written_out(
        app, fast_callbacks, live_server, worker_thread, master):
    sandbox = fast_callbacks
    customer = _written_out_and_exported(sandbox)
    company = get_link(db.session, "customer", customer.id).cw_id
    enable(live_server.url, master)
    sandbox.edit_company(company, {"state": "QC"})
    if master == HOST_MASTER:
        wait_for(lambda: _drift(customer.id))
        settle(sandbox)
        assert _drift(customer.id) == [("customer", "state", "drift", "Nova Scotia", "QC")]
        assert db.session.get(Customer, customer.id).state == "Nova Scotia"
    else:
        def taken():
            db.session.expire_all()
            return db.session.get(Customer, customer.id).state == "QC"
        wait_for(taken)
        settle(sandbox)
        assert _drift(customer.id) == []
        assert get_link(db.session, "customer", customer.id).synced_values["state"] == "QC"
    log = " ".join(i.message for i in run_items("cw_live_update"))
    assert "changed on both sides" not in log, log
