"""host_stub: a small ChannelOnline-style quoting host with a pluggy plugin contract."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import csrf, db, login_manager
from .plugins import make_plugin_manager

__all__ = ["create_app"]


def create_app(config: Mapping[str, Any] | None = None, plugins: Iterable[Any] | None = None) -> Flask:
    """Build the host app.

    ``config`` overrides settings read from the environment. ``plugins=None`` discovers
    plugins through the ``host_stub`` entry-point group; a list registers exactly those
    (``[]`` for a host with no plugin).
    """
    from . import config as config_mod

    app = Flask(__name__, instance_relative_config=False)
    app.config.update(config_mod.from_env(dict(config or {})))
    if config:
        app.config.update(config)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})
    else:
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})

    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)

    pm = make_plugin_manager(plugins)
    app.extensions["host_stub"] = {"pm": pm}

    from .views import register_views

    register_views(app)

    from .cli import register_cli

    register_cli(app)

    from .plugins import call_hook

    call_hook(pm, "host_init_app", app=app)
    return app


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):  # pragma: no cover - trivial
    # SQLite: enforce foreign keys and let readers and a writer work side by side (WAL).
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.close()
