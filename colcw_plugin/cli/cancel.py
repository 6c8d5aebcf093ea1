"""``flask --app host_stub colcw cancel RUN_ID``: cancel a run, as Cancel on its page does.

    flask --app host_stub colcw cancel 42
    flask --app host_stub colcw cancel 42 --by ops@example.com   # else: "command line (<the OS user>)"
    flask --app host_stub colcw cancel 42 --wait          # until the run has stopped, then say how it ended

The same service as the page (:func:`~colcw_plugin.sync.jobs.recovery.cancel`): a queued, waiting or interrupted
run is cancelled at once (the records it did not reach end "not attempted"); a running one is asked to stop, and
its worker, on whichever machine, stops it at the next safe point and closes it as cancelled (``--wait`` waits for
that and prints how it ended). The exit status is 1 when nothing could be cancelled: no such run, or a run that has
already ended; or when ``--wait`` gave up before the run stopped.
"""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext
from redis.exceptions import RedisError

from host_stub.extensions import db
from host_stub.snapshots import system_actor

from ..models import FINAL_RUN_STATUSES, RunStatus, SyncRun
from ..sync.jobs import recovery
from ..sync.runtime import Runtime
from .who import command_line_user


@click.command("cancel")
@click.argument("run_id", type=int)
@click.option("--by", "by", default="", metavar="NAME",
              help="Who cancels it, as the run's message names them (an e-mail, say); without it, \"command line "
                   "(USER)\", USER being the operating-system user running the command.")
@click.option("--wait", "wait", is_flag=True, help="Wait until a running run has stopped, and say how it ended.")
@click.option("--timeout", default=600, show_default=True, metavar="SECONDS", type=click.IntRange(min=1),
              help="With --wait: give up waiting (exit status 1) after this long; the run still stops.")
@with_appcontext
def cancel_command(run_id: int, by: str, wait: bool, timeout: int) -> None:
    """Cancel run RUN_ID (its number on the jobs pages): at once if it is queued, waiting or interrupted;
    a running run stops at the next safe point."""
    rt = Runtime.of(current_app)
    queue = rt.queue
    before = db.session.get(SyncRun, run_id)
    was_stopping = before is not None and before.status == RunStatus.CANCELLING
    try:
        run = recovery.cancel(db.session, queue, run_id, actor=system_actor(by.strip() or command_line_user()),
                              kinds=rt.kinds)
    except LookupError as e:
        raise click.ClickException(str(e)) from None
    except ValueError as e:  # it has ended (or moved on to an end meanwhile)
        db.session.expire_all()
        ended = db.session.get(SyncRun, run_id)
        if ended is None or ended.status not in FINAL_RUN_STATUSES:
            raise click.ClickException(str(e)) from None
        raise click.ClickException(f"Run #{run_id} has already ended ({RunStatus(ended.status).label.lower()}): "
                                   "there is nothing to cancel.") from None
    except RedisError:
        # The run is cancelled in the database already; only removing its RQ job failed (a stray delivery of it
        # finds nothing to do).
        click.echo(f"Run #{run_id} cancelled. (The job queue did not answer; if the job is delivered anyway, it "
                   "does nothing.)")
        return
    if run.status == RunStatus.CANCELLING:
        if was_stopping:
            click.echo(f"Run #{run.id} is already stopping. {run.stopping_text()}")
        else:
            click.echo(f"Run #{run.id}: cancel requested; it stops at the next safe point (once the record it is "
                       "working on is saved) and ends as cancelled.")
        if wait:
            _wait_until_stopped(run_id, timeout)
        return
    click.echo(f"Run #{run.id} cancelled. {run.message}")


def _wait_until_stopped(run_id: int, timeout: int) -> None:
    """Wait for a stopping run's worker (or, if it died, the scheduler) to close it; say how it ended."""
    until = time.monotonic() + timeout
    while True:
        db.session.expire_all()
        run = db.session.get(SyncRun, run_id)
        status, message = run.status, run.message
        db.session.rollback()  # no transaction held open between looks
        if status in FINAL_RUN_STATUSES:
            click.echo(f"Run #{run_id} {RunStatus(status).label.lower()}: {message}")
            return
        if time.monotonic() >= until:
            raise click.ClickException(f"Run #{run_id} is still stopping after {timeout} s; it ends as cancelled "
                                       "once its worker saves the record it is working on.")
        time.sleep(0.5)
