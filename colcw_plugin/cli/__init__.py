"""The ``flask --app host_stub colcw ...`` command group: set-up, foreground syncs, schedules, the run history,
cancel, worker, scheduler, clocks.

Commands are thin: they read their options, take what they need from the app's runtime
(:meth:`~colcw_plugin.sync.runtime.Runtime.of`) and call the same services as the pages.
"""

from __future__ import annotations

from flask.cli import AppGroup

from .cancel import cancel_command
from .live import live_updates_command
from .runs import runs_cli
from .schedules import schedules_cli
from .setup import register as register_setup_commands
from .sync import sync_customers, sync_quotes
from .worker import clocks_command, scheduler_command, worker_command

colcw_cli = AppGroup("colcw", help="ConnectWise integration: configuration, synchronisation, workers.")
sync_cli = AppGroup("sync", help="Run a synchronisation in the foreground and print its results.")
colcw_cli.add_command(sync_cli)
colcw_cli.add_command(worker_command)
colcw_cli.add_command(scheduler_command)
colcw_cli.add_command(clocks_command)
colcw_cli.add_command(live_updates_command)
colcw_cli.add_command(cancel_command)
colcw_cli.add_command(schedules_cli)
colcw_cli.add_command(runs_cli)
register_setup_commands(colcw_cli)
sync_cli.add_command(sync_customers)
sync_cli.add_command(sync_quotes)
