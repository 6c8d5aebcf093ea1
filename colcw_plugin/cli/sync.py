"""``flask --app host_stub colcw sync customers | quotes``: a synchronisation in the foreground.

    flask --app host_stub colcw sync customers --direction export --customer ACME1
    flask --app host_stub colcw sync customers --direction import            # what changed since the last import
    flask --app host_stub colcw sync quotes --document Q1001
    flask --app host_stub colcw sync quotes --follow-up 2026-01-01..2026-01-31

The run goes through the same engine as the jobs page (a run row, trigger "cli", per-record
results, so it shows on the jobs pages too); the options are read by the job kind, as the page's
form is; a progress bar follows the run, then its results are printed. The exit status is 1 unless the run
succeeded: a record failed or was not attempted, the run could not run, or an admin cancelled it on its page,
so scripts and cron can tell.
"""

from __future__ import annotations

import threading
import time

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.extensions import db
from host_stub.snapshots import system_actor

from ..errors import FieldErrors
from ..models import FINAL_RUN_STATUSES, RunStatus, SyncItem, SyncRun
from ..sync.jobs.clocks import ClockWatch
from ..sync.jobs.recorder import describe_counts
from ..sync.jobs.runs import create_run
from ..sync.runtime import Runtime
from .who import command_line_user

SHOW_AT_MOST = 50


def run_in_foreground(kind: str, options: dict, *, label: str) -> tuple[SyncRun, list[BaseException]]:
    """Create the run from the command's options, run it in a thread with a progress bar, and
    return the finished run and any error that escaped it (click errors for bad options)."""
    rt = Runtime.of(current_app)
    try:
        params = rt.kinds[kind].parse_cli(db.session, options)
    except FieldErrors as e:  # each message after the option it is about ("--since: …"), as the other commands say
        raise click.UsageError(" ".join(f"{k}: {v}" if k.startswith("--") else v for k, v in e.errors.items())
                               ) from None
    run = create_run(db.session, rt.kinds, kind, params, trigger="cli", actor=system_actor(command_line_user()))
    db.session.commit()
    run_id = run.id
    click.echo(f"Run #{run_id}: {run.description}")
    # The run stamps its syncs with this machine's clock, as a worker does: measured, and said if it differs.
    for warning in ClockWatch("command").check_and_say(rt.redis):
        click.echo(f"Warning: {warning}", err=True)
    app, errors = current_app._get_current_object(), []

    def work() -> None:
        with app.app_context():
            try:
                rt.execute(db.session, run_id)
            except BaseException as e:  # shown by the command; the run row already says failed
                errors.append(e)
            finally:
                db.session.remove()

    thread = threading.Thread(target=work, name=f"colcw-run-{run_id}", daemon=True)
    thread.start()
    _show_progress(db.engine, run_id, thread, label)
    thread.join()
    db.session.expire_all()
    return db.session.get(SyncRun, run_id), errors


def _show_progress(engine, run_id: int, thread: threading.Thread, label: str) -> None:
    with Session(bind=engine) as s, click.progressbar(length=1, label=label, show_pos=True) as bar:
        while True:
            s.expire_all()
            run = s.get(SyncRun, run_id)
            bar.length = max(run.total, run.done, 1)
            bar.update(min(run.done, bar.length) - bar.pos)
            if run.status in FINAL_RUN_STATUSES or not thread.is_alive():
                break
            time.sleep(0.3)


def _problems(run: SyncRun) -> list[SyncItem]:
    return list(db.session.execute(select(SyncItem).where(SyncItem.run_id == run.id,
                                                          SyncItem.action.in_(("failed", "skipped", "not_attempted")))
                                   .order_by(SyncItem.id).limit(SHOW_AT_MOST + 1)).scalars())


@click.command("customers")
@click.option("--direction", type=click.Choice(["import", "export"]), required=True,
              help="import: ConnectWise → ChannelOnline; export: ChannelOnline → ConnectWise.")
