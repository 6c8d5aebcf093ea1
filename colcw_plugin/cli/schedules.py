"""``flask --app host_stub colcw schedules list | add | edit | enable | disable | delete``: the Scheduled jobs of the
Synchronization Jobs page, for scripts and servers.

    flask --app host_stub colcw schedules list
    flask --app host_stub colcw schedules add --name "Nightly import" --job customer_import --changed \\
        --frequency daily --time 02:30 --timezone America/New_York
    flask --app host_stub colcw schedules add --name "Quotes this week" --job quote_export --modified last7 \\
        --frequency weekly --weekday Monday --time 06:00
    flask --app host_stub colcw schedules edit 3 --time 04:00
    flask --app host_stub colcw schedules disable 3
    flask --app host_stub colcw schedules delete 3 --yes

``add`` offers the jobs and choices of the page's "Schedule this job": its options fill in the page's form, which the
page's own validation reads (:meth:`~colcw_plugin.sync.jobs.kinds.KindRegistry.from_form`), and the timing is the
page's (:func:`~colcw_plugin.sync.jobs.schedules.parse_timing`). Disabling or deleting one of the live updates' safety
net's schedules says what stops, as the page does. Times are printed in the schedule's zone and in UTC, saying so.
Refused input names the option and exits 2, with nothing saved; an unknown schedule exits 1, and so does enabling one
that would always run at the same minute as another enabled schedule of the same job and settings (in the page's
words). One that meets such a schedule only part of the year (02:00 America/New_York and 07:00 UTC) is saved or
enabled (exit 0) with the page's warning naming the days they coincide, in UTC. What a command changes is recorded
with the other configuration changes (the Connection page's), by "command line (USER)" (``add``: its ``--by``, when
given).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from host_stub.extensions import db

from ..errors import FieldErrors
from ..models import Schedule
from ..models.runs import STORED_TIME_FORMAT, in_zone
from ..sync.inbound.switch import stops_without
from ..sync.jobs import history, ranges
from ..sync.jobs.kinds import JobKind
from ..sync.jobs.schedules import (
    FIELDS_READ,
    WEEKDAYS,
    create_schedule,
    describe,
    enabling_refused,
    job_description,
    list_schedules,
    meets_sometimes_warnings,
    parse_timing,
    remove_schedule,
    set_enabled,
    update_schedule,
)
from ..sync.runtime import Runtime
from .output import echo_field_errors
from .who import command_line_user

schedules_cli = AppGroup("schedules", help="List, add, change, enable, disable or delete the scheduled jobs "
                                           "(the Scheduled jobs of the Synchronization Jobs page).")

# The timing's fields (parse_timing's, the page's form) → the options that carry them.
TIMING_OPTIONS = {"frequency": "--frequency", "time": "--time", "timezone": "--timezone", "weekday": "--weekday",
                  "day_of_month": "--day-of-month", "every_minutes": "--every-minutes", "schedule_name": "--name"}
RANGE_OPTIONS = {"created": "--created", "modified": "--modified", "follow_up": "--follow-up"}
RANGE_GRAMMAR = "today, last7, last15, last30 or YYYY-MM-DD..YYYY-MM-DD"


class JobChoices:
    """What ``add`` offers for one job the page can schedule: the form section's scope field and, per option, the
    scope it chooses and the form field its value goes in (``None``: a flag); its date ranges come from the kind
    (``JobKind.range_fields``), in the form's ``<form_job>_range_field`` / ``_preset`` / ``_start`` / ``_end``."""

    def __init__(self, scope_field: str, choices: Mapping[str, tuple[str, str | None]], *, ranged: bool = False,
                 value_field: str = ""):
        self.scope_field, self.choices, self.ranged, self.value_field = scope_field, choices, ranged, value_field


