"""A run waiting for a record's lock (another export holds the record) is cancelled within seconds, not after the
lock's wait (two minutes for an export, half an hour for live updates): the wait asks the run's "was I asked to
stop?" about once a second, on PostgreSQL in slices of its ``lock_timeout``. It ends with :class:`Stopped` — not a
:class:`Busy` — and the run ends ``cancelled``, its records not reached, nothing written."""

from __future__ import annotations

import threading
import time

import pytest
from jobs_support import wait_until, worker_env
from lock_support import free, held_elsewhere
from sqlalchemy import func, select

from colcw_plugin.cw import conditions as C
from colcw_plugin.models import CreateIntent, Link, RepMapping, SyncItem, SyncRun
from colcw_plugin.sync.customers import exclusive
from colcw_plugin.sync.jobs import recovery
from colcw_plugin.sync.quotes.locks import document_lock, name_lock
from colcw_plugin.sync.shared.locks import Busy, Stopped, advisory_lock, advisory_locks, holds, lock_key
from helpers import recorded_statements, run_scheduler_once, runtime
from host_stub.extensions import db
from host_stub.models import Customer, StoreSite

pytestmark = pytest.mark.postgres

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def _take(take) -> None:
    with take():
        pass


def _stop_after(seconds: float):
    """A ``should_stop`` that answers True from ``seconds`` on, and records when it was asked."""
    asked: list[float] = []
    at = time.monotonic() + seconds

    def should_stop() -> bool:
        asked.append(time.monotonic())
        return time.monotonic() >= at
    return should_stop, asked


def test_a_postgresql_waiter_asked_to_stop_stops_within_seconds_and_keeps_nothing(app):
    engine = db.engine
    key, unheld = lock_key("colcw-customer", 501), lock_key("colcw-customer", 502)
    release, holder = held_elsewhere(lambda: advisory_lock(engine, key, "busy"))
    try:
        should_stop, asked = _stop_after(0.5)
        started = time.monotonic()
        with pytest.raises(Stopped):
            _take(lambda: advisory_locks(engine, [unheld, key], "busy", wait_seconds=120, should_stop=should_stop))
        assert time.monotonic() - started < 2.5
        assert 1 <= len(asked) <= 4  # about once a second
        assert not holds(unheld) and free(lambda: advisory_lock(engine, unheld, "busy", wait_seconds=0))
        assert not free(lambda: advisory_lock(engine, key, "busy", wait_seconds=0))  # the holder's, untouched

        # Never asked to stop: the slices add up to its wait, then Busy as before.
        started = time.monotonic()
        with pytest.raises(Busy, match="busy"):
            _take(lambda: advisory_lock(engine, key, "busy", wait_seconds=2.5, should_stop=lambda: False))
        assert 2.4 <= time.monotonic() - started < 4
    finally:
        release.set()
        holder.join(10)
    # Free: taken at once, should_stop never asked.
    with advisory_lock(engine, key, "busy", wait_seconds=5, should_stop=lambda: pytest.fail("asked")):
        assert holds(key)


def test_a_cancellable_postgresql_wait_is_one_statement_whatever_its_length(app):
    """Asked once a second whether to stop, a wait still sends one waiting statement: it keeps its place among
    PostgreSQL's waiters, and the server logs no "canceling statement due to lock timeout" a second."""
    engine = db.engine
    key = lock_key("colcw-customer", 503)
    release, holder = held_elsewhere(lambda: advisory_lock(engine, key, "busy"))
    asked = []
    try:
        with recorded_statements(engine) as sent, pytest.raises(Busy, match="busy"):
            _take(lambda: advisory_lock(engine, key, "busy", wait_seconds=3.2,
                                        should_stop=lambda: asked.append(1) or False))
    finally:
        release.set()
        holder.join(10)
    assert len(asked) >= 2  # it was asked while it waited
    assert sum("pg_advisory_xact_lock" in st for st in sent) == 1, sent


def test_a_postgresql_waiter_gets_the_lock_when_its_holder_lets_go_between_two_looks(app):
    engine = db.engine
    key = lock_key("colcw-customer", 503)
    release, holder = held_elsewhere(lambda: advisory_lock(engine, key, "busy"))
    threading.Timer(1.6, release.set).start()
    started = time.monotonic()
    with advisory_lock(engine, key, "busy", wait_seconds=30, should_stop=lambda: False):
        assert holds(key) and 1.5 <= time.monotonic() - started < 3.5
    holder.join(10)


