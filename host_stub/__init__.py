"""host_stub: a small ChannelOnline-style quoting host with a pluggy plugin contract."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

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
    sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    if sqlite:
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})
    else:
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})

    db.init_app(app)
    if not sqlite and "pool_pre_ping" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]:
        with app.app_context():
            ping_when_idle(db.engine)
    from . import db_busy

    with app.app_context():
        db_busy.register(app, db.engines.values())  # a refused connection: a 503 "try again" page, not a 500
    csrf.init_app(app)
    login_manager.init_app(app)

    pm = make_plugin_manager(plugins)
    app.extensions["host_stub"] = {"pm": pm}

    from . import static_cache
    from .views import register_views

    register_views(app)
    static_cache.install(app)

    from .cli import register_cli

    register_cli(app)

    from .plugins import call_hook

    call_hook(pm, "host_init_app", app=app)
    return app


# A pooled connection is pinged before it is used when it sat in the pool for longer than this: a
# server restart, or an idle timeout on the way, closes connections while they wait there. One given
# back moments ago is used as it is (``pool_pre_ping`` pings on every checkout: one more round trip
# each time a unit of work, a record lock or a run's bookkeeping takes a connection).
PING_IDLE_SECONDS = 2.0


def ping_when_idle(engine: Engine, idle_seconds: float = PING_IDLE_SECONDS) -> None:
    """Ping ``engine``'s pooled connections on checkout when idle for more than ``idle_seconds``; a dead
    one is replaced (the pool connects anew) before anyone uses it."""

    def fresh(dbapi_connection, record) -> None:
        record.info["colcw_idle_since"] = time.monotonic()

    def checkout(dbapi_connection, record, proxy) -> None:
        since = record.info.get("colcw_idle_since")
        if since is not None and time.monotonic() - since <= idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as e:  # noqa: BLE001 - whatever the driver raises, the connection is unusable
            raise DisconnectionError("the pooled connection is closed") from e

    event.listen(engine, "connect", fresh)
    event.listen(engine, "checkin", fresh)
    event.listen(engine, "checkout", checkout)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):  # pragma: no cover - trivial
    # SQLite: enforce foreign keys and let readers and a writer work side by side (WAL).
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.close()
