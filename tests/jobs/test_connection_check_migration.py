"""colcw_0007 adds the saved connection's last check to colcw_settings (on SQLite and PostgreSQL), keeps the saved
connection through it both ways, and a connection saved before it reads as not checked yet."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import inspect, text
from test_stop_request_migration import CONFIG, _migrate, empty_database  # noqa: F401 - the fixture

from colcw_plugin.setup.connection import get_settings
from host_stub import create_app
from host_stub.extensions import db

CHECK_COLUMNS = {"checked_at", "check_ok", "check_message"}


def _columns() -> set[str]:
    return {c["name"] for c in inspect(db.engine).get_columns("colcw_settings")}


def test_the_last_check_columns_come_and_go_keeping_the_saved_connection(empty_database):  # noqa: F811
    app = create_app({**CONFIG, "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        _migrate(app, "colcw_0006")
        assert not CHECK_COLUMNS & _columns()
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO colcw_settings (id, site_url, company_id, auth_mode, public_key, secret_encrypted, "
                "client_id, allow_http, allow_empty_opportunity_name, use_logged_in_rep, category_mode, "
                "opportunity_type_name, opportunity_stage_name, open_status_name, updated_at, updated_by) VALUES "
                "(1, 'https://na.myconnectwise.net', 'acme', 'api_keys', 'pub', 'sealed', 'colcw', :no, :no, :no, "
                "'names', '', '', '', :at, 'admin')"), {"no": False, "at": dt.datetime(2026, 7, 1)})

        _migrate(app, "head")
        assert _columns() >= CHECK_COLUMNS
        row = get_settings(db.session)
        assert (row.site_url, row.company_id) == ("https://na.myconnectwise.net", "acme")
        assert row.checked_at is None and row.check_ok is None  # saved before: not checked yet
        db.session.remove()

        _migrate(app, "colcw_0006", down=True)
        assert not CHECK_COLUMNS & _columns()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT site_url, company_id FROM colcw_settings")).all() == [
                ("https://na.myconnectwise.net", "acme")]
        _migrate(app, "head")  # and up again
        assert _columns() >= CHECK_COLUMNS
        db.session.remove()
        db.engine.dispose()
