"""A run's page (its status log, CSV, Retry, Cancel, Resume) and the progress JSON reps' pages poll."""

from __future__ import annotations

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from redis.exceptions import RedisError
from sqlalchemy import select

from host_stub.extensions import db
from host_stub.views import admin_required, current_actor, referrer_path, safe_target

from ..errors import QueueBusy
from ..models import ACTIVE_RUN_STATUSES, ENDED_RUN_STATUSES, RunStatus, Schedule, SyncRun
from ..sync.jobs import history, recovery
from ..sync.jobs.scheduler import LEADER_KEY, missing_processes
from ..sync.jobs.schedules import is_timezone
from ..text import shorten
from . import admin_bp, rep_bp
from .jobs import flash_submitted
from .support import colcw_command, may_open_run, paginate, queue_busy, queue_unreachable, runtime
from .zone import display_zone, when


def worker_note(run: SyncRun, zone: str | None = None) -> history.WorkerNote | None:
    """What a running run's pages say of its worker: stopped (and when colcw resumes the run), not heard from, or no
    progress since a time (:func:`~..sync.jobs.history.worker_note`); None for any other run, without asking Redis.
    An admin is told the command that starts a missing scheduler, a rep to ask an admin."""
    if run.status not in (RunStatus.RUNNING, RunStatus.CANCELLING):
        return None
    return history.worker_note(run, runtime().queue, zone or display_zone(), leader_key=LEADER_KEY,
                               command=colcw_command() if current_user.is_admin else None, kinds=runtime().kinds)


@admin_bp.app_context_processor
def _worker_notes() -> dict:
    """``run_worker_note(run, zone)`` for the templates that show runs: the history's rows (their page and their poll
    render them), as the run's page and its progress bar do."""
    return {"run_worker_note": worker_note}


# A run's message in a row of the job history: at most this many characters, cut at a word's end with "…" (the
# whole text is the cell's title, and on the run's page).
HISTORY_MESSAGE_CHARS = 200


@admin_bp.app_template_filter("shortened")
def _shortened(text: str, limit: int = HISTORY_MESSAGE_CHARS) -> str:
    """``text`` cut at a word's end to ``limit`` characters, with "…" (:func:`~..text.shorten`,
    as catalog descriptions are): never mid-word, and the history row's title holds it whole."""
    return shorten(text or "", limit)


def _run(run_id: int) -> SyncRun:
    return db.session.get(SyncRun, run_id) or abort(404)


def submit_retry(run: SyncRun) -> recovery.Retried | None:
    """Queue a run that redoes what ``run`` failed or did not reach, asked by the signed-in admin (Retry on its page,
    Requeue of its failed job on the queue dashboard); None when it has nothing to redo; its retry made before, with
    ``already`` True, when it was retried before (:func:`~..sync.jobs.recovery.retry`: once, and its failed
    jobs leave the queue's failed list). RedisError: not queued."""
    rt = runtime()
    return recovery.retry(db.session, rt.queue, rt.kinds, run.id, actor=current_actor())


def _zone_asked() -> None:
    """A run's page takes its times' zone from the person's choice ("Show times in"), not from its address: a
    ``?zone=`` there (an old or edited link) is refused with a note naming the zone the times are shown in and how to
    change it, whatever it holds (the name is quoted, escaped, and cut short)."""
    asked = request.args.get("zone")
    if asked is None or asked == display_zone():
        return
    quoted = asked if len(asked) <= 64 else asked[:64] + "…"
    what = "is not a time zone" if not is_timezone(asked) else "is not used here"
    flash(f"The zone in this page's address (“{quoted}”) {what}: its times are shown in {display_zone()}, your "
          "choice. To change it, use Show times in.", "warning")


def _log_items(run: SyncRun, action: str):
    return paginate(history.items_query(run.id, action), 100)


def _log_only(run: SyncRun, log_endpoint: str) -> Response | None:
    """The status log alone, when the page's log asks for itself again (htmx, as the run records results or ends):
    the page's address, so its filter and page stay, for the log's statements only (the run and its page of
    results); None for the whole page."""
    if request.headers.get("HX-Target") != "run-log":
        return None
    action = request.args.get("action", "")
    resp = Response(render_template("colcw/jobs/_log.html", run=run, items=_log_items(run, action), action=action,
                                    when=when, log_endpoint=log_endpoint))
    resp.headers["Cache-Control"] = "no-store"  # the page's address: never kept for the page itself
    resp.headers["Vary"] = "HX-Target"
    return resp


