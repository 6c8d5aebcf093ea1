"""The queue dashboard (rq-dashboard, mounted by colcw) changes the queue only on a POST with a CSRF
token, from an admin; an unknown job id is 404, not 500 (issue 11, security).

Every assertion reads the test's own Redis: the job really was requeued, deleted or left alone.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest
import rq_dashboard
from sqlalchemy import select

from colcw_plugin.models import SyncRun
from colcw_plugin.views.dashboard import RQ_PREFIX, STATE_CHANGING
from helpers import browser_sign_in, csrf_from, runtime, sign_in
from host_stub import services
from host_stub.extensions import db

JOBS = "/admin/integration/connectwise/jobs"
# rq-dashboard 0.9's routes that only read (pages, JSON for its scripts, its files).
READ_ONLY = {"queues_overview", "workers_overview", "jobs_overview", "job_view", "list_queues", "list_jobs",
             "job_info", "list_workers", "favicon", "static"}


@pytest.fixture()
def queue(app, redis_conn):
    return runtime(app).queue.rq


def _failed_job(queue, drain_queue) -> str:
    """A job that really ran on a worker and failed (it divides by zero), in the queue's failed registry."""
    job = queue.enqueue("operator.truediv", 1, 0, job_id=f"colcw-test-{uuid.uuid4().hex[:8]}",
                        description="a job that fails")
    drain_queue()
    assert job.id in queue.failed_job_registry.get_job_ids()
    return job.id


def _token(client) -> str:
    return csrf_from(client.get(JOBS).get_data(as_text=True))


def test_every_route_of_rq_dashboard_is_known_to_change_the_queue_or_only_to_read(app):
    endpoints = {r.endpoint.split(".", 1)[1] for r in app.url_map.iter_rules() if r.endpoint.startswith("rq_dashboard.")}
    assert endpoints == STATE_CHANGING | READ_ONLY, "rq-dashboard's routes changed: sort the new ones"
    posts = {r.endpoint.split(".", 1)[1] for r in app.url_map.iter_rules()
             if r.endpoint.startswith("rq_dashboard.") and "POST" in r.methods}
    assert posts == STATE_CHANGING
    assert rq_dashboard.blueprint.name == "rq_dashboard"


def test_requeue_all_by_get_is_refused_and_requeues_nothing(admin_client, queue, drain_queue):
    job_id = _failed_job(queue, drain_queue)
    resp = admin_client.get(f"{RQ_PREFIX}/requeue/{queue.name}")
    assert resp.status_code == 405
    assert job_id in queue.failed_job_registry.get_job_ids() and job_id not in queue.job_ids


@pytest.mark.parametrize("route", ["job/{job}/requeue", "job/{job}/delete", "requeue/{queue}",
                                   "queue/{queue}/failed/empty", "queue/{queue}/compact"])
def test_a_post_without_a_csrf_token_changes_nothing(admin_client, queue, drain_queue, route):
    job_id = _failed_job(queue, drain_queue)
    resp = admin_client.post(f"{RQ_PREFIX}/" + route.format(job=job_id, queue=queue.name))
    assert resp.status_code == 400
    resp = admin_client.post(f"{RQ_PREFIX}/" + route.format(job=job_id, queue=queue.name),
                             headers={"X-CSRFToken": "not-a-token"})
    assert resp.status_code == 400
    assert job_id in queue.failed_job_registry.get_job_ids() and job_id not in queue.job_ids
    assert queue.fetch_job(job_id) is not None


def test_requeue_with_a_token_requeues_the_failed_job(admin_client, queue, drain_queue):
    job_id = _failed_job(queue, drain_queue)
    resp = admin_client.post(f"{RQ_PREFIX}/job/{job_id}/requeue", headers={"X-CSRFToken": _token(admin_client)})
    assert resp.status_code == 200 and resp.get_json()["status"] == "OK"
    assert job_id in queue.job_ids and job_id not in queue.failed_job_registry.get_job_ids()
    assert queue.fetch_job(job_id).get_status() == "queued"