# The page's form sections by job (the choices its radios offer): customer_export and quote_export a record by its
# number, a date range or all; customer_import a company, those changed since the last import or all; the safety net
# what it checks.
JOB_CHOICES = {
    "customer_export": JobChoices("customer_scope", {"customer": ("one", "account_number"), "all": ("all", None)},
                                  ranged=True),
    "customer_import": JobChoices("import_scope", {"company": ("company", "company"), "changed": ("changed", None),
                                                   "all": ("all", None)}),
    "quote_export": JobChoices("quote_scope", {"document": ("one", "document_number"), "all": ("all", None)},
                               ranged=True),
    "cw_reconcile": JobChoices("", {}, value_field="reconcile_mode"),
}
JOB_OPTIONS = {"customer": "--customer ACCOUNT", "company": "--company COMPANY_ID", "document": "--document NUMBER",
               "changed": "--changed", "all": "--all", "mode": "--mode changes|deletions",
               **{field: f"{option} RANGE" for field, option in RANGE_OPTIONS.items()}}


def _runtime() -> Runtime:
    return Runtime.of(current_app)


def _schedulable() -> list[JobKind]:
    """The jobs the page's "Schedule this job" offers (and this command knows the choices of)."""
    return [k for k in _runtime().kinds.on_form() if k.name in JOB_CHOICES]


def _utc(value) -> str:
    return in_zone(value, "UTC", STORED_TIME_FORMAT) if value else "—"


def next_run_text(schedule: Schedule) -> str:
    """"2026-12-05 02:30 EST (2026-12-05 07:30 UTC)": the next run in the schedule's zone, and in UTC."""
    if not schedule.enabled or schedule.next_run_at is None:
        return "none (disabled)"
    local = in_zone(schedule.next_run_at, schedule.timezone, STORED_TIME_FORMAT)
    utc = _utc(schedule.next_run_at)
    return utc if local == utc else f"{local} ({utc})"


def _schedule_or_exit(schedule_id: int) -> Schedule:
    schedule = db.session.get(Schedule, schedule_id)
    if schedule is None:
        db.session.rollback()
        raise click.ClickException(f"There is no schedule #{schedule_id}. See the schedules and their numbers with "
                                   "“flask --app host_stub colcw schedules list”.")
    return schedule


def _refuse(errors: Mapping[str, str], options: Mapping[str, str], what: str) -> None:
    """Print what was refused, each message after its option, and exit 2 with nothing saved."""
    db.session.rollback()
    echo_field_errors(errors, options)
    click.echo(f"{what} was not saved.", err=True)
    sys.exit(2)


def _weekday(value: str | None) -> str | None:
    """A weekday name ("Monday", "mon", any case) or its number (0 Monday .. 6 Sunday) as the page's form posts it
    (the number); anything else as given, for the timing's check to refuse."""
    if value is None:
        return None
    text = value.strip().lower()
    for n, name in enumerate(WEEKDAYS):
        if text and (text == name.lower() or (len(text) >= 3 and name.lower().startswith(text))):
            return str(n)
    return value


def _timing_form(frequency, time, timezone, weekday, day_of_month, every_minutes, *, base: Mapping | None = None
                 ) -> dict:
    """The schedule fields of the page's form from the options given, over ``base`` (a schedule's, for edit)."""
    given = {"frequency": frequency, "time": time, "timezone": timezone, "weekday": _weekday(weekday),
             "day_of_month": day_of_month, "every_minutes": every_minutes}
    form = {k: v for k, v in (base or {}).items() if v is not None}
    form.update({k: str(v) for k, v in given.items() if v is not None})
    return form


_NEEDS = {"time": "daily, weekly or monthly", "weekday": "weekly", "day_of_month": "monthly",
          "every_minutes": "every"}


def _unused(frequency: str, **given: str | None) -> dict[str, str]:
    """The timing options given that a schedule of ``frequency`` does not read: refused, not silently ignored (the
    page shows only the fields its frequency reads)."""
    used = FIELDS_READ.get(frequency)
    if used is None:
        return {}
    return {key: f"a schedule that runs {frequency if frequency != 'every' else 'every N minutes'} does not use it; "
                 f"give --frequency {_NEEDS[key]} with it, or leave it out."
            for key, value in given.items() if value is not None and key not in used}


