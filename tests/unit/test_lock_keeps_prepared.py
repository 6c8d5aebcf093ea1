"""Ending a record lock keeps the connection's prepared statements (PostgreSQL).

psycopg prepares a statement on the server after a connection ran it five times, and forgets every one at a
ROLLBACK (``DEALLOCATE ALL``). A lock's transaction only takes advisory locks, so it ends by COMMIT: the pooled
connection it used goes on to run the run's statements with their plans kept (a one-line quote export took
about 3 ms less of its 20-25).
"""

from __future__ import annotations

import pytest
from lock_support import gets
from sqlalchemy import create_engine, text

from colcw_plugin.sync.shared.locks import advisory_lock, lock_key

PROBE = text("SELECT :n + 1 AS colcw_prepared_probe")
PREPARED = text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%colcw_prepared_probe%'")


@pytest.fixture()
def one_connection(pg_url):
    """An engine of one pooled connection: every lock and every statement runs on it."""
    engine = create_engine(pg_url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _prepare_probe(engine) -> None:
    with engine.connect() as conn:
        for n in range(8):  # past psycopg's threshold (5): the server holds it prepared
            conn.execute(PROBE, {"n": n})
        assert conn.execute(PREPARED).scalar() == 1
        conn.commit()


def _prepared_now(engine) -> int:
    with engine.connect() as conn:
        try:
            return conn.execute(PREPARED).scalar()
        finally:
            conn.commit()


def test_a_lock_that_ends_keeps_the_connections_prepared_statements(one_connection):
    _prepare_probe(one_connection)
    for record in range(3):
        with advisory_lock(one_connection, lock_key("colcw-document", record), "busy"):
            pass
    assert _prepared_now(one_connection) == 1


def test_a_lock_whose_block_fails_still_ends_and_frees_its_key(one_connection):
    key = lock_key("colcw-document", 42)
    with pytest.raises(RuntimeError), advisory_lock(one_connection, key, "busy"):
        raise RuntimeError("the export failed")
    other = create_engine(one_connection.url)
    try:  # another connection gets the key at once: the failed block's transaction ended
        assert gets(other, key), "the key stayed held after the block failed"
    finally:
        other.dispose()
