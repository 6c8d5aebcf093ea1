"""rq-dashboard (the queue dashboard ops watch), mounted under the admin section, for admins only.

rq-dashboard 0.9 has no authentication and no CSRF check of its own. Before any of its views runs,
:func:`_guard_dashboard` lets only a signed-in admin through, and then:

* its routes that change the queue (:data:`STATE_CHANGING`: delete or requeue a job, requeue all
  failed jobs, empty or compact a queue — read from its ``web.py``) answer only a POST carrying a
  valid CSRF token (``X-CSRFToken`` header or ``csrf_token`` field): a GET, which rq-dashboard
  itself accepts for "requeue all", is 405; a POST without the token is 400. Its own pages' buttons
  already POST with the header, taken from the ``_csrf_token`` cookie :func:`_dashboard_csrf_cookie`
  sets;
* a job id Redis does not hold answers 404 (rq-dashboard raises, a 500), and so do an unknown
  Redis instance, registry or page; requeueing a job that has not failed answers 409; compacting an
  empty queue answers that there is nothing to do (RQ's compact fails on a queue with no key);
* Requeue of a failed job of a colcw run (a run that ended failed fails its job) redoes the run's failed records
  as Retry on the run's page does, instead of running the job again to find its run ended
  (:func:`_requeue_runs`); a run is retried once: Requeue of a run that has a retry already removes its stale failed
  job and answers 409, naming the retry (Retry on its page removes its failed jobs itself). Requeue of an earlier
  attempt's job of a run that went on under another job (its worker died, and colcw resumed it) removes that job
  and answers 409 (resuming removes such jobs itself: ``JobQueue.remove_stale``).
"""

from __future__ import annotations

import rq_dashboard
from flask import abort, current_app, jsonify, redirect, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf, validate_csrf
from redis.exceptions import RedisError
from rq_dashboard.web import setup_rq_connection

from host_stub.extensions import db

from ..models import ENDED_RUN_STATUSES, SyncRun
from ..sync.jobs.queue import JobQueue
from . import admin_bp
from .runs import submit_retry
from .support import runtime

RQ_PREFIX = "/admin/integration/connectwise/rq"

# rq-dashboard's routes that change what Redis holds (rq_dashboard/web.py of 0.9.0). Every other route of
# its blueprint only reads (tests/jobs/test_dashboard_security.py fails when a new version adds one).
STATE_CHANGING = frozenset({"delete_job_view", "requeue_job_view", "requeue_all", "empty_queue", "compact_queue"})
REGISTRIES = frozenset({"queued", "failed", "deferred", "started", "finished", "scheduled", "canceled"})
CSRF_HEADERS = ("X-CSRFToken", "X-CSRF-Token")


def _refuse(status: int, message: str):
    """A refusal in the form the caller reads: JSON for rq-dashboard's scripts, the host's error page else."""
    if request.method == "POST" or "/data/" in request.path:
        resp = jsonify(status="ERROR", message=message)
        resp.status_code = status
        if status == 405:
            resp.headers["Allow"] = "POST"
        return resp
    abort(status)


def _csrf_ok() -> bool:
    token = next((request.headers[h] for h in CSRF_HEADERS if request.headers.get(h)), None)
    try:
        validate_csrf(token or request.form.get("csrf_token"))
    except ValueError:  # flask_wtf raises wtforms' ValidationError, a ValueError
        return False
    return True


def _missing(endpoint: str, args: dict) -> tuple[int, str] | None:
    """Why the request cannot be done as asked (a status and a sentence), or None."""
    if args.get("instance_number", 0) >= len(current_app.config.get("RQ_DASHBOARD_REDIS_URL") or ()):
        return 404, "There is no such Redis instance."
    if "registry_name" in args and args["registry_name"] not in REGISTRIES:
        return 404, "There is no such job list."
    if endpoint == "list_jobs" and not all(str(args.get(k, "")).isdigit() and int(args[k]) > 0
                                           for k in ("per_page", "page")):
        return 404, "There is no such page."
    if "job_id" in args:
        job = JobQueue(current_app.redis_conn).fetch(args["job_id"])
        if job is None:
            return 404, f"Job {args['job_id']} does not exist (it may have been deleted or expired)."
        if endpoint == "requeue_job_view" and job.get_status() != "failed":
            return 409, f"Job {job.id} has not failed: only failed jobs can be requeued."
    return None


def _guard_dashboard():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    if not current_user.is_admin:
        abort(403)
    endpoint = (request.endpoint or "").rpartition(".")[2]
    if endpoint in STATE_CHANGING:
        if request.method != "POST":
            return _refuse(405, "This changes the queue: it takes a POST with a CSRF token, not a link.")
        if not _csrf_ok():
            return _refuse(400, "The CSRF token is missing or invalid: reload the dashboard and try again.")
    problem = _missing(endpoint, request.view_args or {})
    if problem:
        return _refuse(*problem)
    if endpoint == "compact_queue" and not JobQueue.length(current_app.redis_conn, request.view_args["queue_name"]):
        return jsonify(status="OK", message="The queue is empty: there is nothing to compact.")  # (RQ fails on it)
    if endpoint in ("requeue_job_view", "requeue_all"):
        return _requeue_runs(endpoint, request.view_args or {})
    return None