@admin_bp.route("/jobs/runs/<int:run_id>", methods=["GET"])
@admin_required
def job_run(run_id: int):
    run = _run(run_id)
    if (log := _log_only(run, "colcw_admin.job_run")) is not None:
        return log
    _zone_asked()
    kinds = runtime().kinds
    action = request.args.get("action", "")
    items = _log_items(run, action)
    schedule = db.session.get(Schedule, run.schedule_id) if run.schedule_id else None
    # A run is retried once (recovery.retry): once it has a retry, its page links to it instead of offering Retry.
    retries = db.session.execute(select(SyncRun.id).where(SyncRun.retry_of_id == run.id).order_by(SyncRun.id)) \
        .scalars().all()
    zone = display_zone()
    return render_template("colcw/jobs/run.html", run=run, items=items, action=action, when=when,
                           zone=zone, job_label=kinds.label(run.kind), schedule=schedule, worker=worker_note(run, zone),
                           queued=queued_note(run),
                           missing=missing_processes(runtime().queue, colcw_command()) if run.status in ACTIVE_RUN_STATUSES else [],
                           failed=history.failed_count(db.session, run.id),
                           retry=history.retry_label(db.session, kinds, run)
                           if run.status in ENDED_RUN_STATUSES and not retries else None,
                           retries=retries)


