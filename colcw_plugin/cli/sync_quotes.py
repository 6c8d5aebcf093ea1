"""``flask --app host_stub colcw sync quotes``: the quote export in the foreground, with a progress bar.

    flask --app host_stub colcw sync quotes --document Q1001
    flask --app host_stub colcw sync quotes --modified last7
    flask --app host_stub colcw sync quotes --follow-up 2026-01-01..2026-01-31
    flask --app host_stub colcw sync quotes --all

The run is recorded like any other (trigger "cli"), so it shows on the jobs pages too. Prints one
line per document (and the lines at fault with their fix); exits 1 when any document failed.
"""

from __future__ import annotations

import threading
import time

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.models import Document

from ..models import SyncItem, SyncRun
from ..sync.jobs import ranges
from ..sync.jobs.recorder import FINAL_STATUSES
from ..sync.jobs.runs import create_run, execute_run
from ..sync.quotes.kinds import KIND


def _range_params(field: str, text: str) -> dict:
    try:
        ranges.parse_cli(text)
    except ValueError as e:
        raise click.BadParameter(f"{e} Use today, last7, last15, last30 or YYYY-MM-DD..YYYY-MM-DD.") from None
    if ".." in text:
        start, end = text.split("..", 1)
        return {"range": {"field": field, "preset": "custom", "start": start, "end": end}}
    return {"range": {"field": field, "preset": text}}


def params_from_options(session: Session, number: str | None, created: str | None, modified: str | None,
                        follow_up: str | None, all_: bool) -> dict:
    """The run params for the command's options (click errors for bad input)."""
    given = [name for name, value in (("--document", number), ("--created", created), ("--modified", modified),
                                      ("--follow-up", follow_up), ("--all", all_)) if value]
    if len(given) != 1:
        raise click.UsageError("Give exactly one of --document, --created, --modified, --follow-up or --all.")
    if number:
        doc_id = session.execute(select(Document.id).where(Document.number == number.strip())).scalar()
        if doc_id is None:
            raise click.BadParameter(f"No quote or sales order is numbered {number}.", param_hint="--document")
        return {"document_id": doc_id}
    if created:
        return _range_params("created", created)
    if modified:
        return _range_params("modified", modified)
    if follow_up:
        return _range_params("follow_up", follow_up)
    return {"all": True}


@click.command("quotes")
@click.option("--document", "number", metavar="DOC_NUMBER", help="Export one quote or sales order, e.g. Q1001.")
@click.option("--created", metavar="RANGE", help="Documents created in RANGE (today, last7, last15, last30, A..B).")
@click.option("--modified", metavar="RANGE", help="Documents last modified in RANGE.")
@click.option("--follow-up", "follow_up", metavar="RANGE", help="Documents whose follow-up date is in RANGE.")
@click.option("--all", "all_", is_flag=True, help="Every quote and sales order (converted quotes excepted).")
@with_appcontext
def quotes_command(number, created, modified, follow_up, all_) -> None:
    """Export quotes and sales orders to ConnectWise opportunities, in the foreground."""
    from host_stub.extensions import db

    from ..extension import secret_box, shared_rate_limiter

    params = params_from_options(db.session, number, created, modified, follow_up, all_)
    run = create_run(db.session, KIND, params, trigger="cli", actor=None)
    db.session.commit()
    run_id, app, box = run.id, current_app._get_current_object(), secret_box()
    errors: list[BaseException] = []

    def work() -> None:
        with app.app_context():
            try:
                execute_run(db.session, box, run_id, rate_limiter=shared_rate_limiter(db.session))
            except BaseException as e:  # shown below; the run row already says failed
                errors.append(e)
            finally:
                db.session.remove()

    thread = threading.Thread(target=work, name="colcw-cli-export", daemon=True)
    thread.start()
    click.echo(f"Run #{run_id}: {run.description}")
    _show_progress(db.engine, run_id, thread)
    thread.join()
    with Session(bind=db.engine) as s:
        run = s.get(SyncRun, run_id)
        rows = list(s.execute(select(SyncItem).where(SyncItem.run_id == run_id).order_by(SyncItem.id)).scalars())
        failed = _print_summary(run, rows)
        status, message = run.status, run.message
    if errors:
        click.echo(f"Unexpected error: {errors[0]}", err=True)
    click.echo(f"Run #{run_id} {status}: {message}")
    if failed or status in ("failed", "partial") or errors:
        raise SystemExit(1)


def _show_progress(engine, run_id: int, thread: threading.Thread) -> None:
    with Session(bind=engine) as s:
        while thread.is_alive():
            s.expire_all()
            run = s.get(SyncRun, run_id)
            if run.total or run.status in FINAL_STATUSES:
                break
            time.sleep(0.2)
        total = max(run.total, 1)
        shown = 0
        with click.progressbar(length=total, label="Exporting", show_pos=True) as bar:
            while True:
                s.expire_all()
                run = s.get(SyncRun, run_id)
                done = min(run.done, total)
                if done > shown:
                    bar.update(done - shown)
                    shown = done
                if run.status in FINAL_STATUSES or not thread.is_alive():
                    break
                time.sleep(0.3)


def _print_summary(run: SyncRun, rows: list[SyncItem]) -> int:
    failed = 0
    for item in rows:
        if item.entity == "document":
            click.echo(f"{item.label:<10} {item.action:<9} {item.message}")
            if item.resolution and item.action in ("failed", "skipped"):
                click.echo(f"{'':<10} {'':<9} What to do: {item.resolution}")
            failed += item.action == "failed"
        elif item.entity == "line":
            click.echo(f"{'':<10} {'':<9}   {item.message} Fix: {item.resolution}")
    return failed