def _requeue_runs(endpoint: str, args: dict):
    """Requeue of a failed job of a colcw run redoes the run's failed records, as Retry on the run's page does: a new
    run (a retry of the failed one), and the failed job is deleted. Requeued as such, the job would find its run
    ended and do nothing. "Requeue all" does so for colcw's failed jobs, then rq-dashboard requeues the others.
    None: rq-dashboard answers (another job, or the rest)."""
    queue = runtime().queue
    try:
        if endpoint == "requeue_job_view":
            run_id = queue.run_of(args["job_id"])
            if run_id is None:
                return None
            retried, message = _retry_job(queue, args["job_id"], run_id)
            return jsonify(status="OK", message=message) if retried else _refuse(409, message)
        if args.get("queue_name") == queue.name:
            for job_id in queue.failed_job_ids():
                run_id = queue.run_of(job_id)
                if run_id is not None:
                    _retry_job(queue, job_id, run_id)
    except RedisError:
        db.session.rollback()
        return _refuse(503, "The job queue (Redis) did not answer: nothing was requeued. Try again in a moment.")
    return None


def _retry_job(queue: JobQueue, job_id: str, run_id: int) -> tuple[bool, str]:
    run = db.session.get(SyncRun, run_id)
    if run is not None and run.status not in ENDED_RUN_STATUSES and run.rq_job_id != job_id:
        # A dead attempt's job (its worker's machine died) that RQ failed after colcw had resumed the run under
        # another job: a ghost. Requeued, it would find the run taken; it goes, as resuming removes such jobs.
        queue.delete_job(job_id)
        return False, (f"Job {job_id} is an earlier attempt of run #{run_id}, which went on as job {run.rq_job_id} "
                       f"and is {run.status}: this stale job is removed. Follow the run on its page.")
    if run is None or run.status not in ENDED_RUN_STATUSES:
        return False, (f"Job {job_id} belongs to run #{run_id}, which "
                       f"{'no longer exists' if run is None else f'is {run.status}'}: there is nothing to requeue.")
    retried = submit_retry(run)
    if retried is None:
        return False, f"Run #{run_id} has no failed records to retry: see its page on the Synchronization Jobs page."
    queue.delete_job(job_id)
    if retried.already:  # from its page, say, or by another Requeue at the same time: its failed job was stale
        return False, f"Run #{run_id} was retried already as run #{retried.run.id}: its failed job is removed."
    return True, f"Run #{run_id} is retried as run #{retried.run.id} (its failed records)."


def _dashboard_csrf_cookie(resp):
    # rq-dashboard's script sends the "_csrf_token" cookie as X-CSRFToken on its POSTs (delete, requeue).
    resp.set_cookie("_csrf_token", generate_csrf(), path=RQ_PREFIX, samesite="Strict", httponly=False)
    return resp


@admin_bp.record_once
def _mount_dashboard(state) -> None:
    """Mount rq-dashboard at /admin/integration/connectwise/rq on each app (its blueprint is global:
    the guard is added once, at import time, below)."""
    app = state.app
    app.config.setdefault("RQ_DASHBOARD_REDIS_URL", app.config["REDIS_URL"])
    setup_rq_connection(app)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=RQ_PREFIX)


def _guard_rq_dashboard_blueprint() -> None:
    bp = rq_dashboard.blueprint
    if not getattr(bp, "_colcw_guarded", False):
        # Before rq-dashboard's own handlers: nobody but an admin reaches its views or its Redis.
        bp.before_request_funcs.setdefault(None, []).insert(0, _guard_dashboard)
        bp.after_request(_dashboard_csrf_cookie)
        bp._colcw_guarded = True


_guard_rq_dashboard_blueprint()


BACK_LINK = ('<div id="colcw-back-to-admin" style="padding:.5rem 1rem;background:#12324f;font:15px system-ui,sans-serif">'
             '<a href="{jobs}" style="color:#fff">← ConnectWise Synchronization Jobs</a>'
             ' <span style="color:#b9c2cc">·</span> <a href="{admin}" style="color:#fff">Admin</a></div>')


def _dashboard_back_link(resp):
    """rq-dashboard's pages are its own; put a way back to colcw's admin pages at the top of each."""
    if resp.mimetype == "text/html" and not resp.direct_passthrough and resp.status_code == 200:
        html = resp.get_data(as_text=True)
        link = BACK_LINK.format(jobs=url_for("colcw_admin.jobs"), admin=url_for("admin.index"))
        if "<body>" in html and "colcw-back-to-admin" not in html:
            resp.set_data(html.replace("<body>", "<body>" + link, 1))
    return resp


def _link_rq_dashboard_back() -> None:
    bp = rq_dashboard.blueprint
    if not getattr(bp, "_colcw_back_link", False):
        bp.after_request(_dashboard_back_link)
        bp._colcw_back_link = True


_link_rq_dashboard_back()
