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
  and answers 409 (resuming removes such jobs itself: ``JobQueue.remove_stale``). "Requeue all" does the same for
  each failed job of a colcw run, and removes the ones it declines too (the run gone or not ended, no failed records
  to redo): rq-dashboard, which requeues the failed jobs left after colcw's, would run them as they are, to find
  nothing to do. Its answer names each.

Its pages stay rq-dashboard's own (no fork of its templates or scripts): :func:`_dashboard_back_link` adds a bar at
the top of each (back to colcw's admin; on a colcw job's page, a link to its run's page) and a small script at the
end (``colcw/jobs/_rq_dashboard.html``) that links each colcw job of its job lists to its run's page (the job id names
the run: ``queue.new_job_id``) and shows colcw's answer to a Requeue, which rq-dashboard's own script ignores: the
retry it queued with a link to it, or why it queued none (the JSON of :func:`_requeue_runs`; "Requeue all" says what
it did too: :func:`_tell_requeue_all`).
"""

from __future__ import annotations

from typing import NamedTuple

import rq_dashboard
from flask import abort, current_app, g, get_template_attribute, jsonify, redirect, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf, validate_csrf
from markupsafe import escape
from redis.exceptions import RedisError
from rq_dashboard.web import setup_rq_connection

from host_stub.extensions import db

from ..errors import QueueBusy
from ..models import ENDED_RUN_STATUSES, SyncRun
from ..sync.jobs.queue import JOB_ID, JobQueue, run_id_of
from . import admin_bp
from .runs import submit_retry
from .support import queue_busy, runtime

RQ_PREFIX = "/admin/integration/connectwise/rq"

# rq-dashboard's routes that change what Redis holds (rq_dashboard/web.py of 0.9.0). Every other route of
# its blueprint only reads (tests/jobs/test_dashboard_security.py fails when a new version adds one).
STATE_CHANGING = frozenset({"delete_job_view", "requeue_job_view", "requeue_all", "empty_queue", "compact_queue"})
REGISTRIES = frozenset({"queued", "failed", "deferred", "started", "finished", "scheduled", "canceled"})
CSRF_HEADERS = ("X-CSRFToken", "X-CSRF-Token")


def _refuse(status: int, message: str, **extra):
    """A refusal in the form the caller reads: JSON for rq-dashboard's scripts (with ``extra`` fields), the host's
    error page else."""
    if request.method == "POST" or "/data/" in request.path:
        resp = jsonify(status="ERROR", message=message, **extra)
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
    run_id = None  # the run being retried (the one the queue's lock was busy for, if it was)
    try:
        if endpoint == "requeue_job_view":
            run_id = queue.run_of(args["job_id"])
            if run_id is None:
                return None
            answer = _retry_job(queue, args["job_id"], run_id)
            link = {"run_url": url_for("colcw_admin.job_run", run_id=answer.run_id)} if answer.run_id else {}
            return jsonify(status="OK", message=answer.message, **link) if answer.ok \
                else _refuse(409, answer.message, **link)
        if args.get("queue_name") in queue.names:  # (colcw's general queue or its live queue)
            answers = []
            for job_id in queue.failed_job_ids(args["queue_name"]):
                run_id = queue.run_of(job_id)
                if run_id is not None:  # declined, it goes too: rq-dashboard requeues every failed job left
                    answers.append(_retry_job(queue, job_id, run_id, remove_declined=True))
            g.colcw_requeue_answers = answers  # told with rq-dashboard's answer (_tell_requeue_all)
    except QueueBusy:  # (another click retrying the same run: nothing more was requeued)
        db.session.rollback()
        return _refuse(409, queue_busy(f"another retry of run #{run_id}"))
    except RedisError:
        db.session.rollback()
        return _refuse(503, "The job queue (Redis) did not answer: nothing was requeued. Try again in a moment.")
    return None


class _Answer(NamedTuple):
    """What a Requeue of a colcw job did: ``ok`` (a retry was queued), the sentence the dashboard shows, and the run
    whose page it links to (the retry, or the run itself; None when the run is gone)."""

    ok: bool
    message: str
    run_id: int | None


def _retry_job(queue: JobQueue, job_id: str, run_id: int, *, remove_declined: bool = False) -> _Answer:
    """Requeue of the failed job ``job_id`` of run ``run_id``: the run's retry, or why none. A job that can only do
    nothing goes (a ghost of a run that went on; a run retried already), and, with ``remove_declined`` ("Requeue
    all", after which rq-dashboard requeues every failed job left as it is), so does every job it declines."""
    run = db.session.get(SyncRun, run_id)
    if run is not None and run.status not in ENDED_RUN_STATUSES and run.rq_job_id != job_id:
        # A dead attempt's job (its worker's machine died) that RQ failed after colcw had resumed the run under
        # another job: a ghost. Requeued, it would find the run taken; it goes, as resuming removes such jobs.
        queue.delete_job(job_id)
        return _Answer(False, f"Job {job_id} is an earlier attempt of run #{run_id}, which went on as job "
                              f"{run.rq_job_id} and is {run.status}: this stale job is removed. Follow the run on its "
                              "page.", run_id)
    if run is None or run.status not in ENDED_RUN_STATUSES:
        where = "no longer exists" if run is None else f"is {run.status}"
        if remove_declined:
            queue.delete_job(job_id)
            why = " (requeued as it is, it would do nothing)." if run is None else ": follow the run on its page."
            return _Answer(False, f"Job {job_id} belongs to run #{run_id}, which {where}: there is nothing to requeue, "
                                  f"and the job is removed{why}", run.id if run is not None else None)
        return _Answer(False, f"Job {job_id} belongs to run #{run_id}, which {where}: there is nothing to requeue.",
                       run.id if run is not None else None)
    retried = submit_retry(run)
    if retried is None:
        if remove_declined:
            queue.delete_job(job_id)
            return _Answer(False, f"Run #{run_id} has no failed records to retry: its failed job is removed "
                                  "(requeued as it is, it would do nothing). See the run's page on the Synchronization "
                                  "Jobs page.", run_id)
        return _Answer(False, f"Run #{run_id} has no failed records to retry: see its page on the Synchronization Jobs "
                              "page.", run_id)
    queue.delete_job(job_id)
    if retried.already:  # from its page, say, or by another Requeue at the same time: its failed job was stale
        return _Answer(False, f"Run #{run_id} was retried already as run #{retried.run.id}: its failed job is "
                              "removed.", retried.run.id)
    return _Answer(True, f"Run #{run_id} is retried as run #{retried.run.id} ({retried.redone}).", retried.run.id)


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


ADDON = "colcw/jobs/_rq_dashboard.html"


def _dashboard_back_link(resp):
    """rq-dashboard's pages are its own; put at the top of each a way back to colcw's admin pages, on a colcw job's
    page a link to its run's page, and the place where colcw's answer to a Requeue shows; and at the end the script
    that links colcw's jobs in its job lists to their runs' pages and shows that answer (:data:`ADDON`)."""
    if resp.mimetype == "text/html" and not resp.direct_passthrough and resp.status_code == 200:
        html = resp.get_data(as_text=True)
        if "<body>" in html and "</body>" in html and "colcw-back-to-admin" not in html:
            job_id = (request.view_args or {}).get("job_id") if request.endpoint == "rq_dashboard.job_view" else None
            run_id = run_id_of(job_id) if job_id else None
            top = BACK_LINK.format(jobs=url_for("colcw_admin.jobs"), admin=url_for("admin.index")) + str(
                get_template_attribute(ADDON, "top")(run_id))
            end = str(get_template_attribute(ADDON, "script")(url_for("colcw_admin.job_run", run_id=0)[:-1],
                                                              JOB_ID.pattern))
            html = html.replace("<body>", "<body>" + top, 1)
            head, _, tail = html.rpartition("</body>")
            resp.set_data(head + end + "</body>" + tail)
    return resp


def _tell_requeue_all(resp):
    """rq-dashboard answers "Requeue all" with how many jobs it requeued itself; colcw's retries of its failed runs
    (:func:`_requeue_runs`), and the jobs of its runs it removed instead, are told too, so that the dashboard shows
    them."""
    answers = g.pop("colcw_requeue_answers", None)
    if request.endpoint == "rq_dashboard.requeue_all" and answers is not None and resp.is_json \
            and resp.status_code == 200:
        data = resp.get_json()
        others = int(data.get("count") or 0)
        told = [a.message for a in answers]
        told.append(f"{others} other failed job{'' if others == 1 else 's'} requeued." if others or not answers
                    else "No other failed job to requeue.")
        data["message"] = " ".join(told)
        data["colcw_retried"] = sum(a.ok for a in answers)
        resp.set_data(current_app.json.dumps(data))
    return resp


# What rq-dashboard's job page puts into its HTML as it is (``<%= %>`` in rq_dashboard/templates/rq_dashboard/job.html,
# unlike its job lists, which escape): colcw's job descriptions and failures hold customer and rep names, which are
# anyone's text.
_JOB_PAGE_RAW = ("description", "metadata", "exc_info", "origin", "status")


def _escape_job_info(resp):
    """A job's data for its page, with the text the page inserts unescaped escaped here: a customer named
    ``<img onerror=…>`` must not run script in an admin's dashboard."""
    if request.endpoint == "rq_dashboard.job_info" and resp.is_json and resp.status_code == 200:
        data = resp.get_json()
        for key in _JOB_PAGE_RAW:
            if isinstance(data.get(key), str):
                data[key] = str(escape(data[key]))
        resp.set_data(current_app.json.dumps(data))
    return resp


def _link_rq_dashboard_back() -> None:
    bp = rq_dashboard.blueprint
    if not getattr(bp, "_colcw_back_link", False):
        bp.after_request(_dashboard_back_link)
        bp.after_request(_tell_requeue_all)
        bp.after_request(_escape_job_info)
        bp._colcw_back_link = True


_link_rq_dashboard_back()
