"""rq-dashboard's pages link colcw's jobs to their runs' pages, and show colcw's answer to Requeue.

Rows of its job lists and a job's own page lead to the colcw run the job is an attempt of; Requeue (of a job, or
all) shows what colcw did: the retry it queued, with a link to it, or why it queued none (409). The browser test
clicks rq-dashboard's own buttons on a live server; every other assertion reads the test's own Redis and PostgreSQL.
"""

from __future__ import annotations

import re

import pytest
from jobs_support import failed_run
from sqlalchemy import select

from colcw_plugin.models import SyncRun
from colcw_plugin.views.dashboard import RQ_PREFIX
from helpers import browser_sign_in, csrf_from, runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"
ADMIN = {"id": None, "email": "ops@demo.example", "role": "admin"}


def _failed_run(drain_queue, account: str) -> SyncRun:
    return failed_run(drain_queue, account, ADMIN)


def _retry_of(run_id: int) -> int:
    db.session.expire_all()
    return db.session.execute(select(SyncRun.id).where(SyncRun.retry_of_id == run_id)).scalar_one()


def _token(client) -> str:
    return csrf_from(client.get(JOBS).get_data(as_text=True))


def test_a_colcw_jobs_page_links_to_its_run_and_the_requeue_answers_name_the_run(jobs_app, admin_client, drain_queue):
    run = _failed_run(drain_queue, "ZZ1")
    page = admin_client.get(f"{RQ_PREFIX}/0/view/job/{run.rq_job_id}").get_data(as_text=True)
    assert re.search(rf'id="colcw-job-run-link" href="{JOBS}/runs/{run.id}">run #{run.id}</a>', page)
    assert 'id="colcw-requeue-answer"' in page and f'"{JOBS}/runs/"' in page  # the script, with where runs are
    # Another job's page has no run to link to.
    other = runtime().queue.rq.enqueue("operator.add", 1, 2, job_id="not-a-colcw-run-7")
    assert "colcw-job-run" not in admin_client.get(f"{RQ_PREFIX}/0/view/job/{other.id}").get_data(as_text=True)

    resp = admin_client.post(f"{RQ_PREFIX}/job/{run.rq_job_id}/requeue", headers={"X-CSRFToken": _token(admin_client)})
    retry = _retry_of(run.id)
    assert resp.status_code == 200 and resp.get_json()["run_url"] == f"{JOBS}/runs/{retry}"

    # Requeue of a run retried already: 409, linking to the retry.
    stale = runtime().queue.rq.enqueue("colcw_plugin.extension.run_job", run.id, job_id=f"colcw-run-{run.id}-0000dead")
    stale.set_status("failed")
    runtime().queue.rq.remove(stale)
    runtime().queue.rq.failed_job_registry.add(stale, ttl=3600)
    resp = admin_client.post(f"{RQ_PREFIX}/job/{stale.id}/requeue", headers={"X-CSRFToken": _token(admin_client)})
    assert resp.status_code == 409
    assert resp.get_json()["run_url"] == f"{JOBS}/runs/{retry}"


def test_requeue_all_tells_what_colcw_retried_and_what_else_it_requeued(jobs_app, admin_client, drain_queue):
    queue = runtime().queue
    run = _failed_run(drain_queue, "ZZ2")  # a run of one customer: on colcw's live queue, whose Requeue all this is
    other = queue.live.enqueue("operator.truediv", 1, 0, job_id="colcw-test-fails")
    drain_queue()
    assert sorted(queue.failed_job_ids(queue.live.name)) == sorted([run.rq_job_id, other.id])

    resp = admin_client.post(f"{RQ_PREFIX}/requeue/{queue.live.name}", headers={"X-CSRFToken": _token(admin_client)})

    assert resp.status_code == 200, resp.get_json()
    retry = _retry_of(run.id)
    assert resp.get_json()["message"] == (f"Run #{run.id} is retried as run #{retry} (the failed records). "
                                          "1 other failed job requeued.")
    assert resp.get_json()["colcw_retried"] == 1


def _failed_job_of(run_id: int, job_id: str):
    """A failed job of colcw's for run ``run_id`` in RQ's failed registry, as a worker leaves one."""
    queue = runtime().queue
    job = queue.rq.enqueue("colcw_plugin.extension.run_job", run_id, job_id=job_id)
    job.set_status("failed")
    queue.rq.remove(job)
    queue.rq.failed_job_registry.add(job, ttl=3600)
    return job


