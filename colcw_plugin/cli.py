"""The ``flask --app host_stub colcw ...`` command group."""

from __future__ import annotations

import click
from flask.cli import AppGroup

colcw_cli = AppGroup("colcw", help="ConnectWise integration: configuration, synchronisation, workers.")
