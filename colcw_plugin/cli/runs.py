"""``flask --app host_stub colcw runs list | show``: the job history and a run's page, for scripts and servers.

    flask --app host_stub colcw runs list                              # the last 7 days, newest first
    flask --app host_stub colcw runs list --job quote_export --status partial --limit 10
    flask --app host_stub colcw runs show 42                           # its summary and every record's result
    flask --app host_stub colcw runs show 42 --failed                  # only the records that failed
    flask --app host_stub colcw runs show 42 --csv run-42.csv          # the CSV the run's page downloads

The same queries as the pages (:mod:`~colcw_plugin.sync.jobs.history`): the history's filter (job, result, days),
the run page's status log and its CSV (:func:`~colcw_plugin.sync.jobs.history.log_csv`). Times are in UTC, saying so
(the days of --from and --to too). An unknown run exits 1; refused options exit 2.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from host_stub.extensions import db

from ..models import RECORD_ACTIONS, RunStatus, Schedule, SyncItem, SyncRun
from ..models.runs import STOP_TIME_FORMAT, STORED_TIME_FORMAT, in_zone
from ..sync.jobs import history
from ..sync.runtime import Runtime
from ..text import plural

runs_cli = AppGroup("runs", help="The job history and a run's results (the Synchronization Jobs pages' history and "
                                 "run pages).")

ZONE = "UTC"  # the command line's times
DEFAULT_LIMIT = 25  # as a page of the job history
ACTIONS = {a: a.replace("_", " ") for a in RECORD_ACTIONS}


def _at(value: dt.datetime | None, fmt: str = STORED_TIME_FORMAT) -> str:
    return in_zone(value, ZONE, fmt) if value else "—"


def _kinds():
    return Runtime.of(current_app).kinds


# --- list ------------------------------------------------------------------------------------------


@runs_cli.command("list")
@click.option("--job", metavar="JOB", help="Only runs of this job: customer_export, customer_import, quote_export, "
                                           "cw_live_update or cw_reconcile.")
@click.option("--status", type=click.Choice(list(history.RESULTS)),
              help="Only runs with this result: " + ", ".join(f"{k} ({v})" for k, v in history.RESULTS.items()) + ".")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Runs requested on this day (UTC) or later. Without --from and --to: the last 7 days.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Runs requested on this day (UTC) or earlier.")
@click.option("--limit", default=DEFAULT_LIMIT, show_default=True, type=click.IntRange(min=1),
              help="At most this many runs, the newest first.")
@with_appcontext
def list_command(job, status, start, end, limit) -> None:
    """Recent runs, newest first, filtered as on the job history (the last 7 days unless --from or --to says)."""
    kinds = _kinds()
    if job is not None and job.strip() not in kinds:
        raise click.UsageError(f"--job: no job is called {job!r}. Use one of: "
                               f"{', '.join(k.name for k in kinds)}.")
    if start and end and end < start:
        raise click.UsageError(f"--to ({end:%Y-%m-%d}) is before --from ({start:%Y-%m-%d}): give a --to on or after "
                               "--from.")
    if beyond := history.beyond_reach(start and start.date(), end and end.date(), ZONE):  # (9999-12-31, 0001-01-01)
        raise click.UsageError(
            f"--to: {end.date().isoformat()} is past the last day the history can search: give an earlier day, or leave --to "
            "out for no end." if beyond == "end" else f"--from: {start.date().isoformat()} is before the first day the history "
            "can search: give a later day, or leave --from out for no start.")
    args = {"kind": (job or "").strip(), "result": status or "", "start": start.date().isoformat() if start else "",
            "end": end.date().isoformat() if end else ""}
    flt, error = history.HistoryFilter.parse(args, zone=ZONE)
    assert not error, error  # the dates are checked above
    query = history.history_query(flt)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    runs = list(db.session.execute(query.limit(limit)).scalars())
    if flt.start and flt.end:
        span = f"from {flt.start.isoformat()} to {flt.end.isoformat()}"  # (isoformat: year 1 is 0001, not 1)
    else:
        span = f"since {flt.start.isoformat()}" if flt.start else f"up to {flt.end.isoformat()}"
    click.echo(f"{plural(total, 'run')} requested {span} (days in UTC)"
               + (f"; the {len(runs)} newest:" if total > len(runs) else ":" if runs else "."))
    for r in runs:
        click.echo(f"#{r.id}  {_at(r.started_at or r.created_at)}  {r.status_label}  {r.count_text}"
                   f"  {kinds.label(r.kind)}")
        click.echo(f"    {r.description_in(ZONE)} (by {r.requested_by_text or 'nobody named'}, {r.trigger})")
        message = r.wait_text_in(ZONE) or r.message_in(ZONE)
        if message:
            click.echo(f"    {message}")
    if total > len(runs):
        click.echo(f"{total - len(runs)} older not shown: use --limit, --from or --to.")
    db.session.rollback()


# --- show ------------------------------------------------------------------------------------------


def _run_or_exit(run_id: int) -> SyncRun:
    run = db.session.get(SyncRun, run_id)
    if run is None:
        db.session.rollback()
        raise click.ClickException(f"There is no run #{run_id} (runs older than the history keeps are purged). See "
                                   "the recent runs with “flask --app host_stub colcw runs list”.")
    return run


def _summary(run: SyncRun) -> None:
    """What the run's page says above its log."""
    kinds = _kinds()
    schedule = db.session.get(Schedule, run.schedule_id) if run.schedule_id else None
    if schedule is not None and run.trigger == "schedule":  # its name now, once (not the name it fired under too)
        by = f"schedule #{schedule.id} “{schedule.name}”"
    else:
        by = (run.requested_by_text or "nobody named") + (f" ({run.trigger})" if run.trigger != "schedule" else "")
    click.echo(f"Run #{run.id}  {kinds.label(run.kind)}")
    rows = [("Job", run.description_in(ZONE)), ("Status", run.status_label),
            ("Requested", f"{_at(run.created_at)} by {by}")]
    if run.retry_of_id:
        rows.append(("Retry of", f"run #{run.retry_of_id}"))
    rows += [("Started", _at(run.started_at)), ("Finished", _at(run.finished_at)), ("Records", run.records_text)]
    if run.attempts > 1:
        rows.append(("Attempts", f"{run.attempts}" + (f" ({run.interruptions} after its worker stopped)"
                                                       if run.interruptions else "")))
    rows.append(("ConnectWise requests", str(run.api_requests)))
    retries = db.session.execute(select(SyncRun.id).where(SyncRun.retry_of_id == run.id).order_by(SyncRun.id)
                                 ).scalars().all()
    if retries:
        listed = [f"#{i}" for i in retries]  # as the run's page says them: "run #50", "runs #50 and #51"
        rows.append(("Retried as", f"run {listed[0]}" if len(listed) == 1
                     else f"runs {', '.join(listed[:-1])} and {listed[-1]}"))
    if run.status == RunStatus.CANCELLING:
        rows.append(("Stopping", run.stopping_text(ZONE)))
    message = run.wait_text_in(ZONE) or run.message_in(ZONE)
    if message and message != run.records_summary:
        rows.append(("Message", message))
    for label, value in rows:
        click.echo(f"  {label + ':':<22}{value}")


