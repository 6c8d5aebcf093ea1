"""Counting the SQL statements of a page (the page budget tests share it)."""

from __future__ import annotations

import re

from sqlalchemy import event

from helpers import sign_in
from host_stub.extensions import db

WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|CREATE|DROP|ALTER)\b", re.I)


def statements(app, path: str) -> tuple[list[str], str]:
    """The SQL statements of one GET of ``path`` by a signed-in rep, and the page."""
    with app.app_context():  # a context of its own: Flask-WTF keeps the CSRF token in g
        client = sign_in(app.test_client(), "riley@demo.example")
        seen: list[str] = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            resp = client.get(path)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert resp.status_code == 200, resp.status_code
        return seen, resp.get_data(as_text=True)
