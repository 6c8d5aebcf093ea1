"""A live-update pass and an export of the same customer take turns (the customer's export lock). An export reads the
customer, then its link's agreement and ConnectWise's company, and sends what the customer changed since the
agreement. A pass applying a colleague's change in ConnectWise between the export's two reads made the export read the
customer as it was before (the old value) and the agreement as it is after (the new one): the old value looked like an
edit made in ChannelOnline, and the export sent it back over the colleague's change, with ConnectWise the master. Now
the pass leaves a customer being exported to the next pass. Against the sandbox and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from inbound_support import enable, export_customer
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, SyncItem, SyncRun
from colcw_plugin.sync.customers import exporter as exporter_module
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = pytest.mark.postgres


def _run(kind: str, params: dict) -> SyncRun:
    run = create_run(db.session, runtime().kinds, kind, params)
    db.session.commit()
    return runtime().execute(db.session, run.id)


def _colleague_sets_phone(sandbox, company: int, phone: str) -> None:
    """A colleague changes the company's phone in ConnectWise."""
    assert sandbox.api("PATCH", f"company/companies/{company}", json=[
        {"op": "replace", "path": "phoneNumber", "value": phone}]).status_code == 200


def _exported_then_changed_in_cw(sandbox, account_number: str, name: str) -> tuple[int, int]:
    """A customer exported, live updates on (ConnectWise the master, the callbacks going nowhere), then its phone
    changed in ConnectWise by a colleague to 512-555-0188 (it had 512-555-0100): (the customer's id, its company)."""
    customer, company, _ = export_customer(sandbox, account_number=account_number, name=name)
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    _colleague_sets_phone(sandbox, company, "512-555-0188")
    return customer.id, company


def test_a_pass_during_an_export_leaves_the_customer_to_the_next(app, fast_callbacks, monkeypatch):
    sandbox = fast_callbacks
    # A colleague changes the phone in ConnectWise; a live update reads it while the export runs.
    customer_id, company = _exported_then_changed_in_cw(sandbox, "LIVX1", "Live Turn Dental")
    passes: list[SyncRun] = []
    real_read = exporter_module.read_chunk

    def a_pass() -> None:
        with app.app_context():
            passes.append(_run("cw_live_update", {"records": {"company": [company]}}))
            db.session.remove()

    def read_chunk(*args, **kwargs):  # the export has read the customer, not its links yet
        if not passes:
            thread = threading.Thread(target=a_pass)
            thread.start()
            thread.join(30)
        return real_read(*args, **kwargs)

    monkeypatch.setattr(exporter_module, "read_chunk", read_chunk)
    done = _run("customer_export", {"customer_id": customer_id})
    monkeypatch.undo()
    assert done.status == "succeeded", done.message
    assert len(passes) == 1 and passes[0].status == "succeeded", passes
    # The colleague's change stays in ConnectWise (before: the export sent 512-555-0100 back over it).
    assert sandbox.api("GET", f"company/companies/{company}").json()["phoneNumber"] == "512-555-0188"
    db.session.rollback()
    said = db.session.execute(select(SyncItem.message).where(SyncItem.run_id == passes[0].id,
                                                             SyncItem.entity == "customer")).scalars().all()
    assert said and all("was being exported to ConnectWise" in s for s in said), said
    # The next pass brings it in.
    assert _run("cw_live_update", {"records": {"company": [company]}}).status == "succeeded"
    db.session.expire_all()
    assert db.session.get(Customer, customer_id).phone == "512-555-0188"
