"""The ``flask --app host_stub colcw ...`` command group (commands live with their features)."""

from __future__ import annotations

from flask.cli import AppGroup

colcw_cli = AppGroup("colcw", help="ConnectWise integration: configuration, synchronisation, workers.")
sync_cli = AppGroup("sync", help="Run a synchronisation in the foreground and print its results.")
colcw_cli.add_command(sync_cli)

from .sync.jobs import worker_command  # noqa: E402 - the RQ worker (issue 7)
from .sync.scheduler import scheduler_command  # noqa: E402 - the schedule tick loop (issue 7)

colcw_cli.add_command(worker_command)
colcw_cli.add_command(scheduler_command)

from .setup.commands import register as register_setup_commands  # noqa: E402 - configure, test-connection, automap, check (issue 4)

register_setup_commands(colcw_cli)

from .sync.customer_cli import sync_customers  # noqa: E402 - sync customers (issue 5)

sync_cli.add_command(sync_customers)

from .sync.quotes_cli import quotes_command  # noqa: E402 - sync quotes (issue 6)

sync_cli.add_command(quotes_command)