def test_the_dashboards_cookie_token_is_accepted_as_its_script_sends_it(admin_client, queue, drain_queue):
    job_id = _failed_job(queue, drain_queue)
    admin_client.get(f"{RQ_PREFIX}/")
    cookie = admin_client.get_cookie("_csrf_token", path=RQ_PREFIX)
    assert cookie is not None
    resp = admin_client.post(f"{RQ_PREFIX}/requeue/{queue.name}", headers={"X-CSRFToken": cookie.value})
    assert resp.status_code == 200 and resp.get_json()["count"] == 1
    assert job_id in queue.job_ids


def test_delete_with_a_token_deletes_the_job(admin_client, queue, drain_queue):
    job_id = _failed_job(queue, drain_queue)
    resp = admin_client.post(f"{RQ_PREFIX}/job/{job_id}/delete", data={"csrf_token": _token(admin_client)})
    assert resp.status_code == 200 and resp.get_json()["status"] == "OK"
    assert queue.fetch_job(job_id) is None and job_id not in queue.failed_job_registry.get_job_ids()


def test_empty_with_a_token_empties_the_failed_list(admin_client, queue, drain_queue):
    ids = [_failed_job(queue, drain_queue) for _ in range(2)]
    resp = admin_client.post(f"{RQ_PREFIX}/queue/{queue.name}/failed/empty",
                             headers={"X-CSRFToken": _token(admin_client)})
    assert resp.status_code == 200
    assert queue.failed_job_registry.get_job_ids() == [] and all(queue.fetch_job(i) is None for i in ids)


def test_compacting_an_empty_queue_says_there_is_nothing_to_do_and_a_full_one_keeps_its_jobs(admin_client, queue):
    url = f"{RQ_PREFIX}/queue/{queue.name}/compact"
    resp = admin_client.post(url, headers={"X-CSRFToken": _token(admin_client)})
    assert resp.status_code == 200 and "nothing to compact" in resp.get_json()["message"]  # RQ raised: a 500
    job = queue.enqueue("operator.truediv", 4, 2, job_id=f"colcw-test-{uuid.uuid4().hex[:8]}")
    resp = admin_client.post(url, headers={"X-CSRFToken": _token(admin_client)})
    assert resp.status_code == 200 and resp.get_json()["status"] == "OK"
    assert queue.job_ids == [job.id]


def test_requeueing_a_job_that_has_not_failed_is_409_and_leaves_it(admin_client, queue):
    job = queue.enqueue("operator.truediv", 4, 2, job_id=f"colcw-test-{uuid.uuid4().hex[:8]}")
    resp = admin_client.post(f"{RQ_PREFIX}/job/{job.id}/requeue", headers={"X-CSRFToken": _token(admin_client)})
    assert resp.status_code == 409 and "has not failed" in resp.get_json()["message"]
    assert queue.job_ids == [job.id]


@pytest.mark.parametrize("method, route", [
    ("GET", "0/view/job/{job}"), ("GET", "0/data/job/{job}.json"), ("POST", "job/{job}/requeue"),
    ("POST", "job/{job}/delete"), ("GET", "7/view/queues"), ("GET", "0/data/jobs/{queue}/nonsense/8/asc/1.json"),
    ("GET", "0/data/jobs/{queue}/failed/0/asc/1.json"), ("GET", "0/data/jobs/{queue}/failed/x/asc/1.json")])
def test_an_unknown_job_or_list_is_404_not_500(admin_client, queue, method, route):
    url = f"{RQ_PREFIX}/" + route.format(job="no-such-job", queue=queue.name)
    resp = admin_client.open(url, method=method, headers={"X-CSRFToken": _token(admin_client)})
    assert resp.status_code == 404


def test_a_rep_and_a_visitor_are_refused_and_change_nothing(client, queue, drain_queue):
    job_id = _failed_job(queue, drain_queue)
    token = csrf_from(client.get("/login").get_data(as_text=True))
    anonymous = client.post(f"{RQ_PREFIX}/job/{job_id}/delete", headers={"X-CSRFToken": token})
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    sign_in(client, "riley@demo.example")
    token = csrf_from(client.get("/customers/").get_data(as_text=True))
    for url in (f"job/{job_id}/delete", f"job/{job_id}/requeue", f"requeue/{queue.name}"):
        assert client.post(f"{RQ_PREFIX}/{url}", headers={"X-CSRFToken": token}).status_code == 403
    assert client.get(f"{RQ_PREFIX}/0/data/job/{job_id}.json").status_code == 403
    assert job_id in queue.failed_job_registry.get_job_ids() and queue.fetch_job(job_id) is not None