@admin_bp.route("/jobs/runs/<int:run_id>.csv", methods=["GET"])
@admin_required
def job_run_csv(run_id: int):
    run = _run(run_id)
    return Response(history.log_csv(db.session, run.id), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="colcw-run-{run.id}-{run.kind}.csv"'})


@admin_bp.route("/jobs/runs/<int:run_id>/retry", methods=["POST"])
@admin_required
def retry_run(run_id: int):
    run = _run(run_id)
    try:
        retried = submit_retry(run)
        if retried is None:
            flash(f"Run #{run.id} has no failed or not attempted records to retry.", "error")
            return redirect(url_for(".job_run", run_id=run.id))
        new = retried.run
        if retried.already:
            flash(f"Run #{run_id} was retried already as run #{new.id}.", "error")
            return redirect(url_for(".job_run", run_id=new.id))
    except QueueBusy:
        db.session.rollback()
        flash(queue_busy(f"another retry of run #{run.id}"), "error")
        return redirect(url_for(".job_run", run_id=run.id))
    except RedisError:
        db.session.rollback()
        flash(queue_unreachable("The retry"), "error")
        return redirect(url_for(".job_run", run_id=run.id))
    flash_submitted(retried.submitted, f"Run #{new.id} queued: retrying {retried.redone} of run #{run.id}.",
                    f"A retry of these records is already {new.status} as run #{new.id}.")
    return redirect(url_for(".job_run", run_id=new.id))


@admin_bp.route("/jobs/runs/<int:run_id>/cancel", methods=["POST"])
@admin_required
def cancel_run(run_id: int):
    """Cancel on a run's page or on its row of the job history (``next``: the page to come back to)."""
    back = safe_target(request.form.get("next"), url_for(".job_run", run_id=run_id))
    try:
        run = recovery.cancel(db.session, runtime().queue, _run(run_id).id, actor=current_actor(),
                              kinds=runtime().kinds)
    except ValueError as e:
        flash(str(e), "error")
    except RedisError:
        # The run is cancelled in the database already; only removing its RQ job failed (a stray
        # delivery of it finds nothing to do).
        flash(f"Run #{run_id} cancelled. (The job queue did not answer; if the job is delivered anyway, it does "
              "nothing.)", "success")
    else:
        if run.status == RunStatus.CANCELLING:
            flash(f"Run #{run.id} is stopping: it ends as cancelled once the record it is working on is saved.",
                  "success")
        else:
            flash(f"Run #{run.id} cancelled.", "success")
    return redirect(back)


@admin_bp.route("/jobs/runs/<int:run_id>/resume", methods=["POST"])
@admin_required
def resume_run(run_id: int):
    try:
        resumed = recovery.resume(db.session, runtime().queue, _run(run_id).id, actor=current_actor(),
                                  kinds=runtime().kinds)
    except ValueError as e:
        flash(str(e), "error")
    except QueueBusy:
        db.session.rollback()
        flash(queue_busy(f"the same job as run #{run_id}"), "error")
    except RedisError:
        db.session.rollback()
        flash(queue_unreachable("The run"), "error")
    else:
        if resumed.duplicate:
            flash(f"Run #{resumed.run.id} was not resumed: the same job is already queued or running.", "error")
        else:
            flash(f"Run #{resumed.run.id} resumed: records already done are skipped.", "success")
    return redirect(url_for(".job_run", run_id=run_id))


def _visible_run(run_id: int) -> SyncRun:
    """A run the signed-in user may follow: any for admins, their own for reps (404 otherwise)."""
    run = db.session.get(SyncRun, run_id)
    if run is None or not may_open_run(run):
        abort(404)
    return run


def queued_note(run: SyncRun) -> str:
    """For a queued run's bar: why it has not started — no colcw worker listens on its queue, or every worker that
    could take it is busy: "Queued behind run #59 (Export all customers to ConnectWise, running) — start another
    worker …" (what to do, for an admin the command; a rep is sent to an admin). Read from what Redis holds (RQ's
    worker registrations and queue: :func:`~..sync.jobs.history.queued_behind`, which a customer's page says it from
    too), so it holds whichever machines the workers run on; the runs named are read from the database. "" when a worker is free to take it (it starts
    in a moment), for a run not queued, or when Redis cannot tell."""
    note = history.queued_behind(db.session, runtime().queue, runtime().kinds, run)
    if note is None or note.idle:
        return ""
    admin = current_user.is_admin
    if note.no_worker:
        if admin:
            return f"Queued: no colcw worker is running to start it: start one with “{colcw_command()} worker”."
        return "Queued: no colcw worker is running to start it: ask an admin to start one."
    if note.urgent and not note.dedicated:
        todo = ("start a worker for live updates and one-record exports (“{cmd} worker --queues live”), so they "
                "never wait behind a bulk run")
    elif note.urgent:
        todo = "start another worker for them (“{cmd} worker --queues live”) to run them side by side"
    else:
        todo = "start another worker (“{cmd} worker”) to run them side by side"
    todo = todo.format(cmd=colcw_command()) if admin else \
        "ask an admin to " + todo.split(" (“")[0] + todo.split("”)", 1)[1]
    return f"Queued behind {note.behind} — {todo}."


@rep_bp.route("/runs/<int:run_id>/progress", methods=["GET"])
@login_required
def run_progress(run_id: int):
    """The progress bar's fresh copy (htmx swaps it in); a finished run's fires ``colcw-run-finished``, and one whose
    status moved on since the copy the page shows (``seen``: queued → running → stopping) fires ``colcw-run-changed``:
    the parts of the page that depend on it (a run's actions: no Cancel left for a run that can no longer take it)
    fetch themselves again. One whose run recorded results since that copy (``recorded``: a run's page, whose status
    log follows the run) fires ``colcw-run-recorded``: the log fetches itself again (:func:`_log_only`)."""
    db.session.expire_all()
    if current_user.is_admin and db.session.get(SyncRun, run_id) is None:
        # The page showed it, and it is gone: a run not kept (JobKind.drops_empty_runs). The bar says so and stops.
        return Response(render_template("colcw/_run_gone.html", run_id=run_id), headers={"Cache-Control": "no-store"})
    run = _visible_run(run_id)
    zone = request.args.get("zone", "")  # the page's time zone, so that its copies keep it; else the person's
    # details: a run's page, whose Records and ConnectWise requests rows follow the run too (from the same row)
    zone = zone if is_timezone(zone) else display_zone()
    resp = Response(render_template("colcw/_run_progress.html", run=run, reload=bool(request.args.get("reload")),
                                    details=bool(request.args.get("details")), zone=zone,
                                    no_worker=queued_note(run), worker=worker_note(run, zone)))
    resp.headers["Cache-Control"] = "no-store"
    events = []
    if run.has_ended:
        events.append("colcw-run-finished")  # the parts showing its results fetch themselves again
    else:
        if request.args.get("seen", run.status) != run.status:
            events.append("colcw-run-changed")
        if request.args.get("recorded", str(run.recorded)) != str(run.recorded):
            events.append("colcw-run-recorded")  # the page's status log fetches the records written since
    if events:
        resp.headers["HX-Trigger"] = ", ".join(events)
    return resp


@rep_bp.route("/runs/<int:run_id>", methods=["GET"])
@login_required
def run_log(run_id: int):
    """A run's log for the rep who started it (a bulk export from a list); admins get the full run page."""
    run = _visible_run(run_id)
    if current_user.is_admin:
        return redirect(url_for("colcw_admin.job_run", run_id=run.id))
    if (log := _log_only(run, "colcw.run_log")) is not None:
        return log
    _zone_asked()
    action = request.args.get("action", "")
    items = _log_items(run, action)
    back = referrer_path()
    return render_template("colcw/jobs/log.html", run=run, items=items, action=action, when=when,
                           zone=display_zone(), job_label=runtime().kinds.label(run.kind), back=back)


@rep_bp.route("/runs/<int:run_id>/status.json", methods=["GET"])
@login_required
def run_status(run_id: int):
    """A run's progress: any run for admins, the runs they started for reps (404 otherwise)."""
    run = _visible_run(run_id)
    data = history.run_status(db.session, runtime().kinds, run.id)
    note = worker_note(run, "UTC")  # (its worker stopped, not heard from, no progress since …: as the pages say)
    data["worker"] = {"state": note.state, "text": note.text} if note is not None else None
    if current_user.is_admin:
        data["log_url"] = url_for("colcw_admin.job_run", run_id=run.id)
    resp = jsonify(data)
    resp.headers["Cache-Control"] = "no-store"
    return resp