def test_requeue_all_removes_the_colcw_jobs_it_declines_so_rq_dashboard_does_not_run_them(jobs_app, admin_client,
                                                                                         drain_queue):
    """rq-dashboard requeues, as they are, the failed jobs left once colcw has retried its runs': a job colcw declined
    to retry ran then, to find nothing to do. Declined, it is removed, and the answer says so."""
    queue = runtime().queue
    nothing = runtime().submit(db.session, "test_count", {"n": 2, "fail": "permanent"}, actor=ADMIN).run
    other = queue.rq.enqueue("operator.truediv", 1, 0, job_id="colcw-test-fails")
    drain_queue()
    db.session.expire_all()
    nothing = db.session.get(SyncRun, nothing.id)
    assert nothing.status == "failed"  # its kind redoes nothing: no failed records to retry
    gone_id = (db.session.execute(select(SyncRun.id).order_by(SyncRun.id.desc())).scalars().first() or 0) + 1000
    gone = _failed_job_of(gone_id, f"colcw-run-{gone_id}-0000dead")  # its run was deleted
    # Its work-horse died a moment ago: RQ failed its job; colcw has not noticed yet (it resumes the run then).
    stopped = runtime().submit(db.session, "test_count", {"n": 3}, actor=ADMIN).run
    queue.withdraw(stopped)
    stopped.status = "running"
    db.session.commit()
    _failed_job_of(stopped.id, stopped.rq_job_id)
    assert sorted(queue.failed_job_ids()) == sorted([nothing.rq_job_id, gone.id, stopped.rq_job_id, other.id])

    resp = admin_client.post(f"{RQ_PREFIX}/requeue/{queue.name}", headers={"X-CSRFToken": _token(admin_client)})

    assert resp.status_code == 200, resp.get_json()
    message = resp.get_json()["message"]
    assert (f"Run #{nothing.id} has no failed records to retry: its failed job is removed (requeued as it is, it "
            "would do nothing). See the run's page on the Synchronization Jobs page.") in message
    assert (f"Job {gone.id} belongs to run #{gone_id}, which no longer exists: there is nothing to requeue, and the "
            "job is removed (requeued as it is, it would do nothing).") in message
    assert (f"Job {stopped.rq_job_id} belongs to run #{stopped.id}, which is running: there is nothing to "
            "requeue, and the job is removed: follow the run on its page.") in message
    assert message.endswith("1 other failed job requeued.")
    assert resp.get_json()["colcw_retried"] == 0
    assert queue.rq.job_ids == [other.id]  # rq-dashboard requeued the other job only
    assert queue.failed_job_ids() == []
    assert queue.fetch(nothing.rq_job_id) is None and queue.fetch(gone.id) is None
    db.session.expire_all()
    assert db.session.execute(select(SyncRun.id).where(SyncRun.retry_of_id == nothing.id)).first() is None
    assert db.session.get(SyncRun, nothing.id).status == "failed"
    assert db.session.get(SyncRun, stopped.id).status == "running"


@pytest.mark.browser
def test_the_dashboards_rows_link_to_runs_and_requeue_shows_colcws_answer(jobs_app, live_server, page, drain_queue):
    queue = runtime().queue
    run = _failed_run(drain_queue, "ZZ3")
    browser_sign_in(page, live_server.url, "admin@demo.example")
    page.goto(f"{live_server.url}{RQ_PREFIX}/0/view/jobs/{queue.live.name}/failed/8/asc/1")  # (a one-customer run's)
    row = page.locator(f"tr[data-job-id='{run.rq_job_id}']")
    link = row.locator("a.colcw-run-link")
    assert link.inner_text() == f"colcw run #{run.id}"
    assert link.get_attribute("href") == f"{JOBS}/runs/{run.id}"
    answer = page.locator("#colcw-requeue-answer")
    assert answer.is_hidden()

    row.locator("[data-role=requeue-job-btn]").click()
    answer.wait_for(state="visible")
    retry = _retry_of(run.id)
    assert answer.get_attribute("data-status") == "ok"
    assert answer.locator("[data-role=message]").inner_text() == \
        f"Run #{run.id} is retried as run #{retry} (the failed records)."
    answer.locator("[data-role=run-link]").click()
    page.wait_for_url(f"{live_server.url}{JOBS}/runs/{retry}")

    # The retry fails too; its job's page links to it, and its Requeue there, after a retry from the run's page,
    # says why nothing was queued.
    drain_queue()
    db.session.expire_all()
    failed_retry = db.session.get(SyncRun, retry)
    assert failed_retry.status == "failed"
    page.goto(f"{live_server.url}{RQ_PREFIX}/0/view/job/{failed_retry.rq_job_id}")
    assert page.locator("#colcw-job-run-link").get_attribute("href") == f"{JOBS}/runs/{retry}"
    second = runtime().submit(db.session, "customer_export", {"customer_ids": [run.params["customer_id"]]},
                              trigger="retry", actor=ADMIN, retry_of_id=retry).run  # as Retry on its page, meanwhile
    page.locator("#requeue-job-btn").click()
    answer.wait_for(state="visible")
    assert answer.get_attribute("data-status") == "error"
    assert answer.locator("[data-role=message]").inner_text() == \
        f"Run #{retry} was retried already as run #{second.id}: its failed job is removed."
    assert answer.locator("[data-role=run-link]").get_attribute("href") == f"{JOBS}/runs/{second.id}"
    page.locator("#colcw-requeue-answer [data-role=close]").click()
    answer.wait_for(state="hidden")
