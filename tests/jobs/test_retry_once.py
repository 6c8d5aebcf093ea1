"""A failed run is retried once, and the queue dashboard agrees with the job history.

Retry on a run's page removes the run's failed job from RQ's failed registry; Requeue on the dashboard of a run that
has a retry already makes no second one (it removes the stale failed job and names the retry), also when two ask at
once; a run resumed after its work-horse died keeps no failed job. Every assertion reads the test's own Redis and
PostgreSQL: what the failed registry holds, which runs exist, what the run's page shows.
"""

from __future__ import annotations

import re
import threading
import time

from jobs_support import failed_run
from sqlalchemy import event, select, text

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs import recovery
from colcw_plugin.views.dashboard import RQ_PREFIX
from helpers import csrf_from, runtime
from host_stub import services
from host_stub.extensions import db

JOBS = "/admin/integration/connectwise/jobs"
ADMIN = {"id": None, "email": "ops@demo.example", "role": "admin"}


def _failed_run(drain_queue, account: str) -> SyncRun:
    return failed_run(drain_queue, account, ADMIN)


def _retries(run_id: int) -> list[int]:
    db.session.expire_all()
    return db.session.execute(select(SyncRun.id).where(SyncRun.retry_of_id == run_id).order_by(SyncRun.id)) \
        .scalars().all()


def _token(client) -> str:
    return csrf_from(client.get(JOBS).get_data(as_text=True))


def test_retry_on_the_run_page_removes_its_failed_job_from_the_dashboard(jobs_app, admin_client, drain_queue):
    run = _failed_run(drain_queue, "ZZ1")
    resp = admin_client.post(f"{JOBS}/runs/{run.id}/retry", data={"csrf_token": _token(admin_client)})
    assert resp.status_code == 302
    [retry] = _retries(run.id)
    assert runtime().queue.failed_job_ids() == []  # the Failed list has nothing left to requeue

    # Retry again (a page left open): no second retry, the page says which run retried it and goes there.
    resp = admin_client.post(f"{JOBS}/runs/{run.id}/retry", data={"csrf_token": _token(admin_client)},
                             follow_redirects=True)
    assert f"Run #{run.id} was retried already as run #{retry}." in resp.get_data(as_text=True)
    assert _retries(run.id) == [retry]


def test_requeue_of_a_run_retried_already_refuses_and_removes_the_stale_failed_job(jobs_app, admin_client,
                                                                                   drain_queue):
    run = _failed_run(drain_queue, "ZZ2")
    # A retry made while its failed job stayed on the dashboard (as before this fix, or by the command line's submit).
    first = runtime().submit(db.session, "customer_export", {"customer_ids": [run.params["customer_id"]]},
                             trigger="retry", actor=ADMIN, retry_of_id=run.id).run
    queue = runtime().queue
    assert run.rq_job_id in queue.failed_job_ids()
    resp = admin_client.post(f"{RQ_PREFIX}/job/{run.rq_job_id}/requeue", headers={"X-CSRFToken": _token(admin_client)})
    assert resp.status_code == 409, resp.get_json()
    assert resp.get_json()["message"] == f"Run #{run.id} was retried already as run #{first.id}: its failed job is removed."
    assert _retries(run.id) == [first.id]
    assert run.rq_job_id not in queue.failed_job_ids()

    # Requeue all: the same for every run retried already; another failed run is retried.
    drain_queue()  # the retry fails as its run did: its own failed job stays, it has no retry
    other = _failed_run(drain_queue, "ZZ3")
    first_job = db.session.get(SyncRun, first.id).rq_job_id
    stale = runtime().submit(db.session, "customer_export", {"customer_ids": [other.params["customer_id"]]},
                             trigger="retry", actor=ADMIN, retry_of_id=other.id).run
    drain_queue()
    for name in queue.names:  # each of colcw's queues has its own Requeue all (a one-customer run's is the live one)
        resp = admin_client.post(f"{RQ_PREFIX}/requeue/{name}", headers={"X-CSRFToken": _token(admin_client)})
        assert resp.status_code == 200, resp.get_json()
    assert len(_retries(other.id)) == 1 and _retries(other.id) == [stale.id]
    assert len(_retries(first.id)) == 1  # the failed retry is retried, once
    assert first_job not in queue.failed_job_ids() and other.rq_job_id not in queue.failed_job_ids()


