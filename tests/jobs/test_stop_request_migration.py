"""colcw_0004 adds the time an admin asked a run to stop, on SQLite and PostgreSQL, keeping the runs and their items
(a run asked to stop before it keeps the time its message says), and its downgrade takes the column off again
keeping them too."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from colcw_plugin.models import SyncRun
from host_stub import create_app
from host_stub.extensions import db
from host_stub.migrate import _config, histories

CONFIG = {"TESTING": True, "SECRET_KEY": "test-secret-key", "REDIS_URL": "redis://127.0.0.1:1/0",
          "COLCW_ENCRYPTION_KEY": "n1PEgd5eXIn8NARF47vH1pH59Ufaj8LxeMJVLqMh2Cs=", "SERVER_NAME": None}
OLD_MESSAGE = ("Cancel requested by ops@demo.example at 2026-07-01 18:30:05 UTC: the run stops as soon as the record "
               "it is working on is saved.")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database(request, tmp_path):
    """An empty database of each kind (PostgreSQL: one of this test's own, on the tests' server, dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    server = request.getfixturevalue("pg_url").rsplit("/", 1)[0]
    name = f"colcw_migration_{uuid.uuid4().hex[:12]}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{server}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _migrate(app, colcw_revision: str, *, down: bool = False) -> None:
    all_h = histories(app)
    with db.engine.begin() as conn:
        for h in all_h:
            cfg = _config(h, conn, all_h)
            if h.name != "colcw":
                command.upgrade(cfg, "head")
            elif down:
                command.downgrade(cfg, colcw_revision)
            else:
                command.upgrade(cfg, colcw_revision)


def _columns() -> set[str]:
    return {c["name"] for c in inspect(db.engine).get_columns("colcw_sync_runs")}


def test_the_stop_request_time_column_comes_and_goes_keeping_runs_and_items(empty_database):
    app = create_app({**CONFIG, "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        _migrate(app, "colcw_0003")  # the database as the revision before left it, with a run asked to stop
        assert "stop_requested_at" not in _columns()
        at = dt.datetime(2026, 7, 1, 18, 0)
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO colcw_sync_runs (id, kind, params, description, status, \"trigger\", requested_by, "
                "rq_job_id, created_at, total, done, counts, entity_counts, api_requests, message, attempts, "
                "interruptions, selection, waiting_reason) VALUES (7, 'customer_export', '{}', 'run 7', "
                "'cancelling', 'manual', 'admin', '', :at, 5, 2, '{}', '{}', 0, :message, 1, 0, '{}', '')"),
                {"at": at, "message": OLD_MESSAGE})
            conn.execute(text(
                "INSERT INTO colcw_sync_items (run_id, at, entity, direction, label, action, message, resolution) "
                "VALUES (7, :at, 'customer', 'export', 'Acme', 'created', '', '')"), {"at": at})

        _migrate(app, "head")
        assert "stop_requested_at" in _columns()
        run = db.session.get(SyncRun, 7)
        assert run.stop_requested_at is None and len(run.items) == 1
        assert run.stopping_text("America/New_York").startswith(
            "Cancel requested by ops@demo.example at 2026-07-01 18:30:05 UTC: the run ends as cancelled")
        run.stop_requested_at = dt.datetime(2026, 7, 1, 18, 45, 0)
        db.session.commit()
        db.session.remove()

        _migrate(app, "colcw_0003", down=True)
        assert "stop_requested_at" not in _columns()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT status, message FROM colcw_sync_runs")).all() == [
                ("cancelling", OLD_MESSAGE)]
            assert conn.execute(text("SELECT run_id, label FROM colcw_sync_items")).all() == [(7, "Acme")]
        _migrate(app, "head")  # and up again
        assert "stop_requested_at" in _columns()
        db.session.remove()
        db.engine.dispose()