def _timing_errors(errors: Mapping[str, str]) -> dict[str, str]:
    """The timing's messages, the weekday's and frequency's saying how to give the value on the command line; the time
    zone's as the page says it, with the closest zone names for a misspelt one."""
    out = dict(errors)
    if "weekday" in out:
        out["weekday"] += " Give a day name, Monday to Sunday (or 0 for Monday to 6 for Sunday)."
    if "frequency" in out:
        out["frequency"] += " Give daily, weekly, monthly or every (with --every-minutes)."
    return out


def _listed(words: list[str], conjunction: str) -> str:
    """"a, b or c"."""
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}" if len(words) > 1 else "".join(words)


def job_form(kind: JobKind, values: Mapping[str, object]) -> tuple[dict, dict[str, str]]:
    """The page's form for ``kind`` filled in from ``add``'s job options, and the options that carry each of its
    fields (for the messages). Raises :class:`click.UsageError` for options the job does not take, or more than one
    of its choices."""
    spec = JOB_CHOICES[kind.name]
    ranged = [f for f in RANGE_OPTIONS if spec.ranged and f in kind.range_fields]
    takes = [*(c for c in spec.choices if c != "all"), *ranged, *(c for c in spec.choices if c == "all")]
    if spec.value_field:
        takes.append("mode")
    given = [name for name, value in values.items() if value not in (None, False, "")]
    others = [name for name in given if name not in takes]
    what = _listed([JOB_OPTIONS[name] for name in takes], "or")
    if others:
        names = " and ".join(JOB_OPTIONS[name].split()[0] for name in others)
        raise click.UsageError(f"{names} {'does' if len(others) == 1 else 'do'} not apply to a {kind.name} job; "
                               f"its options are {what}.")
    chosen = [name for name in given if name != "mode"]
    if len(chosen) > 1:
        raise click.UsageError(f"Use only one of {_listed([JOB_OPTIONS[name] for name in takes], 'and')}.")
    form = {"job": kind.form_job, "source": kind.form_source}
    options = {"job": "--job", "source": "--job"}
    if spec.value_field:
        form[spec.value_field] = str(values.get("mode") or "")
        options[spec.value_field] = "--mode"
        return form, options
    options[spec.scope_field] = _listed([JOB_OPTIONS[name].split()[0] for name in takes], "or")
    form[spec.scope_field] = ""
    for name in chosen:
        if name in spec.choices:
            scope, field = spec.choices[name]
            form[spec.scope_field] = scope
            if field:
                form[field] = str(values[name])
                options[field] = JOB_OPTIONS[name].split()[0]
        else:  # a date range: today, last7 ... or A..B
            prefix, option, text = kind.form_job, RANGE_OPTIONS[name], str(values[name]).strip()
            if text not in ranges.PRESETS and ".." not in text:
                raise click.UsageError(f"{option}: {text!r} is not a date range. Use {RANGE_GRAMMAR}.")
            start, _, end = text.partition("..")
            form.update({spec.scope_field: "range", f"{prefix}_range_field": name,
                         f"{prefix}_preset": "custom" if ".." in text else text,
                         f"{prefix}_start": start.strip() if ".." in text else "", f"{prefix}_end": end.strip()})
            options.update({f"{prefix}_preset": option, f"{prefix}_range_field": option})
    return form, options


# --- list ------------------------------------------------------------------------------------------


