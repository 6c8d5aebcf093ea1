"""The fast tier's fixtures: business rules on a plain SQLAlchemy session (SQLite in memory) and
plain clients, with no Flask app, PostgreSQL or Redis (``make test-fast``)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

import colcw_plugin.models  # noqa: F401 - colcw's tables on the shared metadata
from host_stub.extensions import db
from host_stub.seed import seed_reference


@pytest.fixture()
def engine():
    """An in-memory SQLite database with the host's and colcw's tables (one connection shared by all
    sessions, so threads see the same data)."""
    eng = create_engine("sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool)
    event.listen(eng, "connect", lambda conn, _: conn.execute("PRAGMA foreign_keys=ON"))
    db.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture()
def session(engine):
    """A plain session on that database, seeded with the demo reference data (store, users, categories)."""
    with Session(engine) as s:
        seed_reference(s)
        s.commit()
        yield s
