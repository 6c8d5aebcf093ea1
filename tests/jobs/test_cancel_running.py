"""An admin cancels a run while it runs: its worker (a real ``colcw worker`` subprocess, another process than the
admin's) stops at the next safe boundary and closes it as cancelled, leaving nothing half-written; the records it
did not reach are not attempted; nothing starts it again. A run sleeping out a long Retry-After notices within
seconds, and one whose worker died while it stopped ends cancelled, not resumed."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from customers.customer_support import make_customer
from jobs_support import wait_until, worker_env
from rq.job import Job, JobStatus
from sqlalchemy import func, select

from colcw_plugin.cw import conditions as C
from colcw_plugin.models import CONTACT, CUSTOMER, CreateIntent, Link, RepMapping, SyncItem, SyncRun
from colcw_plugin.sync.jobs import history, recovery
from helpers import run_scheduler_once, runtime
from host_stub.extensions import db
from host_stub.models import Contact, Customer, StoreSite

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def fresh(run_id: int) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def count(*where, model=Link) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def ended(run_id: int) -> SyncRun | None:
    run = fresh(run_id)
    return run if run.status not in ("queued", "running", "cancelling", "waiting") else None


def cw_contacts_by_company(sandbox) -> Counter:
    """How many contacts each ConnectWise company holds."""
    held: Counter = Counter()
    page = 1
    while True:
        rows = sandbox.api("GET", "company/contacts", params={"fields": "id,company/id", "pageSize": 1000,
                                                             "page": page}).json()
        held.update((r.get("company") or {}).get("id") for r in rows)
        if len(rows) < 1000:
            return held
        page += 1


def test_an_import_cancelled_while_running_stops_between_pages_and_keeps_whole_pages(
        jobs_app, connected, redis_conn, processes):
    connected.generate(companies=6000, contacts_per_company=2)
    connected.add_fault(latency_ms=1500, method="GET", path="company/companies$")  # a page at a time, slowly
    run_id = runtime().submit(db.session, "customer_import", {"mode": "all"}, actor=ADMIN).run.id
    processes.start(["colcw", "worker"], worker_env(jobs_app))
    wait_until(lambda: fresh(run_id).done >= 1000, timeout=90, message="the first page of companies to be saved")

    asked = recovery.cancel(db.session, runtime().queue, run_id, actor=ADMIN)
    assert asked.status == "cancelling", asked.status
    assert asked.message.startswith("Cancel requested by admin@demo.example: "), asked.message
    assert asked.stop_requested_at is not None
    assert recovery.cancel(db.session, runtime().queue, run_id, actor=ADMIN).message == asked.message  # once

    done = wait_until(lambda: ended(run_id), timeout=60, message="the worker to stop the run")
    assert done.status == "cancelled", (done.status, done.message)
    assert done.total == 6000 and 1000 <= done.done < 6000, (done.done, done.total)
    assert done.done % 1000 == 0, done.done  # whole pages: it stopped between two
    assert done.message == (f"Cancelled by admin@demo.example while running ({done.done:,} of 6,000 records done; "
                            f"the {6000 - done.done:,} not done are not listed: Run the whole job again reaches "
                            "them — records it already did come back unchanged, at little cost)."), done.message

    # The host holds exactly what the log says: each customer with its link and every contact of its company, linked.
    assert count(model=Customer) == count(Link.entity == CUSTOMER) == done.done
    assert count(model=Contact) == count(Link.entity == CONTACT)
    assert count(SyncItem.run_id == run_id, SyncItem.action == "created", model=SyncItem) == done.done
    connected.clear_faults()
    in_cw = cw_contacts_by_company(connected)
    in_host = dict(db.session.execute(select(Link.cw_id, func.count(Contact.id)).join(
        Contact, Contact.customer_id == Link.host_id, isouter=True).where(Link.entity == CUSTOMER)
        .group_by(Link.cw_id)).all())
    assert in_host == {cw_id: in_cw[cw_id] for cw_id in in_host}

    # Its job ended (not failed, so RQ does not retry it), and nothing starts the run again.
    job = Job.fetch(done.rq_job_id, connection=redis_conn)
    wait_until(lambda: job.get_status(refresh=True) == JobStatus.FINISHED, message="the RQ job to finish")
    run_scheduler_once()
    assert fresh(run_id).status == "cancelled" and runtime().queue.rq.count == 0
    assert history.retry_label(db.session, runtime().kinds, fresh(run_id)) == "Run the whole job again"


def _customers(cw_client, n: int) -> list[int]:
    """``n`` customers with two contacts each, and the rep exports act for mapped to a member."""
    member = cw_client.members.list(conditions=C.eq("identifier", "admin1"), fields=["id"])[0]
    store = db.session.execute(select(StoreSite)).scalars().first()
    db.session.add(RepMapping(user_id=store.default_rep_id, member_id=member["id"], member_identifier="admin1"))
    db.session.commit()
    return [make_customer(name=f"Stop Co {i:02d}", account_number=f"STOP{i:02d}").id for i in range(n)]


def test_an_export_cancelled_while_running_leaves_no_company_half_written_and_the_rest_not_attempted(
        jobs_app, connected, cw_client, redis_conn, processes):
    ids = _customers(cw_client, 40)
    connected.add_fault(latency_ms=300, method="POST", path="company/companies$")
    run_id = runtime().submit(db.session, "customer_export", {"all": True}, actor=ADMIN).run.id
    processes.start(["colcw", "worker"], worker_env(jobs_app))
    wait_until(lambda: fresh(run_id).done >= 4, timeout=60, message="a few customers to be exported")
    recovery.cancel(db.session, runtime().queue, run_id, actor=ADMIN)

    done = wait_until(lambda: ended(run_id), timeout=60, message="the worker to stop the run")
    assert done.status == "cancelled", (done.status, done.message)
    outcomes = {i.host_id: i for i in db.session.execute(select(SyncItem).where(
        SyncItem.run_id == run_id, SyncItem.entity == CUSTOMER)).scalars()}
    assert sorted(outcomes) == sorted(ids) and done.done == done.total == 40  # one outcome each
    created = sorted(h for h, i in outcomes.items() if i.action == "created")
    left = sorted(h for h, i in outcomes.items() if i.action == "not_attempted")
    assert 4 <= len(created) < 40 and len(created) + len(left) == 40, Counter(i.action for i in outcomes.values())
    assert done.message == (f"Cancelled by admin@demo.example while running ({len(created)} of 40 customers done; "
                            f"{len(left)} not done).")
    assert done.reached == len(created)  # what its pages show: how far it got
    for h in left:
        assert outcomes[h].message.endswith(": the run was cancelled by admin@demo.example.")  # (its outcome says
        assert "not attempted" not in outcomes[h].message  # "not attempted" beside it, wherever it is shown)
        assert outcomes[h].resolution == "Retry on the run's page re-runs them."

    # Nothing half-written: every company ConnectWise holds is a linked customer's, with its two contacts linked;
    # the customers not reached have nothing in ConnectWise; no contact create was left unrecorded.
    connected.clear_faults()
    companies = connected.api("GET", "company/companies", params={"fields": "id", "pageSize": 1000}).json()
    linked = dict(db.session.execute(select(Link.host_id, Link.cw_id).where(Link.entity == CUSTOMER)).all())
    assert sorted(linked) == created and sorted(linked.values()) == sorted(c["id"] for c in companies)
    in_cw = cw_contacts_by_company(connected)
    assert all(in_cw[linked[h]] == 2 for h in created), in_cw
    assert count(Link.entity == CONTACT) == 2 * len(created) and count(model=CreateIntent) == 0
    assert history.retry_label(db.session, runtime().kinds, done) == f"Retry the {len(left)} not attempted customers"
    run_scheduler_once()
    assert fresh(run_id).status == "cancelled" and runtime().queue.rq.count == 0


def test_a_run_sleeping_out_a_long_retry_after_stops_within_seconds(jobs_app, connected, cw_client, redis_conn,
                                                                    processes):
    _customers(cw_client, 3)
    # (a queued run sleeps out in its worker only a Retry-After up to runtime.QUEUED_HOLD_SECONDS, 15 s: a longer one
    # ends its attempt, to wait in RQ)
    connected.add_fault(status=429, retry_after=14, method="POST", path="company/companies$")
    run_id = runtime().submit(db.session, "customer_export", {"all": True}, actor=ADMIN).run.id
    processes.start(["colcw", "worker"], worker_env(jobs_app))
    wait_until(lambda: fresh(run_id).waiting_reason.endswith("trying the request again"), timeout=60,
               message="the run to sleep out ConnectWise's Retry-After")
    recovery.cancel(db.session, runtime().queue, run_id, actor=ADMIN)
    asked = time.monotonic()
    done = wait_until(lambda: ended(run_id), timeout=15, message="the run to stop")
    assert time.monotonic() - asked < 10
    assert done.status == "cancelled", (done.status, done.message)
    assert done.message == "Cancelled by admin@demo.example while running (0 of 3 customers done; 3 not done).", done.message
    left = db.session.execute(select(SyncItem).where(SyncItem.run_id == run_id)).scalars().all()
    assert [i.action for i in left] == ["not_attempted"] * 3
    # The customer whose create slept out the Retry-After was tried; one a worker had not started when the cancel
    # came is not started any more (which of the others got that far is timing).
    cancelled = "the run was cancelled by admin@demo.example"
    tried = [i for i in left if f"tried, not done: {cancelled} (" in i.message]
    assert tried and all(i in tried or i.message.endswith(f": {cancelled}.") for i in left), \
        [i.message for i in left]
    assert count(model=Link) == 0 and count(model=CreateIntent) == 0
    run_scheduler_once()
    assert fresh(run_id).status == "cancelled" and runtime().queue.rq.count == 0


def test_a_run_whose_worker_died_while_stopping_ends_cancelled_not_resumed(jobs_app, redis_conn, processes):
    run_id = runtime().submit(db.session, "test_count", {"n": 5, "stall_at": 3, "stall_seconds": 120},
                              actor=ADMIN).run.id
    worker = processes.start(["colcw", "worker"], worker_env(jobs_app, COLCW_LIVENESS_SECONDS=1))
    wait_until(lambda: fresh(run_id).done == 2, message="the worker to finish 2 of 5 items")
    assert recovery.cancel(db.session, runtime().queue, run_id, actor=ADMIN).status == "cancelling"
    # Its worker is alive (stuck inside item 3): the run stays "stopping" until it acknowledges.
    assert recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=0) == []
    assert fresh(run_id).status == "cancelling"

    processes.kill(worker)
    wait_until(lambda: recovery.detect_interrupted(db.session, runtime().queue, stale_seconds=0) == [run_id],
               message="the liveness key to expire")
    done = fresh(run_id)
    assert done.status == "cancelled" and done.interruptions == 0 and done.finished_at is not None
    assert done.message.startswith("Cancelled by admin@demo.example while running (2 of 5 records done; the 3 not "
                                   "done are not listed: Run the whole job again reaches them — records it already "
                                   "did come back unchanged, at little cost). Its worker stopped before it "
                                   "acknowledged"), done.message
    run_scheduler_once()
    assert fresh(run_id).status == "cancelled" and runtime().queue.rq.count == 0  # not resumed