@schedules_cli.command("list")
@with_appcontext
def list_command() -> None:
    """The scheduled jobs: number, name, job, when it runs (in its zone), next run (its zone and UTC), last run (when
    it fired, its result) and, on a line of its own, a due time skipped since (that run still active)."""
    kinds = _runtime().kinds
    schedules = list_schedules(db.session)
    if not schedules:
        click.echo("No scheduled jobs. Add one with “flask --app host_stub colcw schedules add” (see --help).")
    last_runs = history.schedules_last_runs(db.session, schedules)
    for s in schedules:
        click.echo(f"#{s.id}  {s.name}  [{'enabled' if s.enabled else 'disabled'}]")
        click.echo(f"    Job:       {kinds.label(s.kind)}: {job_description(db.session, kinds, s.kind, s.params)}")
        click.echo(f"    When:      {describe(s)}")
        click.echo(f"    Zone:      {s.timezone}")
        click.echo(f"    Next run:  {next_run_text(s)}")
        run = last_runs.get(s.id)
        fired = history.last_run_fired_at(s, run)  # the run's own time, as the page shows it (not a skip's)
        last = f"run #{s.last_run_id}{', fired ' + _utc(fired) if fired else ''}" if s.last_run_id else "never ran"
        if run is not None:
            last += f": {history.RESULTS.get(run.status, run.status)}" + (f". {run.message}" if run.message else "")
        click.echo(f"    Last run:  {last}")
        outcome = s.note_in("UTC")  # a due time skipped since (that run still active), on its own line as on the page
        if outcome:
            click.echo(f"               {outcome}")
        stops = stops_without(s, schedules) if not s.enabled else ""
        if stops:
            click.echo(f"    Warning:   {stops}")
    db.session.rollback()


# --- add -------------------------------------------------------------------------------------------


@schedules_cli.command("add")
@click.option("--name", required=True, help="The schedule's name, as the list and the history show it.")
@click.option("--job", "job", required=True, metavar="JOB",
              help="What to run: customer_export, customer_import, quote_export or cw_reconcile (the safety net).")
@click.option("--customer", metavar="ACCOUNT", help="customer_export: the customer with this account number.")
@click.option("--company", metavar="COMPANY_ID", help="customer_import: the company with this ConnectWise Company ID.")
@click.option("--document", metavar="NUMBER", help="quote_export: the quote or sales order with this number.")
@click.option("--created", metavar="RANGE", help=f"Exports: records created in RANGE ({RANGE_GRAMMAR}; a preset "
                                                 "moves with the day the job runs).")
@click.option("--modified", metavar="RANGE", help="Exports: records last modified in RANGE.")
@click.option("--follow-up", "follow_up", metavar="RANGE",
              help="quote_export: quotes and orders whose follow-up date is in RANGE.")
@click.option("--changed", is_flag=True, help="customer_import: the companies changed since the previous import.")
@click.option("--all", "all_", is_flag=True, help="Every customer, company, or quote and order.")
@click.option("--mode", metavar="changes|deletions",
              help="cw_reconcile: what changed in ConnectWise since the last pass, or records deleted there.")
@click.option("--frequency", metavar="daily|weekly|monthly|every", help="How often the job runs.")
@click.option("--time", metavar="HH:MM", help="The time it runs (24-hour clock) in --timezone; not with every.")
@click.option("--timezone", default="UTC", show_default=True, metavar="ZONE",
              help="The IANA time zone of --time (America/New_York, Europe/Paris…).")
@click.option("--weekday", metavar="DAY", help="weekly: the day it runs on (Monday … Sunday).")
@click.option("--day-of-month", "day_of_month", metavar="N",
              help="monthly: the day it runs on, 1 to 31 (shorter months use their last day).")
@click.option("--every-minutes", "every_minutes", metavar="N", help="every: the minutes between runs, 1 to 1440.")
@click.option("--by", "by", default="", metavar="NAME",
              help="Who adds it, as the schedule records it (an e-mail, say); without it, \"command line (USER)\", "
                   "USER being the operating-system user running the command.")
