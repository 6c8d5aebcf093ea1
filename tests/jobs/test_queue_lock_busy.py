"""The queue's per-work lock (Redis) held by another request for longer than colcw waits for it: nothing is queued,
and what asked is told so truthfully. Run now on the jobs page says that another run of that job is being queued (not
that Redis is unreachable); an event's submit records its run, not queued yet, saying why (the scheduler queues it
later); a live update asked for while another process queues one leaves it to that one. Real Redis, the lock held
from another connection; colcw's wait made short through its setting (COLCW_SUBMIT_LOCK_WAIT_SECONDS)."""

from __future__ import annotations

import re

import pytest
import redis
from sqlalchemy import func, select

from colcw_plugin.models import SyncItem, SyncRun
from colcw_plugin.sync.inbound import LIVE_KIND, RECONCILE_KIND
from colcw_plugin.sync.inbound.hints import ensure_run
from colcw_plugin.sync.inbound.switch import CATCH_UP, catch_up
from colcw_plugin.sync.jobs import recovery
from colcw_plugin.sync.jobs.history import failed_items, retry_params
from colcw_plugin.sync.jobs.queue import work_key
from colcw_plugin.views.dashboard import RQ_PREFIX
from helpers import csrf_from, runtime, tune_runtime
from host_stub import services
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
FORM = {"job": "customer", "source": "connectwise", "import_scope": "all"}


@pytest.fixture()
def other(redis_url, jobs_app, monkeypatch):
    """Another web process's connection to the same Redis; colcw waits 0.3 s for a lock it holds."""
    tune_runtime(monkeypatch, jobs_app, submit_lock_wait_seconds=0.3)
    return redis.Redis.from_url(redis_url)


def _held(other, key: str):
    lock = other.lock(f"colcw:submit:{key}", timeout=30)
    assert lock.acquire(blocking=False)
    return lock


def _runs() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(SyncRun.id)))


def test_run_now_says_another_run_of_the_job_is_being_queued(admin_client, other):
    kind, params = runtime().kinds.from_form(db.session, FORM)
    lock = _held(other, work_key(kind.name, params))
    try:
        token = csrf_from(admin_client.get(JOBS).get_data(as_text=True))
        resp = admin_client.post(f"{JOBS}/run", data={"csrf_token": token, **FORM})
        page = admin_client.get(resp.headers["Location"]).get_data(as_text=True)
        assert (f"Not queued: another run of “{kind.label}” is being queued right now (another click or tab); try "
                "again in a moment.") in page
        assert "is not reachable" not in page
        assert _runs() == 0
    finally:
        lock.release()


def test_an_events_submit_records_its_run_saying_why_it_is_not_queued_yet(other, drain_queue):
    lock = _held(other, work_key("test_count", {"n": 2}))
    try:
        done = runtime().submit(db.session, "test_count", {"n": 2}, trigger="event", record_when_queue_down=True)
    finally:
        lock.release()
    assert not done.enqueued and done.run.status == "queued"
    assert done.run.message == ("Not queued yet: another request was queueing the same job at the time. The colcw "
                                "scheduler queues this run shortly.")
    assert recovery.requeue_lost(db.session, runtime().queue, older_than_seconds=0) == [done.run.id]
    drain_queue()
    db.session.expire_all()
    run = db.session.get(SyncRun, done.run.id)
    assert run.status == "succeeded" and "Not queued" not in (run.message or "")


def test_a_live_update_asked_for_while_another_process_queues_one_is_left_to_it(other):
    lock = _held(other, f"colcw-{LIVE_KIND}")
    try:
        assert ensure_run(db.session, runtime().queue, runtime().kinds) is None
    finally:
        lock.release()
    assert _runs() == 0
    assert ensure_run(db.session, runtime().queue, runtime().kinds) is not None  # free again: it queues one


def _post(client, url: str, page: str, data: dict | None = None) -> str:
    token = csrf_from(client.get(page).get_data(as_text=True))
    resp = client.post(url, data={"csrf_token": token, **(data or {})})
    assert resp.status_code == 302
    return client.get(resp.headers["Location"]).get_data(as_text=True)


