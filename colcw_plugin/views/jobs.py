"""Admin → Integration → ConnectWise → Synchronization Jobs; a run's status log; the progress JSON;
rq-dashboard (admins only) under the same admin section."""

from __future__ import annotations

import datetime as dt

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from redis.exceptions import RedisError
from sqlalchemy import select

from host_stub.extensions import db
from host_stub.views import admin_required, current_actor

from ..models import Schedule, SyncRun
from ..sync.jobs import history
from ..sync.jobs import queue as jobs
from ..sync.jobs.forms import CUSTOMER_RANGE_FIELDS, QUOTE_RANGE_FIELDS, JobFormError, parse_job_form
from ..sync.jobs.ranges import PRESET_LABELS
from ..sync.jobs.runs import kinds
from ..sync.jobs.schedules import (
    FREQUENCIES,
    WEEKDAYS,
    ScheduleError,
    create_schedule,
    describe,
    in_zone,
    is_timezone,
    job_description,
    list_schedules,
    parse_timing,
    set_enabled,
    timezones,
    update_schedule,
)
from . import admin_bp, rep_bp

ZONE_COOKIE = "colcw_tz"
JOB_KINDS = ("customer_import", "customer_export", "quote_export")
RQ_PREFIX = "/admin/integration/connectwise/rq"


def display_zone() -> str:
    """The admin's display zone (a cookie they set on the jobs page), UTC until they choose."""
    zone = request.cookies.get(ZONE_COOKIE, "")
    return zone if is_timezone(zone) else "UTC"


def _when(value: dt.datetime | None) -> str:
    shown = in_zone(value, display_zone())
    return shown.strftime("%Y-%m-%d %H:%M %Z") if shown else "—"


def _page_context(form: dict | None = None, errors: dict | None = None) -> dict:
    flt, filter_error = history.HistoryFilter.parse(request.args)
    if filter_error:
        flash(filter_error, "error")
    page = db.paginate(history.history_query(flt), page=request.args.get("page", 1, type=int), per_page=25,
                       error_out=False)
    registered = kinds()
    return {"kinds": {k: registered[k] for k in JOB_KINDS if k in registered}, "all_kinds": registered,
            "last": history.last_runs(db.session, list(JOB_KINDS)), "schedules": list_schedules(db.session),
            "page": page, "flt": flt, "results": history.RESULTS, "form": form or {}, "errors": errors or {},
            "presets": PRESET_LABELS, "customer_fields": CUSTOMER_RANGE_FIELDS, "quote_fields": QUOTE_RANGE_FIELDS,
            "frequencies": FREQUENCIES, "weekdays": WEEKDAYS, "zones": timezones(), "zone": display_zone(),
            "when": _when, "describe": describe, "job_description": job_description}


@admin_bp.route("/jobs", methods=["GET"], endpoint="jobs")
@admin_required
def jobs_page():
    return render_template("colcw/jobs.html", **_page_context())


@admin_bp.route("/jobs/run", methods=["POST"])
@admin_required
def run_job():
    """Run a job now, or (with "Schedule this job") save it as a schedule."""
    form = request.form.to_dict()
    actor = current_actor()
    try:
        kind, params = parse_job_form(db.session, form)
        if form.get("schedule"):
            timing = _schedule_timing(form)
            schedule = create_schedule(db.session, name=form.get("schedule_name", ""), kind=kind, params=params,
                                       timing=timing, actor=actor["email"])
            db.session.commit()
            flash(f"Scheduled “{schedule.name}”: {describe(schedule)}; next run {_when(schedule.next_run_at)}.",
                  "success")
            return redirect(url_for(".jobs") + "#schedules")
        run = jobs.submit(db.session, kind, params, trigger="manual", actor=actor)
    except (JobFormError, ScheduleError) as e:
        db.session.rollback()
        refused = "The schedule was not saved: " if form.get("schedule") else "The job was not started: "
        flash(refused + " ".join(e.errors.values()), "error")
        return render_template("colcw/jobs.html", **_page_context(form, e.errors)), 400
    except RedisError:
        db.session.rollback()
        flash("The job could not be queued: the job queue (Redis) is not reachable. Check REDIS_URL and that "
              "the colcw worker is running, then try again.", "error")
        return redirect(url_for(".jobs"))
    if run.duplicate:
        flash(f"That job is already {run.status} as run #{run.id}; it was not queued again.", "error")
    elif not run.enqueued:
        flash(f"Run #{run.id} is recorded but not queued yet: {NOT_QUEUED}", "error")
    else:
        flash(f"Run #{run.id} queued: {run.description}.", "success")
    return redirect(url_for(".job_run", run_id=run.id))