def test_two_retries_of_one_run_at_once_make_one(jobs_app, drain_queue):
    """The second waits on the run's row while the first holds it, and then finds the first's retry."""
    run = _failed_run(drain_queue, "ZZ4")
    rt = runtime()
    outcome = {}

    def second():
        with jobs_app.app_context():
            new = recovery.retry(db.session, rt.queue, rt.kinds, run.id, actor=ADMIN)
            outcome["second"] = (new.run.id, new.already)
            db.session.remove()

    engine = db.engine
    with engine.connect() as first:  # another process's retry, between its look for a retry and its commit
        first.execute(text("SELECT id FROM colcw_sync_runs WHERE id = :id FOR UPDATE"), {"id": run.id})
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(1.0)
        assert thread.is_alive(), "the second retry did not wait for the first"
        retry_id = first.execute(text(
            "INSERT INTO colcw_sync_runs (kind, params, description, status, trigger, requested_by, retry_of_id, "
            "rq_job_id, created_at, total, done, counts, entity_counts, api_requests, message, attempts, "
            "interruptions, selection, waiting_reason) VALUES ('customer_export', '{}', 'retry', 'queued', 'retry', "
            "'ops@demo.example', :of, '', now(), 0, 0, '{}', '{}', 0, '', 0, 0, '{}', '') RETURNING id"),
            {"of": run.id}).scalar_one()
        first.commit()
    thread.join(30)
    assert outcome["second"] == (retry_id, True)
    assert _retries(run.id) == [retry_id]
    assert run.rq_job_id not in rt.queue.failed_job_ids()


def test_a_run_resumed_after_its_work_horse_died_keeps_no_failed_job(jobs_app, drain_queue):
    run = _failed_run(drain_queue, "ZZ5")
    rt = runtime()
    dead = run.rq_job_id  # stands for the job RQ failed with "Work-horse terminated unexpectedly"
    db.session.execute(text("UPDATE colcw_sync_runs SET status = 'interrupted', finished_at = NULL WHERE id = :id"),
                       {"id": run.id})
    db.session.commit()
    resumed = recovery.resume(db.session, rt.queue, run.id, actor=ADMIN)
    assert not resumed.duplicate and resumed.run.rq_job_id != dead
    assert dead not in rt.queue.failed_job_ids()
    assert resumed.run.rq_job_id in rt.queue.live.job_ids  # (a run of one customer: on the live queue)


