"""A safety-net pass's summary counts what its progress counts: the linked records it checked (each has a result),
and says apart how many other records it read that needed nothing here (callbacks announce every company, contact
and opportunity in ConnectWise, linked or not)."""

from __future__ import annotations

from inbound_support import enable, export_customer

from colcw_plugin.models import CW_MASTER, SyncRun
from colcw_plugin.sync.inbound.hints import Hint, record_hint
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db


def _run(kind: str, params: dict) -> SyncRun:
    run = create_run(db.session, runtime().kinds, kind, params)
    db.session.commit()
    return runtime().execute(db.session, run.id)


def test_a_safety_net_pass_counts_the_records_its_progress_counts(app, fast_callbacks):
    sandbox = fast_callbacks
    _customer, company, _contacts = export_customer(sandbox, account_number="CNT1", name="Count Co")
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"  # the first pass sets the watermark
    others = []
    for n in range(3):  # companies no customer here is linked to, announced by callbacks
        resp = sandbox.api("POST", "company/companies", json={
            "identifier": f"OTH{n}", "name": f"Other {n}", "addressLine1": "1 Way", "city": "Austin", "state": "TX",
            "phoneNumber": f"512-555-04{n:02d}"})
        assert resp.status_code == 201
        others.append(resp.json()["id"])
        record_hint(db.session, Hint("company", resp.json()["id"], "added"))
    sandbox.edit_company(company, {"city": "Dallas"})

    run = _run("cw_reconcile", {"mode": "changes"})
    assert run.status == "succeeded", run.message
    assert run.total == run.done and run.total >= 1
    linked = f"{run.total} linked record{'s' if run.total != 1 else ''}"
    assert run.message.startswith(f"Checked {linked} changed in ConnectWise since "), run.message
    assert "; 3 other records read (announced by callbacks or changed in ConnectWise) are not linked here, " \
           "inactive, or already marked deleted: nothing to do." in run.message, run.message


def test_a_deleted_opportunity_read_again_is_not_counted_as_a_record_to_do(app, world):
    """Its link already says it was deleted: it gets no result, so the progress does not count it (it ended at
    "0 / 1" and the summary said a linked record was checked)."""
    from inbound_support import line

    quote = world.quote([line("OPT-7010")], name="Gone twice")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    enable("http://127.0.0.1:1", CW_MASTER, check=lambda url: "")
    assert _run("cw_reconcile", {"mode": "changes"}).status == "succeeded"
    world.sandbox.delete_record("opportunities", opp["id"])
    assert _run("cw_reconcile", {"mode": "deletions"}).status == "succeeded"  # the link is marked deleted
    record_hint(db.session, Hint("opportunity", opp["id"], "deleted"))  # a late callback says so again
    run = _run("cw_reconcile", {"mode": "changes"})
    assert run.status == "succeeded", run.message
    assert run.total == run.done, (run.done, run.total, run.message)
    assert "1 other record read" in run.message and " is not linked here, inactive, or already marked deleted" \
        in run.message, run.message
