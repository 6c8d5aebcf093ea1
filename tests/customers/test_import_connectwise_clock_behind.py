"""A ConnectWise whose clock is behind colcw's loses no change to the import of the changed companies: the last
import's start is kept by ConnectWise's clock, as its answers' Date told it (colcw_plugin/cw/server_clock.py), and
the next import asks from there. By the worker's clock less two minutes, a change made in a ConnectWise ten minutes
behind after an import carried a time before the next import's "since", and no import ever read it."""

from __future__ import annotations

import datetime as dt
import time

from customer_support import items, run
from sqlalchemy import select, update

from colcw_plugin.models import CW_MASTER, Link, SyncRun
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.customers.importer import last_import_start
from host_stub.extensions import db
from host_stub.models import Customer

BEHIND = 600  # seconds


def _host_of(cw_id: int) -> Customer:
    db.session.expire_all()
    host_id = db.session.execute(select(Link.host_id).where(Link.entity == "customer", Link.cw_id == cw_id)).scalar()
    return db.session.get(Customer, host_id)


def test_a_change_in_a_connectwise_ten_minutes_behind_is_read_by_the_next_incremental_import(connected):
    sandbox = connected
    sandbox.set_options(clock_offset_seconds=-BEHIND)
    sandbox.generate(4, 1, age_minutes=60)  # companies nobody touched for an hour, by ConnectWise's clock
    live = get_live(db.session)
    live.customer_master = CW_MASTER  # the changes are taken (the host the master keeps its values and notes them)
    db.session.commit()
    full = run("customer_import", {"mode": "all"})
    assert full.status == "succeeded" and full.done == 4, full.message
    db.session.expire_all()
    run_row = db.session.get(SyncRun, full.id)
    kept = (run_row.started_at - run_row.cw_started_at).total_seconds()
    assert BEHIND <= kept < BEHIND + 3, kept  # its start by ConnectWise's clock
    assert last_import_start(db.session) == run_row.cw_started_at

    target = sandbox.api("GET", "company/companies", params={"pageSize": 1, "orderBy": "id asc"}).json()[0]
    assert _host_of(target["id"]) is not None
    assert sandbox.api("PATCH", f"company/companies/{target['id']}", json=[
        {"op": "replace", "path": "name", "value": "Renamed Behind The Clock"}]).status_code == 200

    changed = run("customer_import", {"mode": "changed"})
    assert "Companies changed since" in changed.message, changed.message
    assert {i.cw_id: i.action for i in items(changed, "customer")} == {target["id"]: "updated"}, changed.message
    assert _host_of(target["id"]).name == "Renamed Behind The Clock"


def test_an_import_stored_before_colcw_kept_its_start_by_connectwises_clock_asks_from_its_own_start(connected_demo):
    full = run("customer_import", {"mode": "all"})
    db.session.execute(update(SyncRun).where(SyncRun.id == full.id).values(cw_started_at=None))
    db.session.commit()
    db.session.expire_all()
    started = db.session.get(SyncRun, full.id).started_at
    assert last_import_start(db.session) == started
    changed = run("customer_import", {"mode": "changed"})
    assert changed.status in ("succeeded", "partial"), changed.message
    db.session.expire_all()
    after = db.session.get(SyncRun, changed.id)
    assert after.cw_started_at == after.started_at  # the clocks agree to within the measure: its own start


def test_a_change_in_the_second_a_link_keeps_is_not_vouched_for_by_a_connectwise_behind(connected):
    """A record's ``lastUpdated`` has whole seconds: a re-import passes a company over unread (settled.py) only when its
    stamp is the one its link keeps and well before the link was written, so a second change in the same second is not
    missed. "Well before" is two minutes by ConnectWise's clock: with it ten minutes behind, a company stamped just
    before the import looked twelve minutes old by colcw's, and a change in that second was never read."""
    sandbox = connected
    sandbox.set_options(clock_offset_seconds=-BEHIND)
    sandbox.generate(3, 1, age_minutes=0)
    live = get_live(db.session)
    live.customer_master = CW_MASTER
    db.session.commit()
    assert run("customer_import", {"mode": "all"}).status == "succeeded"
    target = sandbox.api("GET", "company/companies", params={"pageSize": 1, "orderBy": "id asc"}).json()[0]
    kept = target["_info"]["lastUpdated"]
    # Someone else's edit lands in the same second of ConnectWise's clock (set back to it here), so its stamp is the
    # one the link keeps.
    second = dt.datetime.strptime(kept, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp()
    sandbox.set_options(clock_offset_seconds=second + 0.05 - time.time())  # (the PATCH within 0.95 s)
    assert sandbox.api("PATCH", f"company/companies/{target['id']}", json=[
        {"op": "replace", "path": "name", "value": "Same Second Rename"}]).json()["_info"]["lastUpdated"] == kept

    again = run("customer_import", {"mode": "all"})
    assert {i.cw_id: i.action for i in items(again, "customer")}.get(target["id"]) == "updated", again.counts
    assert _host_of(target["id"]).name == "Same Second Rename"
