"""The fast tier's fixtures: business rules on a plain SQLAlchemy session (SQLite) and plain
clients, with no Flask app, PostgreSQL or Redis (``make test-fast``)."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session

import colcw_plugin.models  # noqa: F401 - colcw's tables on the shared metadata
from host_stub.extensions import db
from host_stub.seed import seed_reference


def _pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


def _engine(path):
    eng = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})
    event.listen(eng, "connect", _pragmas)
    return eng


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory):
    """A database with the host's and colcw's tables, created from the models (no migrations, no app),
    and the demo reference data (store, users, categories): made once, copied for each test."""
    path = tmp_path_factory.mktemp("unit-template") / "template.db"
    eng = _engine(path)
    db.metadata.create_all(eng)
    with Session(eng) as s:
        seed_reference(s)
        s.commit()
    with eng.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    eng.dispose()
    return path


@pytest.fixture()
def engine(seeded_template, tmp_path):
    """The test's own copy of the seeded database. A file, not memory: the run recorder and export
    threads open sessions of their own, as they do on PostgreSQL."""
    path = tmp_path / "unit.db"
    shutil.copy(seeded_template, path)
    eng = _engine(path)
    yield eng
    eng.dispose()


@pytest.fixture()
def session(engine):
    """A plain session on the test's database."""
    with Session(engine) as s:
        yield s
