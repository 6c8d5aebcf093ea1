"""The ``flask --app host_stub colcw ...`` command group: set-up, foreground syncs, worker, scheduler."""

from __future__ import annotations

from flask.cli import AppGroup

from ..sync.jobs.queue import worker_command
from ..sync.jobs.scheduler import scheduler_command
from .setup import register as register_setup_commands
from .sync import sync_customers
from .sync_quotes import quotes_command

colcw_cli = AppGroup("colcw", help="ConnectWise integration: configuration, synchronisation, workers.")
sync_cli = AppGroup("sync", help="Run a synchronisation in the foreground and print its results.")
colcw_cli.add_command(sync_cli)
colcw_cli.add_command(worker_command)
colcw_cli.add_command(scheduler_command)
register_setup_commands(colcw_cli)
sync_cli.add_command(sync_customers)
sync_cli.add_command(quotes_command)