def test_a_name_lock_waited_for_under_a_document_lock_stops_and_the_document_lock_stays(app):
    """The opportunity name's lock is taken on the document lock's connection (in a savepoint): a wait for it
    cut short gives back only what it took, never the document's lock."""
    engine = db.engine
    release, holder = held_elsewhere(lambda: name_lock(engine, 7, "Busy deal"))
    try:
        with document_lock(engine, 601):
            should_stop, _ = _stop_after(0.3)
            started = time.monotonic()
            with pytest.raises(Stopped):
                _take(lambda: name_lock(engine, 7, "Busy deal", should_stop=should_stop))
            assert time.monotonic() - started < 2.5
            assert not free(lambda: document_lock(engine, 601, wait_seconds=0))  # still ours
            with name_lock(engine, 7, "Another deal", wait_seconds=0):  # the connection still works
                pass
        assert free(lambda: document_lock(engine, 601, wait_seconds=0))
    finally:
        release.set()
        holder.join(10)


# --- a real run, cancelled while it waits ---------------------------------------------------------------


def fresh(run_id: int) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def ended(run_id: int) -> SyncRun | None:
    run = fresh(run_id)
    return run if run.status not in ("queued", "running", "cancelling", "waiting") else None


def _customers(cw_client, n: int) -> list[int]:
    from customers.customer_support import make_customer

    member = cw_client.members.list(conditions=C.eq("identifier", "admin1"), fields=["id"])[0]
    store = db.session.execute(select(StoreSite)).scalars().first()
    db.session.add(RepMapping(user_id=store.default_rep_id, member_id=member["id"], member_identifier="admin1"))
    db.session.commit()
    return [make_customer(name=f"Held Co {i:02d}", account_number=f"HELD{i:02d}").id for i in range(n)]


@pytest.mark.redis
@pytest.mark.slow
def test_an_export_waiting_for_another_exports_customers_is_cancelled_within_seconds(
        jobs_app, connected, cw_client, redis_conn, processes):
    ids = _customers(cw_client, 3)
    with exclusive.customers_locked(db.session, ids[1:2], wait_seconds=0):  # another export holds one of them
        db.session.rollback()
        run_id = runtime().submit(db.session, "customer_export", {"all": True}, actor=ADMIN).run.id
        processes.start(["colcw", "worker"], worker_env(jobs_app))
        wait_until(lambda: "Waiting for another export" in (fresh(run_id).waiting_reason or ""), timeout=60,
                   message="the run to wait for the held customer")
        asked = time.monotonic()
        cancelling = recovery.cancel(
            db.session, runtime().queue, run_id, actor=ADMIN)
        assert cancelling.status == "cancelling", cancelling.status
        done = wait_until(lambda: ended(run_id), timeout=20, message="the run to stop waiting and end")
        assert time.monotonic() - asked < 10
    assert done.status == "cancelled", (done.status, done.message)
    assert done.message == "Cancelled by admin@demo.example while running (0 of 3 customers done; 3 not done).", \
        done.message
    left = db.session.execute(select(SyncItem).where(SyncItem.run_id == run_id)).scalars().all()
    assert sorted(i.host_id for i in left) == sorted(ids) and {i.action for i in left} == {"not_attempted"}
    assert all("the run was cancelled by admin@demo.example" in i.message for i in left), [i.message for i in left]
    assert "Busy" not in done.message and "still running after two minutes" not in done.message
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Link)) == 0
    assert db.session.scalar(select(func.count()).select_from(CreateIntent)) == 0
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 3
    run_scheduler_once()
    assert fresh(run_id).status == "cancelled" and runtime().queue.rq.count == 0  # nothing starts it again


@pytest.mark.redis
@pytest.mark.slow
def test_a_safety_net_pass_waiting_for_the_live_update_lock_is_cancelled_within_seconds(
        jobs_app, connected, redis_conn, processes):
    # Another pass holds the live-update lock (its wait is half an hour).
    with advisory_lock(db.engine, lock_key("colcw-inbound"), "busy", wait_seconds=0):
        run_id = runtime().submit(db.session, "cw_reconcile", {"mode": "changes"}, actor=ADMIN).run.id
        processes.start(["colcw", "worker"], worker_env(jobs_app))
        wait_until(lambda: fresh(run_id).status == "running", timeout=60, message="the pass to start")
        time.sleep(1.5)  # it waits for the lock now
        asked = time.monotonic()
        assert recovery.cancel(db.session, runtime().queue, run_id, actor=ADMIN).status == "cancelling"
        done = wait_until(lambda: ended(run_id), timeout=20, message="the pass to stop waiting and end")
        assert time.monotonic() - asked < 10
    assert done.status == "cancelled", (done.status, done.message)
    assert done.message.startswith("Cancelled by admin@demo.example while running"), done.message
    run_scheduler_once()
    assert fresh(run_id).status == "cancelled" and runtime().queue.rq.count == 0
