"""A run that gave up on a record after a transient failure says what happened, in the run's message (history) and
the record's: tried, not done; a dropped connection is no answer of ConnectWise's."""

from __future__ import annotations

from customer_support import companies, make_customer
from sqlalchemy import select

from colcw_plugin.models import SyncItem, SyncRun
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db


def _export(client, customer_id: int) -> SyncRun:
    """An export in the foreground with no pause between passes (the command line's, without its passes): it gives
    up on what still fails. (A rep's click hands such an export over to the background run instead:
    test_export_transient_hands_over.py.)"""
    run = create_run(db.session, runtime().kinds, "customer_export", {"customer_id": customer_id}, trigger="manual")
    db.session.commit()
    runtime().execute(db.session, run.id, person_waiting=True)
    db.session.expire_all()
    return db.session.execute(select(SyncRun).order_by(SyncRun.id.desc()).limit(1)).scalar_one()


def test_a_dropped_connection_is_said_as_such_not_as_connectwise_answering(sync_ready, rep_client):
    customer = make_customer()
    sync_ready.add_fault(status="drop", method="POST", path="company/companies$")
    run = _export(rep_client, customer.id)
    assert companies(sync_ready) == []
    assert run.message.startswith("1 customer not done: the connection to ConnectWise failed ("), run.message
    assert "ConnectWise answered" not in run.message and "could not be reached" not in run.message
    [item] = db.session.execute(select(SyncItem).where(SyncItem.run_id == run.id)).scalars().all()
    assert item.action == "not_attempted"
    assert item.message.startswith("Acme Corp (ACME1): tried, not done: the connection to ConnectWise failed ("), \
        item.message


def test_a_server_error_is_connectwise_answering(sync_ready, rep_client):
    customer = make_customer()
    sync_ready.add_fault(status=500, method="POST", path="company/companies$")
    run = _export(rep_client, customer.id)
    # said once, with ConnectWise's answer in brackets (it said "…server error; ConnectWise answered: HTTP 500")
    assert run.message.startswith("1 customer not done: ConnectWise answered with a server error (HTTP 500"), \
        run.message
    assert run.message.count("answered") == 1, run.message
