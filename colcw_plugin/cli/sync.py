"""``flask --app host_stub colcw sync customers``: a customer sync in the foreground.

The run goes through the same engine as the jobs page (a run row with per-record results); a
progress bar follows it, then the per-record summary is printed. The exit status is 1 when any
record failed (or the run could not run), so scripts and cron can tell.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from host_stub.extensions import db
from host_stub.models import Customer
from host_stub.snapshots import system_actor

from ..extension import secret_box, shared_rate_limiter
from ..models import SyncItem, SyncRun
from ..sync.jobs.ranges import resolve
from ..sync.jobs.recorder import describe_counts
from ..sync.jobs.runs import create_run, execute_run

SHOW_AT_MOST = 50


def _range_params(since: str, field: str) -> dict:
    """``--since`` as the export's range params (validated now, resolved again at run time)."""
    if ".." in since:
        start, end = since.split("..", 1)
        params = {"field": field, "preset": "custom", "start": start.strip(), "end": end.strip()}
    elif since in ("today", "last7", "last15", "last30"):
        params = {"field": field, "preset": since}
    else:
        params = {"field": field, "preset": "custom", "start": since.strip(), "end": dt.date.today().isoformat()}
    resolve(params["preset"], params.get("start"), params.get("end"))
    return params


def build_params(direction: str, customer: str | None, since: str | None, all_: bool, created: bool) -> dict:
    """The run params for the command's options; raises click.UsageError with what to type."""
    if sum(bool(x) for x in (customer, since, all_)) > 1:
        raise click.UsageError("Use only one of --customer, --since and --all.")
    try:
        if direction == "export":
            if customer:
                cid = db.session.execute(select(Customer.id).where(Customer.account_number == customer)).scalar()
                if cid is None:
                    raise click.UsageError(f"No customer has the account number {customer!r}.")
                return {"customer_id": cid}
            if since:
                return {"range": _range_params(since, "created" if created else "modified")}
            if all_:
                return {"all": True}
            raise click.UsageError("Say what to export: --customer ACCOUNT, --since DATE or --all.")
        if customer:
            return {"company": customer}
        if since:
            r = _range_params(since, "modified")
            return {"mode": "changed", "since": resolve(r["preset"], r.get("start"), r.get("end")).start.isoformat()}
        return {"mode": "all"} if all_ else {"mode": "changed"}
    except ValueError as e:
        raise click.UsageError(str(e)) from None


def _run_in_thread(app, run_id: int, outcome: dict) -> threading.Thread:
    def target() -> None:
        with app.app_context():
            try:
                execute_run(db.session, secret_box(), run_id, rate_limiter=shared_rate_limiter(db.session))
            except Exception as e:  # noqa: BLE001 - reported by the main thread
                outcome["error"] = e
            finally:
                db.session.remove()

    thread = threading.Thread(target=target, name=f"colcw-run-{run_id}", daemon=True)
    thread.start()
    return thread


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
    params = build_params(direction, customer, since, all_, created)
    kind = f"customer_{direction}"
    run = create_run(db.session, kind, params, trigger="cli", actor=system_actor("command line"))
    db.session.commit()
    run_id = run.id
    click.echo(f"Run {run_id}: {run.description}")
    outcome: dict = {}
    thread = _run_in_thread(current_app._get_current_object(), run_id, outcome)
    with click.progressbar(length=1, label="Synchronising", show_pos=True) as bar:
        while True:
            thread.join(timeout=0.3)
            done, total = db.session.execute(select(SyncRun.done, SyncRun.total).where(SyncRun.id == run_id)).one()
            db.session.rollback()
            bar.length = max(total, done, 1)
            bar.update(done - bar.pos)
            if not thread.is_alive():
                break
            time.sleep(0.2)
    db.session.expire_all()
    run = db.session.get(SyncRun, run_id)
    _print_summary(run)
    if outcome.get("error") is not None:
        raise click.ClickException(f"The run stopped: {outcome['error']}")
    if run.status == "failed" or (run.counts or {}).get("failed"):
        raise SystemExit(1)


def _print_summary(run: SyncRun) -> None:
    rows = db.session.execute(select(SyncItem.entity, SyncItem.action, func.count())
                              .where(SyncItem.run_id == run.id).group_by(SyncItem.entity, SyncItem.action)).all()
    per_entity: dict[str, dict[str, int]] = {}
    for entity, action, n in rows:
        per_entity.setdefault(entity, {})[action] = n
    parts = [f"{entity}s: {describe_counts(counts)}" for entity, counts in sorted(per_entity.items(), reverse=True)]
    click.echo(f"Status: {run.status}. {'; '.join(parts) or 'nothing to do'}. "
               f"ConnectWise requests: {run.api_requests}.")
    if run.message and run.message != run.records_summary:
        click.echo(run.message)
    problems = db.session.execute(select(SyncItem).where(SyncItem.run_id == run.id,
                                                         SyncItem.action.in_(("failed", "skipped")))
                                  .order_by(SyncItem.id).limit(SHOW_AT_MOST + 1)).scalars().all()
    for item in problems[:SHOW_AT_MOST]:
        click.echo(f"  {item.action.upper():8} {item.entity:8} {item.label}: {item.message}")
        if item.resolution:
            click.echo(f"           → {item.resolution}")
    if len(problems) > SHOW_AT_MOST:
        click.echo(f"  ... and more: see run {run.id} on the synchronization jobs page.")