def _write_csv(run: SyncRun, path: str) -> None:
    """The run's log as the page's "Download log (CSV)" (``-``: standard output); a file is written whole or not at
    all (a temporary file beside it, renamed)."""
    text = history.log_csv(db.session, run.id)
    if path == "-":
        click.echo(text, nl=False)
        return
    target = os.path.abspath(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".colcw-run-", suffix=".csv", dir=os.path.dirname(target))
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                f.write(text)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as e:
        raise click.ClickException(f"--csv: {path} could not be written ({e.strerror or e}). Give a path in a "
                                   "directory you can write to.") from None
    rows = db.session.scalar(select(func.count(SyncItem.id)).where(SyncItem.run_id == run.id)) or 0
    click.echo(f"Wrote the log of run #{run.id} ({plural(rows, 'record')}) to {path}.")


@runs_cli.command("show")
@click.argument("run_id", type=int)
@click.option("--failed", is_flag=True, help="Only the records that failed.")
@click.option("--action", type=click.Choice(list(ACTIONS)),
              help="Only the records with this result (as the run page's Show: links).")
@click.option("--csv", "csv_path", metavar="FILE",
              help="Write the run's whole log as the CSV its page downloads to FILE (- for standard output) instead "
                   "of printing it.")
@with_appcontext
def show_command(run_id: int, failed: bool, action: str | None, csv_path: str | None) -> None:
    """Run RUN_ID's summary and the result of each of its records, with its message and what to do (as its page)."""
    if failed and action and action != "failed":
        raise click.UsageError(f"--failed and --action {action} contradict each other: give one of them.")
    if csv_path is not None and (failed or action):
        raise click.UsageError("--csv writes the whole log, as the run page's download does: leave out "
                               f"{'--failed' if failed else '--action'}, or print the records without --csv.")
    run = _run_or_exit(run_id)
    if csv_path is not None:
        _write_csv(run, csv_path)
        db.session.rollback()
        return
    _summary(run)
    action = "failed" if failed else (action or "")
    shown = 0
    click.echo("")
    click.echo(f"Records{' ' + ACTIONS[action] if action else ''} (times in UTC):")
    for item in db.session.execute(history.items_query(run.id, action).execution_options(yield_per=500)).scalars():
        shown += 1
        cw = f" (ConnectWise #{item.cw_id})" if item.cw_id else ""
        click.echo(f"  {_at(item.at, STOP_TIME_FORMAT)}  {ACTIONS.get(item.action, item.action).upper()}  "
                   f"{item.entity}: {item.label}{cw}")
        if item.message:
            click.echo(f"      {item.message}")
        if item.resolution:
            click.echo(f"      What to do: {item.resolution}")
    if not shown:
        still = " yet" if run.active else ""
        click.echo(f"  No records{' ' + ACTIONS[action] if action else ''}{still}.")
    db.session.rollback()