def _ended_run(status: str) -> SyncRun:
    run = SyncRun(kind="quote_export", params={"all": True}, description="Export all documents", status=status,
                  requested_by="admin@demo.example", counts={"failed": 1}, done=1, total=1)
    db.session.add(run)
    db.session.flush()
    db.session.add(SyncItem(run_id=run.id, at=utcnow(), entity="document", direction="export", host_id=12,
                            action="failed", label="Q-12", message="x", resolution="y"))
    db.session.commit()
    return run


def test_retry_and_resume_on_a_runs_page_say_the_same_work_is_being_queued(admin_client, other):
    failed = _ended_run("partial")
    url = f"{JOBS}/runs/{failed.id}"
    params = retry_params(db.session, runtime().kinds, failed, failed_items(db.session, failed.id))
    lock = _held(other, work_key("quote_export", params))
    try:
        page = _post(admin_client, f"{url}/retry", url)
    finally:
        lock.release()
    assert (f"Not queued: another retry of run #{failed.id} is being queued right now (another click or tab); try "
            "again in a moment.") in page and "is not reachable" not in page
    assert _runs() == 1

    stopped = _ended_run("interrupted")
    url = f"{JOBS}/runs/{stopped.id}"
    lock = _held(other, work_key("quote_export", {"all": True}))
    try:
        page = _post(admin_client, f"{url}/resume", url)
    finally:
        lock.release()
    assert (f"Not queued: the same job as run #{stopped.id} is being queued right now (another click or tab); try "
            "again in a moment.") in page and "is not reachable" not in page
    db.session.expire_all()
    assert db.session.get(SyncRun, stopped.id).status == "interrupted"


def test_a_lists_bulk_export_says_another_export_of_the_rows_is_being_queued(admin_client, other):
    made = [services.save_customer({"account_number": f"BSY{n}", "name": f"Busy {n}"},
                                   [{"first_name": "Pat", "last_name": f"Busy{n}", "is_default": True}])
            for n in range(2)]
    db.session.commit()
    ids = [c.id for c in made]
    lock = _held(other, work_key("customer_export", {"customer_ids": ids, "selected": True}))
    try:
        html = admin_client.get("/customers/").get_data(as_text=True)
        action = re.search(r'<form method="post" action="([^"]+)" id="bulk-form"', html).group(1).replace("&amp;", "&")
        resp = admin_client.post(action, data={"csrf_token": csrf_from(html), "action": "colcw-export",
                                               "ids": [str(i) for i in ids]})
        page = admin_client.get(resp.headers["Location"]).get_data(as_text=True)
    finally:
        lock.release()
    assert ("Not queued: another export of these 2 customers is being queued right now (another click or tab); try "
            "again in a moment.") in page and "is not reachable" not in page
    assert _runs() == 0


def test_requeue_on_the_queue_dashboard_says_another_retry_of_the_run_is_being_queued(admin_client, other,
                                                                                       drain_queue):
    customer = services.save_customer({"account_number": "ZZB", "name": "Nowhere ZZB", "state": "ZZ"})
    run = runtime().submit(db.session, "customer_export", {"customer_id": customer.id},
                           actor={"id": None, "email": "ops@demo.example", "role": "admin"}).run
    drain_queue()  # it fails on the worker (a state ConnectWise does not have): its job is in RQ's failed list
    db.session.expire_all()
    run = db.session.get(SyncRun, run.id)
    assert run.status == "failed"
    params = retry_params(db.session, runtime().kinds, run, failed_items(db.session, run.id))
    lock = _held(other, work_key("customer_export", params))
    try:
        token = csrf_from(admin_client.get(JOBS).get_data(as_text=True))
        resp = admin_client.post(f"{RQ_PREFIX}/job/{run.rq_job_id}/requeue", headers={"X-CSRFToken": token})
    finally:
        lock.release()
    assert resp.status_code == 409
    assert resp.get_json()["message"] == (f"Not queued: another retry of run #{run.id} is being queued right now "
                                          "(another click or tab); try again in a moment.")
    assert _runs() == 1


def test_turning_live_updates_on_says_the_catch_up_pass_was_being_queued_by_another_request(other):
    lock = _held(other, work_key(RECONCILE_KIND, dict(CATCH_UP)))
    try:
        tone, note = catch_up(db.session, runtime().queue, runtime().kinds)
    finally:
        lock.release()
    assert (tone, note) == ("warning", "The pass that catches up what changed in ConnectWise while Live updates were "
                            "off was not queued: another request was queueing the same pass at that moment. The next "
                            "safety-net pass does it.")
    assert _runs() == 0