NOT_QUEUED = ("the job queue (Redis) did not answer. The colcw scheduler queues it as soon as Redis is reachable; "
              "check REDIS_URL and that the scheduler and a worker are running.")


def _schedule_timing(form: dict):
    """The schedule's timing, with a missing name reported together with the timing's errors."""
    errors = {} if (form.get("schedule_name") or "").strip() else {
        "schedule_name": "Name the schedule so you can find it in the list and the history."}
    try:
        timing = parse_timing(form)
    except ScheduleError as e:
        raise ScheduleError({**errors, **e.errors}) from None
    if errors:
        raise ScheduleError(errors)
    return timing


@admin_bp.route("/jobs/zone", methods=["POST"])
@admin_required
def set_zone():
    zone = request.form.get("zone", "").strip()
    resp = redirect(request.form.get("next") or url_for(".jobs"))
    if not is_timezone(zone):
        flash(f"{zone!r} is not a time zone name; choose one from the list (e.g. America/Chicago).", "error")
        return resp
    resp.set_cookie(ZONE_COOKIE, zone, max_age=365 * 86400, httponly=True, samesite="Lax",
                    path="/admin/integration/connectwise")
    flash(f"Times on these pages are now shown in {zone}.", "success")
    return resp


# --- schedules -------------------------------------------------------------------------------------


def _schedule(schedule_id: int) -> Schedule:
    return db.session.get(Schedule, schedule_id) or abort(404)


