"""colcw's Flask extension: blueprints, CLI group, configuration defaults."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import models  # noqa: F401 - register colcw's tables on the host's metadata
    from .cli import colcw_cli
    from .views import admin_bp, rep_bp

    app.config.setdefault("COLCW_QUEUE", "colcw")
    app.register_blueprint(admin_bp)
    app.register_blueprint(rep_bp)
    app.cli.add_command(colcw_cli)
    app.extensions["colcw"] = {}