def _text(html: str, element_id: str) -> str | None:
    """The text of the element ``element_id`` of a page (its tags dropped), or None when the page has none."""
    m = re.search(rf'<(\w+)[^>]*id="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", m.group(2))).strip() if m else None


def test_a_retried_run_links_to_its_retry_instead_of_offering_retry(jobs_app, admin_client, drain_queue):
    run = _failed_run(drain_queue, "ZZ6")
    page = admin_client.get(f"{JOBS}/runs/{run.id}").get_data(as_text=True)
    assert _text(page, "retry-failed") == "Retry the 1 failed customer" and _text(page, "retried-as") is None

    admin_client.post(f"{JOBS}/runs/{run.id}/retry", data={"csrf_token": _token(admin_client)})
    [retry] = _retries(run.id)
    page = admin_client.get(f"{JOBS}/runs/{run.id}").get_data(as_text=True)
    assert _text(page, "retry-failed") is None
    assert _text(page, "retried-as") == f"Go to its retry, run #{retry}"
    assert f'href="{JOBS}/runs/{retry}"' in page
    assert _text(page, "run-retries") == f"run #{retry}"

    # A run retried twice before runs were retried once (its history keeps both): "runs #50 and #51".
    drain_queue()
    later = runtime().submit(db.session, "customer_export", {"customer_ids": [run.params["customer_id"]]},
                             trigger="retry", actor=ADMIN, retry_of_id=run.id).run
    page = admin_client.get(f"{JOBS}/runs/{run.id}").get_data(as_text=True)
    assert _text(page, "run-retries") == f"runs #{retry} and #{later.id}"
    assert _text(page, "retried-as") == f"Go to its retry, run #{later.id}"


def test_the_retry_button_counts_what_it_redoes_by_kind_of_record(jobs_app, admin_client):
    """A failed contact is exported again with its customer: the button counts it as the contact it is, as the run's
    Records do ("customers: 2 failed; contacts: 1 failed"), not as one more failed customer."""
    from colcw_plugin.models import SyncItem

    a, b = (services.save_customer({"account_number": n, "name": f"Failed {n}", "state": "ZZ"}) for n in ("ZZ7", "ZZ8"))
    c = services.save_customer({"account_number": "ZZ9", "name": "Its contact failed"},
                               [{"first_name": "Pat", "last_name": "Lee", "email": "pat@example.com"}])
    [contact] = c.contacts
    run = SyncRun(kind="customer_export", params={"customer_ids": [a.id, b.id, c.id]}, status="failed",
                  description="Export 3 customers", requested_by="ops@demo.example",
                  counts={"failed": 3}, entity_counts={"customer": {"failed": 2}, "contact": {"failed": 1}})
    db.session.add(run)
    db.session.flush()
    db.session.add_all([SyncItem(run_id=run.id, entity="customer", direction="export", host_id=a.id, action="failed"),
                        SyncItem(run_id=run.id, entity="customer", direction="export", host_id=b.id, action="failed"),
                        SyncItem(run_id=run.id, entity="contact", direction="export", host_id=contact.id,
                                 action="failed")])
    db.session.commit()
    page = admin_client.get(f"{JOBS}/runs/{run.id}").get_data(as_text=True)
    assert _text(page, "run-records") == "customers: 2 failed; contacts: 1 failed"
    assert _text(page, "retry-failed") == "Retry the 2 failed customers and 1 failed contact"
    # What it redoes: the two customers, and the contact's customer (which exports the contact again).
    admin_client.post(f"{JOBS}/runs/{run.id}/retry", data={"csrf_token": _token(admin_client)})
    [retry] = _retries(run.id)
    assert db.session.get(SyncRun, retry).params == {"customer_ids": sorted([a.id, b.id, c.id])}


def test_the_retry_says_which_records_it_redoes(jobs_app, admin_client, drain_queue):
    """Its confirmation said "retrying the failed records" of a run whose records were not attempted (a cancelled
    or interrupted export): it says what it redoes."""
    from colcw_plugin.models import SyncItem

    run = _failed_run(drain_queue, "ZZ9")
    db.session.execute(text("UPDATE colcw_sync_items SET action = 'not_attempted' WHERE run_id = :r AND action = "
                            "'failed'"), {"r": run.id})
    db.session.commit()
    assert {i.action for i in db.session.execute(select(SyncItem).where(SyncItem.run_id == run.id)).scalars()} == \
        {"not_attempted"}
    resp = admin_client.post(f"{JOBS}/runs/{run.id}/retry", data={"csrf_token": _token(admin_client)},
                             follow_redirects=True)
    said = " ".join(resp.get_data(as_text=True).split())
    assert f"queued: retrying the not attempted records of run #{run.id}." in said, said


def test_retry_reads_the_failed_results_once(jobs_app, admin_client, drain_queue):
    """Retry makes the new run's params and its confirmation's words from one read of the run's failed and not
    attempted results (it read them twice: once for the params, once for the words)."""
    run = _failed_run(drain_queue, "ZZ8")
    token = _token(admin_client)
    reads: list[str] = []

    def keep(conn, cursor, statement, *args):
        if statement.startswith("SELECT colcw_sync_items.id,") and "'failed', 'not_attempted'" in statement:
            reads.append(statement)

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        resp = admin_client.post(f"{JOBS}/runs/{run.id}/retry", data={"csrf_token": token})
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    assert resp.status_code == 302
    assert len(reads) == 1, reads
    [retry] = _retries(run.id)
    said = " ".join(admin_client.get(resp.headers["Location"]).get_data(as_text=True).split())
    assert f"Run #{retry} queued: retrying the failed records of run #{run.id}." in said, said
