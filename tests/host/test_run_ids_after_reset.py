"""Run and schedule ids are never handed out twice on SQLite, even after Reset deleted every run (AUTOINCREMENT),
and the migration that adds AUTOINCREMENT keeps an existing database's rows."""

from __future__ import annotations

import datetime as dt

from alembic import command
from sqlalchemy import func, inspect, select, text

from colcw_plugin.models import Schedule, SyncItem, SyncRun
from colcw_plugin.setup.reset import reset_all
from helpers import make_test_app
from host_stub import create_app
from host_stub.extensions import db
from host_stub.migrate import _config, histories, pending_changes
from host_stub.seed import seed_reference

CONFIG = {"TESTING": True, "SECRET_KEY": "test-secret-key", "REDIS_URL": "redis://127.0.0.1:1/0",
          "COLCW_ENCRYPTION_KEY": "n1PEgd5eXIn8NARF47vH1pH59Ufaj8LxeMJVLqMh2Cs=", "SERVER_NAME": None}


def _run(kind: str = "customer_export") -> SyncRun:
    run = SyncRun(kind=kind, status="succeeded")
    db.session.add(run)
    db.session.flush()
    db.session.add(SyncItem(run_id=run.id, entity="customer", direction="export", action="created", label=kind))
    return run


def _schedule(name: str) -> Schedule:
    schedule = Schedule(name=name, kind="customer_export", frequency="daily", time_of_day="02:30", timezone="UTC")
    db.session.add(schedule)
    db.session.flush()
    return schedule


def test_a_run_made_after_reset_gets_an_id_no_earlier_run_had(tmp_path):
    app = make_test_app(f"sqlite:///{tmp_path / 'host.db'}")  # set up through the migrations
    with app.app_context():
        seed_reference(db.session)
        earlier = [_run().id for _ in range(3)]
        schedules = [_schedule(f"Nightly {n}").id for n in range(2)]
        db.session.commit()
        reset_all(db.session, "admin@demo.example")
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(SyncRun)) == 0
        after = _run().id
        schedule = _schedule("After the reset").id
        db.session.commit()
        assert after > max(earlier), f"run #{after} after Reset reuses an id of runs {earlier}"
        assert schedule > max(schedules)
        db.session.remove()


def test_the_migration_keeps_an_existing_sqlite_databases_runs_items_and_schedules(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    app = create_app({**CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    all_h = histories(app)
    colcw = next(h for h in all_h if h.name == "colcw")
    with app.app_context():
        with db.engine.begin() as conn:  # the database as colcw's first release left it
            for h in all_h:
                command.upgrade(_config(h, conn, all_h), "colcw_0001" if h is colcw else "head")
        with db.engine.begin() as conn:
            ddl = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'colcw_sync_runs'")).scalar()
            assert "AUTOINCREMENT" not in ddl
            now = dt.datetime(2026, 12, 1, 9, 0)
            for run_id in (1, 2, 3):
                conn.execute(text(
                    "INSERT INTO colcw_sync_runs (id, kind, params, description, status, \"trigger\", requested_by, "
                    "rq_job_id, created_at, total, done, counts, entity_counts, api_requests, message, attempts, "
                    "interruptions, selection, waiting_reason) VALUES (:id, 'customer_export', '{}', :d, "
                    "'succeeded', 'manual', 'admin', '', :at, 1, 1, '{\"created\": 1}', '{}', 0, '', 1, 0, '{}', '')"),
                    {"id": run_id, "d": f"run {run_id}", "at": now})
                conn.execute(text(
                    "INSERT INTO colcw_sync_items (run_id, at, entity, direction, label, action, message, resolution) "
                    "VALUES (:id, :at, 'customer', 'export', :label, 'created', '', '')"),
                    {"id": run_id, "at": now, "label": f"item of run {run_id}"})
            conn.execute(text(
                "INSERT INTO colcw_schedules (id, name, kind, params, frequency, time_of_day, timezone, enabled, "
                "last_outcome, created_by, created_at, updated_at) VALUES (7, 'Nightly', 'customer_export', '{}', "
                "'daily', '02:30', 'UTC', 1, '', 'admin', :at, :at)"), {"at": now})

        with db.engine.begin() as conn:
            for h in all_h:
                command.upgrade(_config(h, conn, all_h), "head")
        assert pending_changes(app) == {"host_stub": [], "colcw": []}
        with db.engine.connect() as conn:
            for table in ("colcw_sync_runs", "colcw_schedules"):
                ddl = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = :t"), {"t": table}).scalar()
                assert "AUTOINCREMENT" in ddl, ddl
            assert conn.execute(text("SELECT id, description FROM colcw_sync_runs ORDER BY id")).all() == [
                (1, "run 1"), (2, "run 2"), (3, "run 3")]
            assert conn.execute(text("SELECT run_id, label FROM colcw_sync_items ORDER BY run_id")).all() == [
                (1, "item of run 1"), (2, "item of run 2"), (3, "item of run 3")]
            assert conn.execute(text("SELECT id, name FROM colcw_schedules")).all() == [(7, "Nightly")]
            assert conn.execute(text("SELECT version_num FROM colcw_alembic_version")).scalar() != "colcw_0001"
        [fk] = inspect(db.engine).get_foreign_keys("colcw_sync_items")
        assert (fk["referred_table"], fk["options"].get("ondelete")) == ("colcw_sync_runs", "CASCADE")

        seed_reference(db.session)
        db.session.commit()
        reset_all(db.session, "admin@demo.example")
        db.session.commit()
        assert _run().id == 4  # after the highest id the old table had handed out
        # The cascade from a run to its items still holds after the rebuild.
        db.session.execute(text("DELETE FROM colcw_sync_runs"))
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(SyncItem)) == 0
        db.session.remove()
