"""Admin → Integration → ConnectWise → Synchronization Jobs: run a job now or schedule it, the
schedules, the history, and the display time zone. A run's own page is in :mod:`.runs`."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from redis.exceptions import RedisError

from host_stub.extensions import db
from host_stub.views import admin_required, current_actor

from ..errors import FieldErrors
from ..models import Schedule, SyncRun
from ..setup.live_updates import read_live, save_limit
from ..sync.jobs import history
from ..sync.jobs.ranges import PRESET_LABELS
from ..sync.jobs.schedules import (
    FREQUENCIES,
    WEEKDAYS,
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
from . import admin_bp
from .support import actor_name, runtime

ZONE_COOKIE = "colcw_tz"
NOT_QUEUED = ("the job queue (Redis) did not answer. The colcw scheduler queues it as soon as Redis is reachable; "
              "check REDIS_URL and that the scheduler and a worker are running.")


def display_zone() -> str:
    """The admin's display zone (a cookie they set on the jobs page), UTC until they choose."""
    zone = request.cookies.get(ZONE_COOKIE, "")
    return zone if is_timezone(zone) else "UTC"


def when(value: dt.datetime | None) -> str:
    """A naive-UTC time shown in the admin's display zone."""
    shown = in_zone(value, display_zone())
    return shown.strftime("%Y-%m-%d %H:%M %Z") if shown else "—"


def _page_context(form: dict | None = None, errors: dict | None = None) -> dict:
    flt, filter_error = history.HistoryFilter.parse(request.args)
    if filter_error:
        flash(filter_error, "error")
    page = db.paginate(history.history_query(flt), page=request.args.get("page", 1, type=int), per_page=25,
                       error_out=False)
    kinds = runtime().kinds
    return {"kinds": list(kinds), "job_forms": kinds.forms(), "last": history.last_runs(db.session, [k.name for k in kinds]),
            "schedules": list_schedules(db.session), "page": page, "flt": flt, "results": history.RESULTS,
            "form": form or {}, "errors": errors or {}, "presets": PRESET_LABELS, "frequencies": FREQUENCIES,
            "weekdays": WEEKDAYS, "zones": timezones(), "zone": display_zone(), "when": when, "describe": describe,
            "kind_label": kinds.label, "live": read_live(db.session),
            "schedule_job": lambda s: job_description(db.session, kinds, s.kind, s.params or {})}


@admin_bp.route("/jobs", methods=["GET"], endpoint="jobs")
@admin_required
def jobs_page():
    return render_template("colcw/jobs/index.html", **_page_context())


@admin_bp.route("/jobs/run", methods=["POST"])
@admin_required
def run_job():
    """Run a job now, or (with "Schedule this job") save it as a schedule."""
    form = request.form.to_dict()
    actor = current_actor()
    rt = runtime()
    try:
        kind, params = rt.kinds.from_form(db.session, form)
        if form.get("schedule"):
            timing = _schedule_timing(form)
            schedule = create_schedule(db.session, name=form.get("schedule_name", ""), kind=kind.name, params=params,
                                       timing=timing, actor=actor["email"])
            db.session.commit()
            flash(f"Scheduled “{schedule.name}”: {describe(schedule)}; next run {when(schedule.next_run_at)}.",
                  "success")
            return redirect(url_for(".jobs") + "#schedules")
        run = rt.submit(db.session, kind.name, params, trigger="manual", actor=actor)
    except FieldErrors as e:
        db.session.rollback()
        refused = "The schedule was not saved: " if form.get("schedule") else "The job was not started: "
        flash(refused + " ".join(e.errors.values()), "error")
        return render_template("colcw/jobs/index.html", **_page_context(form, e.errors)), 400
    except RedisError:
        db.session.rollback()
        flash("The job could not be queued: the job queue (Redis) is not reachable. Check REDIS_URL and that "
              "the colcw worker is running, then try again.", "error")
        return redirect(url_for(".jobs"))
    flash_submitted(run, f"Run #{run.id} queued: {run.description}.",
                    f"That job is already {run.status} as run #{run.id}; it was not queued again.")
    return redirect(url_for(".job_run", run_id=run.id))


def flash_submitted(run: SyncRun, queued: str, duplicate: str) -> None:
    """Say what became of a submitted run: queued, already queued or running, or recorded but not queued."""
    if run.duplicate:
        flash(duplicate, "error")
    elif not run.enqueued:
        flash(f"Run #{run.id} is recorded but not queued yet: {NOT_QUEUED}", "error")
    else:
        flash(queued, "success")


def _schedule_timing(form: dict):
    """The schedule's timing, with a missing name reported together with the timing's errors."""
    errors = {} if (form.get("schedule_name") or "").strip() else {
        "schedule_name": "Name the schedule so you can find it in the list and the history."}
    try:
        timing = parse_timing(form)
    except FieldErrors as e:
        raise FieldErrors({**errors, **e.errors}) from None
    if errors:
        raise FieldErrors(errors)
    return timing


@admin_bp.route("/jobs/mass-delete-limit", methods=["POST"])
@admin_required
def save_mass_delete_limit():
    """The safety net's mass-delete limit (a percentage of a kind's links, or a number)."""
    try:
        row = save_limit(db.session, request.form.get("mass_delete_limit", ""), actor_name())
    except FieldErrors as e:
        db.session.rollback()
        flash(" ".join(e.errors.values()), "error")
    else:
        db.session.commit()
        flash(f"A pass that would mark more than {row.mass_delete_limit} of the links of a kind as deleted now stops "
              "and alerts.", "success")
    return redirect(url_for(".jobs") + "#reconcile-job")


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
            "frequency": schedule.frequency, "weekday": schedule.weekday, "day_of_month": schedule.day_of_month,
            "every_minutes": schedule.every_minutes}
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            update_schedule(db.session, schedule, name=form.get("schedule_name", ""), timing=parse_timing(form))
        except FieldErrors as e:
            db.session.rollback()
            errors = e.errors
        else:
            db.session.commit()
            flash(f"Schedule “{schedule.name}” saved: {describe(schedule)}; next run {when(schedule.next_run_at)}.",
                  "success")
            return redirect(url_for(".jobs") + "#schedules")
    kinds = runtime().kinds
    return render_template("colcw/jobs/schedule_edit.html", schedule=schedule, form=form, errors=errors,
                           job_label=kinds.label(schedule.kind),
                           job_description=job_description(db.session, kinds, schedule.kind, schedule.params or {}),
                           frequencies=FREQUENCIES, weekdays=WEEKDAYS, zones=timezones(), when=when,
                           zone=display_zone()), (400 if errors else 200)


@admin_bp.route("/jobs/schedules/<int:schedule_id>/toggle", methods=["POST"])
@admin_required
def toggle_schedule(schedule_id: int):
    schedule = _schedule(schedule_id)
    set_enabled(db.session, schedule, not schedule.enabled)
    db.session.commit()
    state = f"enabled; next run {when(schedule.next_run_at)}" if schedule.enabled else "disabled"
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