@click.option("--customer", default=None, metavar="ACCOUNT_OR_COMPANY_ID",
              help="One record: the account number (export) or the ConnectWise Company ID (import).")
@click.option("--since", default=None, metavar="DATE",
              help="today, last7, last15, last30, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD. Export: customers modified "
                   "then; import: companies changed since then. Without options an import takes what changed "
                   "since the last import.")
@click.option("--all", "all_", is_flag=True, help="Every customer (export) or every company (import).")
@click.option("--created", is_flag=True, help="Export with --since: select by created date, not last modified.")
@with_appcontext
def sync_customers(direction: str, customer: str | None, since: str | None, all_: bool, created: bool) -> None:
    """Run a customer sync now and print what happened to each record."""
    run, errors = run_in_foreground(f"customer_{direction}", {"customer": customer, "since": since, "all": all_,
                                                              "created": created}, label="Synchronising")
    per_entity: dict[str, dict[str, int]] = run.entity_counts or {}  # an unchanged company's contacts have no item
    parts = [f"{entity}s: {describe_counts(counts)}" for entity, counts in sorted(per_entity.items(), reverse=True)]
    click.echo(f"Status: {run.status}. {'; '.join(parts) or 'nothing to do'}. "
               f"ConnectWise requests: {run.api_requests}.")
    if run.message and run.message != run.records_summary:
        click.echo(run.message)
    problems = _problems(run)
    for item in problems[:SHOW_AT_MOST]:
        # A message that names its record already (most do: the run page shows it alone) is not prefixed again.
        said = item.message if (item.message or "").startswith(f"{item.label}:") else f"{item.label}: {item.message}"
        click.echo(f"  {item.action.upper():8} {item.entity:8} {said}")
        if item.resolution:
            click.echo(f"           → {item.resolution}")
    if len(problems) > SHOW_AT_MOST:
        click.echo(f"  ... and more: see run {run.id} on the synchronization jobs page.")
    if errors:
        raise click.ClickException(f"The run stopped: {errors[0]}")
    if run.status != RunStatus.SUCCEEDED or (run.counts or {}).get("failed"):
        raise SystemExit(1)


@click.command("quotes")
@click.option("--document", metavar="DOC_NUMBER", help="Export one quote or sales order, e.g. Q1001.")
@click.option("--created", metavar="RANGE", help="Documents created in RANGE (today, last7, last15, last30, A..B).")
@click.option("--modified", metavar="RANGE", help="Documents last modified in RANGE.")
@click.option("--follow-up", "follow_up", metavar="RANGE", help="Documents whose follow-up date is in RANGE.")
@click.option("--all", "all_", is_flag=True, help="Every quote and sales order (converted quotes excepted).")
@with_appcontext
def sync_quotes(document, created, modified, follow_up, all_) -> None:
    """Export quotes and sales orders to ConnectWise opportunities, in the foreground."""
    run, errors = run_in_foreground("quote_export", {"document": document, "created": created, "modified": modified,
                                                     "follow_up": follow_up, "all": all_}, label="Exporting")
    failed = 0
    for item in db.session.execute(select(SyncItem).where(SyncItem.run_id == run.id).order_by(SyncItem.id)).scalars():
        if item.entity == "document":
            click.echo(f"{item.label:<10} {item.action:<9} {item.message}")
            if item.resolution and item.action in ("failed", "skipped", "not_attempted"):
                click.echo(f"{'':<10} {'':<9} What to do: {item.resolution}")
            failed += item.action == "failed"
        elif item.entity == "line":
            click.echo(f"{'':<10} {'':<9}   {item.message} Fix: {item.resolution}")
    if errors:
        click.echo(f"Unexpected error: {errors[0]}", err=True)
    click.echo(f"Run #{run.id} {run.status}: {run.message}")
    if failed or run.status != RunStatus.SUCCEEDED or errors:
        raise SystemExit(1)