def _wait_for(check, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_an_admin_requeues_and_deletes_failed_jobs_with_the_dashboards_buttons(live_server, page, queue, drain_queue):
    requeue_id, delete_id = _failed_job(queue, drain_queue), _failed_job(queue, drain_queue)
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(f"{live_server.url}{RQ_PREFIX}/0/view/jobs/{queue.name}/failed/8/asc/1")
    page.locator(f"tr[data-job-id='{requeue_id}'] [data-role=requeue-job-btn]").click()
    assert _wait_for(lambda: requeue_id in queue.job_ids), "the Requeue button did not requeue the job"
    assert requeue_id not in queue.failed_job_registry.get_job_ids()

    page.locator(f"tr[data-job-id='{delete_id}'] [data-role=delete-job-btn]").click()
    page.locator("#confirmation-modal-yes").click()
    assert _wait_for(lambda: queue.fetch_job(delete_id) is None), "the Delete button did not delete the job"
    page.wait_for_selector(f"tr[data-job-id='{delete_id}']", state="detached")
    # The job's own page answers 404 now, with the host's page, not a server error.
    resp = page.goto(f"{live_server.url}{RQ_PREFIX}/0/view/job/{delete_id}")
    assert resp.status == 404 and re.search("does not exist", page.content())


def _failed_run(drain_queue, account: str) -> SyncRun:
    """A colcw run that failed on a worker (its one customer's state is not ConnectWise's): its job is in RQ's
    failed registry."""
    customer = services.save_customer({"account_number": account, "name": f"Nowhere {account}", "state": "ZZ"})
    run = runtime().submit(db.session, "customer_export", {"customer_id": customer.id},
                           actor={"id": None, "email": "ops@demo.example", "role": "admin"}).run
    drain_queue()
    db.session.expire_all()
    return db.session.get(SyncRun, run.id)


def test_requeueing_a_failed_run_job_on_the_dashboard_retries_the_run(jobs_app, admin_client, queue, drain_queue):
    run = _failed_run(drain_queue, "ZZ1")
    # (a run of one customer goes on colcw's live queue: its failed job is in that queue's failed list)
    assert run.status == "failed" and run.rq_job_id in runtime().queue.live.failed_job_registry.get_job_ids()
    resp = admin_client.post(f"{RQ_PREFIX}/job/{run.rq_job_id}/requeue", headers={"X-CSRFToken": _token(admin_client)})
    assert resp.status_code == 200, resp.get_json()
    db.session.expire_all()
    [retry] = db.session.execute(select(SyncRun).where(SyncRun.retry_of_id == run.id)).scalars().all()
    assert resp.get_json()["message"] == f"Run #{run.id} is retried as run #{retry.id} (the failed records)."
    assert (retry.status, retry.trigger, retry.requested_by) == ("queued", "retry", "admin@demo.example")
    assert retry.rq_job_id in queue.job_ids
    assert queue.fetch_job(run.rq_job_id) is None  # the failed job it replaces is gone from the failed list

    # "Requeue all": colcw's failed runs are retried, any other failed job is requeued as rq-dashboard does.
    second, other = _failed_run(drain_queue, "ZZ2"), _failed_job(queue, drain_queue)
    for name in runtime().queue.names:  # each of colcw's queues has its own Requeue all (the live one's: second's)
        resp = admin_client.post(f"{RQ_PREFIX}/requeue/{name}", headers={"X-CSRFToken": _token(admin_client)})
        assert resp.status_code == 200, resp.get_json()
    db.session.expire_all()
    assert db.session.execute(select(SyncRun.id).where(SyncRun.retry_of_id == second.id)).scalar_one()
    assert other in queue.job_ids and queue.fetch_job(second.rq_job_id) is None
    assert queue.failed_job_registry.get_job_ids() == []
