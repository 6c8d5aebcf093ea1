"""Admin → Integration → ConnectWise → Synchronization Jobs: run a job now or schedule it, the
schedules, the history, and "Show times in" (the person's zone on every colcw page: :mod:`.zone`). A run's own
page is in :mod:`.runs`."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from redis.exceptions import RedisError

from host_stub.extensions import db
from host_stub.views import admin_required, current_actor, safe_target

from ..errors import FieldErrors, QueueBusy
from ..models import Schedule
from ..setup.live_updates import read_live, save_limit
from ..sync.inbound import RECONCILE_KIND
from ..sync.inbound.safety_net import apply_anyway
from ..sync.inbound.switch import stops_without
from ..sync.jobs import history
from ..sync.jobs.clocks import clock_warnings, tenant_from
from ..sync.jobs.queue import Submitted
from ..sync.jobs.scheduler import missing_processes
from ..sync.jobs.schedules import (
    clashes,
    create_schedule,
    describe,
    enabling_refused,
    held,
    job_description,
    last_recorded,
    legacy_zone_note,
    list_schedules,
    meets_sometimes_warnings,
    parse_timing,
    remove_schedule,
    set_enabled,
    sometimes_clashes,
    timezones,
    update_schedule,
)
from ..sync.shared.held_deletions import shown_alert
from . import admin_bp
from .forms import JOB_FORMS, ScheduleForm
from .support import (
    actor_name,
    colcw_command,
    paginate,
    queue_busy,
    request_settings,
    requested_page,
    runtime,
)
from .zone import choose, display_zone, when, zone_note

NOT_QUEUED = ("the job queue (Redis) did not answer. The colcw scheduler queues it as soon as Redis is reachable; "
              "check REDIS_URL and that the scheduler and a worker are running.")


HISTORY_PAGE = 25  # runs on a page of the job history
TABS = {"run": "Run or schedule a job", "schedules": "Scheduled jobs", "history": "Job history"}


def _job_forms(posted: dict | None = None, errors: dict | None = None) -> list[tuple]:
    """Each form section of the page with its form: the posted one keeps what was typed and its errors."""
    out = []
    for kind in runtime().kinds.forms():
        mine = posted is not None and posted.get("job") == kind.form_job
        form = JOB_FORMS[kind.form_job](formdata=request.form if mine else None)
        form.set_range_fields(kind.range_fields).with_zone(display_zone())
        form.job.data = kind.form_job
        if mine and errors:
            form.show_errors(errors)
        out.append((kind, form))
    return out


def _page_context(tab: str = "run", posted: dict | None = None, errors: dict | None = None) -> dict:
    kinds = runtime().kinds
    context = {"tab": tab, "tabs": TABS, "kinds": list(kinds), "zone": display_zone(), "when": when,
               "results": history.RESULTS, "kind_label": kinds.label, "zones": timezones(), "zone_note": zone_note(),
               "missing": missing_processes(runtime().queue, colcw_command()),
               "clocks": clock_warnings(runtime().redis, tenant_from(request_settings()))}
    if tab == "run":
        last = history.last_runs(db.session, [k.name for k in kinds])
        context.update(job_forms=_job_forms(posted, errors), last=last,
                       last_polled=[r.id for r in last.values() if r.active], **_live_alert())
    elif tab == "schedules":
        schedules = list_schedules(db.session)
        always = clashes(schedules)
        context.update(schedules=schedules, describe=describe, clashes=always,
                       sometimes=sometimes_clashes(schedules, display_zone(), skip=set(always)),
                       last_runs=history.schedules_last_runs(db.session, schedules),
                       last_fired=history.last_run_fired_at,
                       schedule_zone_note=legacy_zone_note,
                       schedule_job=lambda s: job_description(db.session, kinds, s.kind, s.params or {}),
                       without=lambda s: stops_without(s, schedules))
    else:
        args, refused = _history_args(kinds)
        flt, filter_error = history.HistoryFilter.parse(args, zone=display_zone())
        for message in (*refused, filter_error):
            if message:
                flash(message, "error")
        page = paginate(history.history_query(flt), HISTORY_PAGE)
        if page.pages and page.page < (asked := requested_page()):  # an old link, or runs purged since: the last page
            flash(f"Page {asked} is past the last page of this history ({page.pages}): showing page {page.pages}.",
                  "info")
        context.update(flt=flt, page=page, polled=[r.id for r in page.items if r.active])
    return context


def _live_alert() -> dict:
    """The mass-delete guard's alert of the safety net's section (_live_alert.html): the live updates' settings, the
    alert as the Connection page says it (``shown_alert``: the links still held counted now, not the number stored when
    raised) and the Apply anyway asked for it (its run's state, said as the Connection page says it), read only while
    it stands."""
    live = read_live(db.session)
    return {"live": live, "live_alert": shown_alert(db.session, live) if live.alert else "",
            "applied": apply_anyway(db.session) if live.alert else None}


def _history_args(kinds) -> tuple[dict, list[str]]:
    """The history's query arguments without the values it does not know, and a message for each of those, saying
    which value and what is shown instead (the page number's, as the shared pager reads it: page 1)."""
    args = request.args.to_dict()
    refused = []
    kind = args.get("kind", "")
    if kind and kind not in kinds:
        refused.append(f"Job type “{kind}” is not one of the job types: showing all job types (choose one from the "
                       "Job type list).")
        args.pop("kind")
    result = args.get("result", "")
    if result and result not in history.RESULTS:
        refused.append(f"Result “{result}” is not one of the results a run can have: showing all results (choose one "
                       "from the Result list).")
        args.pop("result")
    page = args.get("page", "")
    if page.strip() and request.args.get("page", 0, type=int) < 1:
        refused.append(f"Page “{args['page']}” is not a page number (1, 2, 3…): showing page {requested_page()}.")
    return args, refused


@admin_bp.route("/jobs", methods=["GET"], endpoint="jobs")
@admin_required
def jobs_page():
    tab = request.args.get("tab", "run")
    return render_template("colcw/jobs/index.html", **_page_context(tab if tab in TABS else "run"))


@admin_bp.route("/jobs/history-rows", methods=["GET"])
@admin_required
def job_history_rows():
    """The job history's one poll (``run``: the ids of the page's runs not ended; ``next``: the history page): a
    fresh copy of each of those rows, swapped in by htmx out of band, and the poll itself again for those still not
    ended (none: it stops). One request every two seconds for a page, however many of its runs are unfinished."""
    ids = request.args.getlist("run", type=int)[:HISTORY_PAGE]
    back = safe_target(request.args.get("next"), url_for(".jobs", tab="history"))
    runs = history.runs_by_id(db.session, ids)
    found = {r.id for r in runs}  # a run asked for and gone was not kept (a live-update run that found nothing)
    return _poll("colcw/jobs/_history_poll.html", runs, back=back, zone=display_zone(),
                 gone=[i for i in ids if i not in found])


@admin_bp.route("/jobs/last-runs-rows", methods=["GET"])
@admin_required
def job_last_runs_rows():
    """The poll of the table of last runs on "Run or schedule a job" (``run``: the ids of its runs not ended): a fresh
    copy of each of their rows, swapped in by htmx out of band, and the poll itself again for those still not ended
    (none: it stops). One request every two seconds, however many of its runs are unfinished; each row follows the
    run it shows."""
    kinds = runtime().kinds
    ids = request.args.getlist("run", type=int)[:len(list(kinds))]
    runs = [r for r in history.runs_by_id(db.session, ids) if r.kind in kinds]
    rows = [(kinds[r.kind], r) for r in runs]
    if len(runs) < len(set(ids)):
        # A run asked for is gone: one not kept (JobKind.drops_empty_runs). The rows of the jobs whose runs may go show
        # their last run kept again (the one gone was the latest of its job).
        shown = {r.kind for r in runs}
        dropping = [k for k in kinds if k.drops_empty_runs and k.name not in shown]
        last = history.last_runs(db.session, [k.name for k in dropping]) if dropping else {}
        rows += [(k, last.get(k.name)) for k in dropping]
        runs += [r for k in dropping if (r := last.get(k.name)) is not None]
    # The safety net's run may be an Apply anyway's: the alert follows it (read only when one of them is polled).
    alert = _live_alert() if any(r.kind == RECONCILE_KIND for r in runs) else {}
    return _poll("colcw/jobs/_last_runs_poll.html", runs, rows=rows, back=url_for(".jobs", tab="run"),
                 zone=display_zone(), alert_oob=bool(alert), **alert)


def _poll(template: str, runs, **context):
    """A poll's answer (never cached): the fresh rows of ``runs`` and the poll again for those not ended."""
    resp = make_response(render_template(template, runs=runs, when=when, results=history.RESULTS,
                                         polled=[r.id for r in runs if r.active], **context))
    resp.headers["Cache-Control"] = "no-store"
    return resp


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
                                       timing=timing, actor=actor_name())
            db.session.commit()
            flash(f"Scheduled “{schedule.name}”: {describe(schedule)}; next run {when(schedule.next_run_at)}.",
                  "success")
            _flash_meets_sometimes(schedule)
            return redirect(url_for(".jobs", tab="schedules"))
        submitted = rt.submit(db.session, kind.name, params, trigger="manual", actor=actor)
    except FieldErrors as e:
        db.session.rollback()
        # Each error shows beside its field (or atop the form): the message says where, not the same words again.
        refused = "The schedule was not saved" if form.get("schedule") else "The job was not started"
        flash(f"{refused}: correct what is marked in the form below.", "error")
        return render_template("colcw/jobs/index.html", **_page_context("run", form, e.errors)), 400
    except QueueBusy:
        db.session.rollback()
        flash(queue_busy(f"another run of “{kind.label}”"), "error")
        return redirect(url_for(".jobs"))
    except RedisError:
        db.session.rollback()
        flash("The job could not be queued: the job queue (Redis) is not reachable. Check REDIS_URL and that "
              "the colcw worker is running, then try again.", "error")
        return redirect(url_for(".jobs"))
    run = submitted.run
    flash_submitted(submitted, f"Run #{run.id} queued: {run.description}.",
                    f"That job is already {run.status} as run #{run.id}; it was not queued again.")
    return redirect(url_for(".job_run", run_id=run.id))


def flash_submitted(submitted: Submitted, queued: str, duplicate: str) -> None:
    """Say what became of a submitted run: queued, already queued or running, or recorded but not queued."""
    if submitted.duplicate:
        flash(duplicate, "error")
    elif not submitted.enqueued:
        flash(f"Run #{submitted.run.id} is recorded but not queued yet: {NOT_QUEUED}", "error")
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
    typed = request.form.get("mass_delete_limit", "")
    try:
        row = save_limit(db.session, typed, actor_name())
    except FieldErrors as e:
        db.session.rollback()
        flash("Nothing was saved: " + " ".join(e.errors.values()), "error")
        # The page again with what was typed in the field, as the other forms keep the admin's input.
        return render_template("colcw/jobs/index.html", **_page_context("run"), typed_limit=typed[:40]), 400
    else:
        db.session.commit()
        flash(f"A pass that would mark more than {row.mass_delete_limit} of the links of a kind as deleted now holds "
              "those deletions back (applying the rest) and alerts; a single deletion is never held back.", "success")
    return redirect(url_for(".jobs", tab="run") + "#reconcile-job")


@admin_bp.route("/jobs/zone", methods=["POST"])
@admin_required
def set_zone():
    """"Show times in" on the jobs page: the admin's zone on every colcw page (:mod:`.zone`)."""
    return choose(request.form.get("zone", "").strip(), safe_target(request.form.get("next"), url_for(".jobs")))


# --- schedules -------------------------------------------------------------------------------------


def _flash_meets_sometimes(schedule: Schedule) -> None:
    """Warn (it is saved) when ``schedule`` meets another enabled schedule of its job and settings some of the time
    (e.g. 02:00 New York and 07:00 UTC, the same minute in winter), saying when: one of the two is skipped then."""
    for warning in meets_sometimes_warnings(db.session, schedule, display_zone()):
        flash(warning, "warning")


def _deleted(schedule_id: int, this: bool = True) -> str:
    """"This schedule was deleted (by admin@… at 2026-12-06 17:20 UTC)" (not ``this``: "Schedule #3 “Nightly” was
    deleted …"), as far as the audit says who and what it was called."""
    record = last_recorded(db.session, schedule_id, "Deleted")
    by = f" (by {record.actor} at {when(record.at)})" if record is not None else ""
    called = f"Schedule #{schedule_id}"
    if record is not None:
        called += f" “{record.summary.split('“', 1)[1].split('” (', 1)[0]}”"
    return f"{'This schedule' if this else called} was deleted{by}"


def _schedule_gone(schedule_id: int, outcome: str):
    """The page for a schedule deleted meanwhile (another tab, another admin): who deleted it, ``outcome`` (what
    became of what was asked), and the way back to Scheduled jobs."""
    db.session.rollback()
    return render_template("colcw/jobs/schedule_gone.html", said=f"{_deleted(schedule_id)}; {outcome}"), 404


@admin_bp.route("/jobs/schedules/<int:schedule_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_schedule(schedule_id: int):
    # A save holds the schedule as it is now (deleted meanwhile: nothing to save it to).
    schedule = db.session.get(Schedule, schedule_id) if request.method == "GET" else held(db.session, schedule_id)
    if schedule is None:
        outcome = "nothing was saved." if request.method == "POST" else "there is nothing to edit."
        return _schedule_gone(schedule_id, outcome)
    form = ScheduleForm.of_schedule(schedule) if request.method == "GET" else ScheduleForm()
    errors = False
    if request.method == "POST":
        data = request.form.to_dict()
        try:
            update_schedule(db.session, schedule, name=data.get("schedule_name", ""), timing=parse_timing(data),
                            actor=actor_name())
        except FieldErrors as e:
            db.session.rollback()
            form.show_errors(e.errors)
            errors = True
            flash("Nothing was saved: correct the fields marked below.", "error")  # as the other forms say it
        else:
            db.session.commit()
            flash(f"Schedule “{schedule.name}” saved: {describe(schedule)}; next run {when(schedule.next_run_at)}.",
                  "success")
            _flash_meets_sometimes(schedule)
            return redirect(url_for(".jobs", tab="schedules"))
    kinds = runtime().kinds
    return render_template("colcw/jobs/schedule_edit.html", schedule=schedule, form=form,
                           job_label=kinds.label(schedule.kind),
                           job_description=job_description(db.session, kinds, schedule.kind, schedule.params or {}),
                           zones=timezones(), when=when, zone=display_zone(),
                           saved_zone_note=legacy_zone_note(schedule.timezone)), (400 if errors else 200)


def _already(schedule: Schedule) -> str:
    """"Schedule “Nightly” is already disabled (by admin@… at …)": a click on a page showing it as it was before
    someone else (another tab, another admin, Live updates' switch) changed it."""
    state = "enabled" if schedule.enabled else "disabled"
    by = ""
    if not schedule.enabled and schedule.paused_by_live_switch:
        by = " (by switching Live updates off)"
    elif (record := last_recorded(db.session, schedule.id, "Enabled", "Disabled")) is not None and \
            record.summary.startswith("Enabled" if schedule.enabled else "Disabled"):
        by = f" (by {record.actor} at {when(record.at)})"
    next_run = f"; next run {when(schedule.next_run_at)}" if schedule.enabled else ""
    return f"Schedule “{schedule.name}” is already {state}{by}{next_run}. Nothing was changed."


@admin_bp.route("/jobs/schedules/<int:schedule_id>/toggle", methods=["POST"])
@admin_required
def toggle_schedule(schedule_id: int):
    """Enable or disable a schedule: the button posts the state it asks for (``enabled``: 1 or 0), so a page that
    shows an old state (another tab, another admin clicked since) changes nothing and says so, rather than undoing
    that click. The schedule is read as committed and held while deciding (any web process)."""
    asked = request.form.get("enabled", "")
    if asked not in ("0", "1"):  # (a page from before the button said which state it asks for)
        flash("Nothing was changed: that page did not say whether to enable or disable the schedule. Here are the "
              "schedules as they are now: use Enable or Disable again.", "error")
        return redirect(url_for(".jobs", tab="schedules"))
    enable = asked == "1"
    schedule = held(db.session, schedule_id)
    if schedule is None:
        db.session.rollback()
        flash(f"{_deleted(schedule_id, this=False)}; nothing was changed.", "error")
        return redirect(url_for(".jobs", tab="schedules"))
    if schedule.enabled == enable:
        message = _already(schedule)
        db.session.rollback()
        flash(message, "info")
        return redirect(url_for(".jobs", tab="schedules"))
    stops = ""
    if not enable:  # the safety net's: what stops once it no longer runs
        stops = stops_without(schedule, list_schedules(db.session))
    elif refused := enabling_refused(db.session, schedule):
        db.session.rollback()
        flash(f"Schedule #{schedule_id} “{schedule.name}” was not enabled: {refused}", "error")
        return redirect(url_for(".jobs", tab="schedules"))
    set_enabled(db.session, schedule, enable, actor=actor_name())
    db.session.commit()
    state = f"enabled; next run {when(schedule.next_run_at)}" if schedule.enabled else "disabled"
    flash(f"Schedule “{schedule.name}” {state}.{' ' + stops if stops else ''}", "warning" if stops else "success")
    if enable:
        _flash_meets_sometimes(schedule)
    return redirect(url_for(".jobs", tab="schedules"))


@admin_bp.route("/jobs/schedules/<int:schedule_id>/delete", methods=["POST"])
@admin_required
def delete_schedule(schedule_id: int):
    schedule = held(db.session, schedule_id)
    if schedule is None:  # deleted meanwhile (another tab, another admin)
        db.session.rollback()
        flash(f"{_deleted(schedule_id, this=False)} already.", "info")
        return redirect(url_for(".jobs", tab="schedules"))
    stops = stops_without(schedule, list_schedules(db.session))  # the safety net's: what stops without it
    remove_schedule(db.session, schedule, actor=actor_name())
    db.session.commit()
    flash(f"Schedule “{schedule.name}” deleted. Its past runs stay in the history.{' ' + stops if stops else ''}",
          "warning" if stops else "success")
    return redirect(url_for(".jobs", tab="schedules"))
