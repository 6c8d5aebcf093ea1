"""``flask --app host_stub colcw worker | scheduler | clocks``: the processes that run and schedule the jobs, and
the clocks of the machines they run on."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

import click
from flask import current_app
from flask.cli import with_appcontext
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from host_stub.extensions import db

from ..setup.connection import read_settings
from ..sync.jobs.clocks import ClockWatch, heard_from, said, tenant_from
from ..sync.jobs.queue import work
from ..sync.jobs.scheduler import run_scheduler
from ..sync.runtime import Runtime


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs queued now, then exit.")
@click.option("--simple", is_flag=True, help="Run jobs in the worker process instead of a forked one.")
@click.option("--queues", "queues", type=click.Choice(["all", "live"]), default="all", show_default=True,
              help="all: the live queue first, then every other run; live: only live updates and the runs of one "
                   "record a person waits for (a rep's export, a converted order's Won), so they never wait behind "
                   "a bulk run.")
@with_appcontext
def worker_command(burst: bool, simple: bool, queues: str) -> None:
    """Run an RQ worker on colcw's queues (with RQ's scheduler, which retries need)."""
    queue = Runtime.of(current_app).queue
    engine = db.engine
    # A forked job must not share the parent's pooled database connections.
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    live_only = queues == "live"
    where = f"queue {queue.live.name!r}" if live_only else f"queues {queue.live.name!r}, then {queue.name!r}"
    click.echo(f"colcw worker on {where} ({'burst' if burst else 'waiting for jobs'})")
    watch = ClockWatch("worker")  # (then on its heartbeats: the jobs page compares the machines)
    for warning in watch.check_and_say(queue.connection):
        click.echo(f"Warning: {warning}", err=True)
    work(queue, burst=burst, simple=simple, live_only=live_only, clock_watch=watch)


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Tick once (fire what is due, then exit).")
@click.option("--interval", default=10.0, show_default=True, help="Seconds between ticks.")
@with_appcontext
def scheduler_command(once: bool, interval: float) -> None:
    """Fire due synchronisation schedules (one scheduler leads; others stand by)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    rt = Runtime.of(current_app)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"colcw scheduler ({'once' if once else f'every {interval:g}s'})")
    started = time.monotonic()
    engine = db.engine
    fired = run_scheduler(lambda: Session(bind=engine), rt.queue, rt.kinds, history_days=rt.config.history_days,
                          once=once, interval=interval, stop=stop, say=click.echo, clock_watch=ClockWatch("scheduler"))
    click.echo(f"colcw scheduler stopped after {time.monotonic() - started:.0f}s; {fired} runs fired.")


@click.command("clocks")
@with_appcontext
def clocks_command() -> None:
    """List the machines colcw ran on in the last 15 minutes, each with its clock against Redis's, and ConnectWise's
    clock as a run last measured it; exit 1 when two machines differ by more than a second, or ConnectWise's clock and
    theirs by a minute (the jobs page's warnings)."""
    redis = Runtime.of(current_app).redis
    ClockWatch("command").check(redis)  # this machine too
    try:
        heard = heard_from(redis, tenant_from(read_settings(db.session)))  # (the connected tenant's clock)
    except RedisError as e:
        raise click.ClickException(f"Redis does not answer ({e}): check REDIS_URL.") from None
    now = heard.now
    for r in sorted(heard.machines, key=lambda r: r.machine):
        side = "behind" if r.offset > 0 else "ahead of"
        click.echo(f"{r.machine:<30} {r.role or '-':<10} {abs(r.offset) * 1000:9.1f} ms {side} Redis's clock "
                   f"(± {r.error * 1000:.1f} ms), measured {now - r.at:.0f} s ago")
    cw = heard.connectwise
    if cw is None:
        click.echo(f"{'ConnectWise':<30} {'-':<10} not measured in the last day (a run measures it)")
    else:
        side = "ahead of" if cw.offset > 0 else "behind"
        click.echo(f"{'ConnectWise':<30} {'-':<10} {abs(cw.offset) * 1000:9.1f} ms {side} Redis's clock "
                   f"(± {cw.error * 1000:.1f} ms), measured {now - cw.at:.0f} s ago by {cw.machine or 'a run'}")
    warnings = said(heard)
    for warning in warnings:
        click.echo(f"Warning: {warning}", err=True)
    if warnings:
        raise SystemExit(1)
