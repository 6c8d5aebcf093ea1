"""Schema migrations: the host's Alembic history, then each plugin's own history.

Each history has its own version table, so a plugin (colcw) can be installed into an
existing host database and upgraded on its own later. Plugins declare their history through
the ``host_migrations`` hook with a ``table_prefix``: the tables with that prefix are theirs,
all others belong to the host.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from flask import Flask

from .extensions import db
from .plugins import call_hook

HOST_HISTORY = {
    "name": "host_stub",
    "script_location": os.path.join(os.path.dirname(__file__), "migrations"),
    "version_table": "alembic_version",
    "table_prefix": None,
}


@dataclass(frozen=True)
class History:
    name: str
    script_location: str
    version_table: str
    table_prefix: str | None


def histories(app: Flask) -> list[History]:
    """The host's history first, then each plugin's."""
    pm = app.extensions["host_stub"]["pm"]
    found = [HOST_HISTORY] + [h for h in call_hook(pm, "host_migrations") if h]
    return [History(**h) for h in found]


def _owns(history: History, table_name: str, all_histories: list[History]) -> bool:
    if table_name in {h.version_table for h in all_histories}:
        return False
    if history.table_prefix:
        return table_name.startswith(history.table_prefix)
    claimed = [h.table_prefix for h in all_histories if h.table_prefix]
    return not any(table_name.startswith(p) for p in claimed)


def _config(history: History, connection, all_histories: list[History]) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", history.script_location)
    cfg.attributes["connection"] = connection
    cfg.attributes["version_table"] = history.version_table
    cfg.attributes["owns_table"] = lambda name: _owns(history, name, all_histories)
    return cfg


def upgrade(app: Flask, revision: str = "head") -> None:
    """Bring the host's schema and every plugin's schema up to date."""
    with app.app_context():
        all_h = histories(app)
        with db.engine.begin() as conn:
            for h in all_h:
                command.upgrade(_config(h, conn, all_h), revision)


def autogenerate(app: Flask, history_name: str, message: str, rev_id: str | None = None) -> None:
    """Write a new revision for one history from the difference between the models and the database."""
    with app.app_context():
        all_h = histories(app)
        (h,) = [x for x in all_h if x.name == history_name]
        with db.engine.begin() as conn:
            command.revision(_config(h, conn, all_h), message=message, autogenerate=True, rev_id=rev_id)


def pending_changes(app: Flask) -> dict[str, list]:
    """Differences between the models and an upgraded database, per history (empty = in sync)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    out = {}
    with app.app_context():
        all_h = histories(app)
        with db.engine.connect() as conn:
            for h in all_h:
                owns = _config(h, conn, all_h).attributes["owns_table"]
                mc = MigrationContext.configure(conn, opts={
                    "include_name": lambda name, type_, _p, owns=owns: type_ != "table" or owns(name),
                    "include_object": lambda obj, name, type_, r, c, owns=owns: (
                        type_ != "table" or owns(name)),
                    "compare_type": True,
                })
                out[h.name] = compare_metadata(mc, db.metadata)
    return out


def run_env(context) -> None:
    """Body of every history's ``env.py`` (online mode only; we always have a connection)."""
    cfg = context.config
    owns = cfg.attributes["owns_table"]
    context.configure(
        connection=cfg.attributes["connection"],
        target_metadata=db.metadata,
        version_table=cfg.attributes["version_table"],
        include_name=lambda name, type_, parent: type_ != "table" or owns(name),
        include_object=lambda obj, name, type_, reflected, compare_to: type_ != "table" or owns(name),
        render_as_batch=True,  # SQLite needs batch mode for ALTER
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