@admin_bp.route("/jobs/schedules/<int:schedule_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_schedule(schedule_id: int):
    schedule = _schedule(schedule_id)
    errors: dict = {}
    form = {"schedule_name": schedule.name, "time": schedule.time_of_day, "timezone": schedule.timezone,
            "frequency": schedule.frequency, "weekday": schedule.weekday, "day_of_month": schedule.day_of_month}
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            update_schedule(db.session, schedule, name=form.get("schedule_name", ""), timing=parse_timing(form))
        except ScheduleError as e:
            db.session.rollback()
            errors = e.errors
        else:
            db.session.commit()
            flash(f"Schedule “{schedule.name}” saved: {describe(schedule)}; next run {_when(schedule.next_run_at)}.",
                  "success")
            return redirect(url_for(".jobs") + "#schedules")
    job = kinds().get(schedule.kind)
    return render_template("colcw/jobs_schedule_edit.html", schedule=schedule, form=form, errors=errors,
                           job_label=job.label if job else schedule.kind,
                           job_description=job_description(schedule.kind, schedule.params or {}),
                           frequencies=FREQUENCIES, weekdays=WEEKDAYS, zones=timezones(), when=_when,
                           zone=display_zone()), (400 if errors else 200)


@admin_bp.route("/jobs/schedules/<int:schedule_id>/toggle", methods=["POST"])
@admin_required
def toggle_schedule(schedule_id: int):
    schedule = _schedule(schedule_id)
    set_enabled(db.session, schedule, not schedule.enabled)
    db.session.commit()
    state = f"enabled; next run {_when(schedule.next_run_at)}" if schedule.enabled else "disabled"
    flash(f"Schedule “{schedule.name}” {state}.", "success")
    return redirect(url_for(".jobs") + "#schedules")


@admin_bp.route("/jobs/schedules/<int:schedule_id>/delete", methods=["POST"])
@admin_required
def delete_schedule(schedule_id: int):
    schedule = _schedule(schedule_id)
    db.session.delete(schedule)
    db.session.commit()
    flash(f"Schedule “{schedule.name}” deleted. Its past runs stay in the history.", "success")
    return redirect(url_for(".jobs") + "#schedules")


# --- a run's status log ------------------------------------------------------------------------------


def _run(run_id: int) -> SyncRun:
    return db.session.get(SyncRun, run_id) or abort(404)


@admin_bp.route("/jobs/runs/<int:run_id>", methods=["GET"])
@admin_required
def job_run(run_id: int):
    run = _run(run_id)
    action = request.args.get("action", "")
    items = db.paginate(history.items_query(run.id, action), page=request.args.get("page", 1, type=int),
                        per_page=100, error_out=False)
    job = kinds().get(run.kind)
    schedule = db.session.get(Schedule, run.schedule_id) if run.schedule_id else None
    return render_template("colcw/jobs_run.html", run=run, items=items, action=action, when=_when,
                           job_label=job.label if job else run.kind, schedule=schedule,
                           failed=history.failed_count(db.session, run.id),
                           retry=history.retry_label(db.session, run)
                           if run.status in ("succeeded", "partial", "failed", "interrupted") else None,
                           retries=db.session.execute(select(SyncRun.id).where(SyncRun.retry_of_id == run.id)
                                                      .order_by(SyncRun.id)).scalars().all())


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
    params = history.retry_params(db.session, run)
    if params is None:
        flash(f"Run #{run.id} has no failed records to retry.", "error")
        return redirect(url_for(".job_run", run_id=run.id))
    try:
        new = jobs.submit(db.session, run.kind, params, trigger="retry", actor=current_actor(), retry_of_id=run.id)
    except RedisError:
        db.session.rollback()
        flash("The retry could not be queued: the job queue (Redis) is not reachable.", "error")
        return redirect(url_for(".job_run", run_id=run.id))
    if new.duplicate:
        flash(f"A retry of these records is already {new.status} as run #{new.id}.", "error")
    elif not new.enqueued:
        flash(f"Run #{new.id} is recorded but not queued yet: {NOT_QUEUED}", "error")
    else:
        flash(f"Run #{new.id} queued: retrying the failed records of run #{run.id}.", "success")
    return redirect(url_for(".job_run", run_id=new.id))


@admin_bp.route("/jobs/runs/<int:run_id>/cancel", methods=["POST"])
@admin_required
def cancel_run(run_id: int):
    try:
        run = jobs.cancel(db.session, _run(run_id).id, actor=current_actor())
    except ValueError as e:
        flash(str(e), "error")
    except RedisError:
        # The run is cancelled in the database already; only removing its RQ job failed (a stray
        # delivery of it finds nothing to do).
        flash(f"Run #{run_id} cancelled. (The job queue did not answer; if the job is delivered anyway, it does "
              "nothing.)", "success")
    else:
        flash(f"Run #{run.id} cancelled.", "success")
    return redirect(url_for(".job_run", run_id=run_id))


@admin_bp.route("/jobs/runs/<int:run_id>/resume", methods=["POST"])
@admin_required
def resume_run(run_id: int):
    try:
        run = jobs.resume(db.session, _run(run_id).id, actor=current_actor())
    except ValueError as e:
        flash(str(e), "error")
    except RedisError:
        db.session.rollback()
        flash("The run could not be queued: the job queue (Redis) is not reachable.", "error")
    else:
        if run.duplicate:
            flash(f"Run #{run.id} was not resumed: the same job is already queued or running.", "error")
        else:
            flash(f"Run #{run.id} resumed: records already done are skipped.", "success")
    return redirect(url_for(".job_run", run_id=run_id))


# --- progress JSON (reps too) --------------------------------------------------------------------------


@rep_bp.route("/runs/<int:run_id>/status.json", methods=["GET"])
@login_required
def run_status(run_id: int):
    """A run's progress: any run for admins, the runs they started for reps (404 otherwise)."""
    run = db.session.get(SyncRun, run_id)
    if run is None or not (current_user.is_admin or run.requested_by_id == current_user.id):
        abort(404)
    data = jobs.run_status(db.session, run.id)
    if current_user.is_admin:
        data["log_url"] = url_for("colcw_admin.job_run", run_id=run.id)
    resp = jsonify(data)
    resp.headers["Cache-Control"] = "no-store"
    return resp


# --- rq-dashboard, admins only ------------------------------------------------------------------------


def _guard_dashboard():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    if not current_user.is_admin:
        abort(403)
    return None


def _dashboard_csrf_cookie(resp):
    # rq-dashboard's script sends the "_csrf_token" cookie as X-CSRFToken on its POSTs (delete, requeue).
    resp.set_cookie("_csrf_token", generate_csrf(), path=RQ_PREFIX, samesite="Strict", httponly=False)
    return resp


@admin_bp.record_once
def _mount_dashboard(state) -> None:
    """Mount rq-dashboard at /admin/integration/connectwise/rq on each app (its blueprint is global:
    the guard is added once, at import time, below)."""
    import rq_dashboard
    from rq_dashboard.web import setup_rq_connection

    app = state.app
    app.config.setdefault("RQ_DASHBOARD_REDIS_URL", app.config["REDIS_URL"])
    setup_rq_connection(app)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=RQ_PREFIX)


def _guard_rq_dashboard_blueprint() -> None:
    import rq_dashboard

    bp = rq_dashboard.blueprint
    if not getattr(bp, "_colcw_guarded", False):
        # Before rq-dashboard's own handlers: nobody but an admin reaches its views or its Redis.
        bp.before_request_funcs.setdefault(None, []).insert(0, _guard_dashboard)
        bp.after_request(_dashboard_csrf_cookie)
        bp._colcw_guarded = True


_guard_rq_dashboard_blueprint()