@with_appcontext
def add_command(name, job, customer, company, document, created, modified, follow_up, changed, all_, mode,
                frequency, time, timezone, weekday, day_of_month, every_minutes, by) -> None:
    """Add a scheduled job, as "Schedule this job" on the Synchronization Jobs page does (the same jobs, choices and
    checks). The job runs at its next time once the colcw scheduler is running."""
    rt = _runtime()
    kind = next((k for k in _schedulable() if k.name == (job or "").strip()), None)
    if kind is None:
        names = ", ".join(k.name for k in _schedulable())
        raise click.UsageError(f"--job: {job!r} is not a job the Synchronization Jobs page schedules. Use one of: "
                               f"{names}.")
    form, options = job_form(kind, {"customer": customer, "company": company, "document": document,
                                    "created": created, "modified": modified, "follow_up": follow_up,
                                    "changed": changed, "all": all_, "mode": mode})
    form.update(_timing_form(frequency, time, timezone, weekday, day_of_month, every_minutes))
    options.update(TIMING_OPTIONS)
    errors: dict[str, str] = {}
    try:
        chosen, params = rt.kinds.from_form(db.session, form)
    except FieldErrors as e:
        errors.update(e.errors)
    try:
        timing = parse_timing(form)
    except FieldErrors as e:
        errors.update(_timing_errors(e.errors))
    errors.update(_unused(form.get("frequency", "daily"), time=time, weekday=weekday, day_of_month=day_of_month,
                          every_minutes=every_minutes))
    if errors:
        _refuse(errors, options, "The schedule")
    try:
        schedule = create_schedule(db.session, name=name, kind=chosen.name, params=params, timing=timing,
                                   actor=by.strip() or command_line_user())
    except FieldErrors as e:
        _refuse(e.errors, options, "The schedule")
    db.session.commit()
    click.echo(f"Scheduled “{schedule.name}” as schedule #{schedule.id}: {describe(schedule)}; next run "
               f"{next_run_text(schedule)}.")
    click.echo(f"Job: {job_description(db.session, rt.kinds, schedule.kind, schedule.params)}.")
    _warn_meets_sometimes(schedule)
    db.session.rollback()


# --- edit ------------------------------------------------------------------------------------------


@schedules_cli.command("edit")
@click.argument("schedule_id", type=int)
@click.option("--name", help="A new name.")
@click.option("--frequency", metavar="daily|weekly|monthly|every", help="How often the job runs.")
@click.option("--time", metavar="HH:MM", help="The time it runs (24-hour clock) in its time zone.")
@click.option("--timezone", metavar="ZONE", help="The IANA time zone of its time.")
@click.option("--weekday", metavar="DAY", help="weekly: the day it runs on (Monday … Sunday).")
@click.option("--day-of-month", "day_of_month", metavar="N", help="monthly: the day it runs on, 1 to 31.")
@click.option("--every-minutes", "every_minutes", metavar="N", help="every: the minutes between runs, 1 to 1440.")
@with_appcontext
def edit_command(schedule_id, name, frequency, time, timezone, weekday, day_of_month, every_minutes) -> None:
    """Change schedule SCHEDULE_ID's name or timing, as its Edit page does (what it runs stays: to run something
    else, add a schedule and delete this one). Options not given keep their values; its next run is counted again
    from now."""
    if all(v is None for v in (name, frequency, time, timezone, weekday, day_of_month, every_minutes)):
        raise click.UsageError("Say what to change: " + ", ".join(TIMING_OPTIONS[k] for k in (
            "schedule_name", "frequency", "time", "timezone", "weekday", "day_of_month", "every_minutes")) + ".")
    schedule = _schedule_or_exit(schedule_id)
    current = {"frequency": schedule.frequency, "time": schedule.time_of_day, "timezone": schedule.timezone,
               "weekday": None if schedule.weekday is None else str(schedule.weekday),
               "day_of_month": None if schedule.day_of_month is None else str(schedule.day_of_month),
               "every_minutes": None if schedule.every_minutes is None else str(schedule.every_minutes)}
    form = _timing_form(frequency, time, timezone, weekday, day_of_month, every_minutes, base=current)
    unused = _unused(form.get("frequency", ""), time=time, weekday=weekday, day_of_month=day_of_month,
                     every_minutes=every_minutes)
    if unused:
        _refuse(unused, TIMING_OPTIONS, f"The change to schedule #{schedule_id}")
    try:
        timing = parse_timing(form)
        update_schedule(db.session, schedule, name=schedule.name if name is None else name, timing=timing,
                        actor=command_line_user())
    except FieldErrors as e:
        _refuse(_timing_errors(e.errors), TIMING_OPTIONS, f"The change to schedule #{schedule_id}")
    db.session.commit()
    click.echo(f"Schedule #{schedule.id} “{schedule.name}” saved: {describe(schedule)}; next run "
               f"{next_run_text(schedule)}.")
    _warn_meets_sometimes(schedule)
    db.session.rollback()


# --- enable, disable, delete -------------------------------------------------------------------------


def _warn(stops: str) -> None:
    if stops:
        click.echo(f"Warning: {stops}", err=True)


def _warn_meets_sometimes(schedule: Schedule) -> None:
    """After a save or enable: the page's warning for each enabled schedule of the same job and settings that
    ``schedule`` meets some of the time (the dates they coincide, as days in UTC). It is saved all the same (exit 0)."""
    for warning in meets_sometimes_warnings(db.session, schedule, "UTC"):
        _warn(warning)


@schedules_cli.command("enable")
@click.argument("schedule_id", type=int)
@with_appcontext
def enable_command(schedule_id: int) -> None:
    """Enable schedule SCHEDULE_ID: it runs next at its next time from now (periods missed while it was disabled are
    not caught up). Refused (exit 1, nothing changed) while another enabled schedule of the same job and settings
    would always run at the same minute as it, as the page's Enable is."""
    schedule = _schedule_or_exit(schedule_id)
    if schedule.enabled:
        click.echo(f"Schedule #{schedule.id} “{schedule.name}” is already enabled; next run "
                   f"{next_run_text(schedule)}.")
    elif refused := enabling_refused(db.session, schedule):  # (the page's Enable refuses it alike)
        db.session.rollback()
        raise click.ClickException(f"Schedule #{schedule.id} “{schedule.name}” was not enabled: {refused}")
    else:
        set_enabled(db.session, schedule, True, actor=command_line_user())
        db.session.commit()
        click.echo(f"Schedule #{schedule.id} “{schedule.name}” enabled; next run {next_run_text(schedule)}.")
        _warn_meets_sometimes(schedule)
    db.session.rollback()


@schedules_cli.command("disable")
@click.argument("schedule_id", type=int)
@with_appcontext
def disable_command(schedule_id: int) -> None:
    """Disable schedule SCHEDULE_ID (it stays in the list; enable it again with "schedules enable")."""
    schedule = _schedule_or_exit(schedule_id)
    if not schedule.enabled:
        click.echo(f"Schedule #{schedule.id} “{schedule.name}” is already disabled.")
        db.session.rollback()
        return
    stops = stops_without(schedule, list_schedules(db.session))  # the safety net's: what stops once it no longer runs
    set_enabled(db.session, schedule, False, actor=command_line_user())
    db.session.commit()
    click.echo(f"Schedule #{schedule.id} “{schedule.name}” disabled.")
    _warn(stops)
    db.session.rollback()


@schedules_cli.command("delete")
@click.argument("schedule_id", type=int)
@click.option("--yes", is_flag=True, help="Delete without asking (for scripts).")
@with_appcontext
def delete_command(schedule_id: int, yes: bool) -> None:
    """Delete schedule SCHEDULE_ID; its past runs stay in the history."""
    schedule = _schedule_or_exit(schedule_id)
    name = schedule.name
    stops = stops_without(schedule, list_schedules(db.session))  # the safety net's: what stops without it
    if not yes:
        db.session.rollback()  # no transaction held open while a person reads the question
        click.confirm(f"Delete the schedule #{schedule_id} “{name}”?{' ' + stops if stops else ''} Its past runs stay "
                      "in the history.", abort=True, err=True)
        schedule = _schedule_or_exit(schedule_id)
        stops = stops_without(schedule, list_schedules(db.session))
    remove_schedule(db.session, schedule, actor=command_line_user())
    db.session.commit()
    click.echo(f"Schedule #{schedule_id} “{name}” deleted. Its past runs stay in the history.")
    _warn(stops)
