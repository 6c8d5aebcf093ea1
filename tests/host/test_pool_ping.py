"""Pooled PostgreSQL connections: pinged before use only after sitting idle (host_stub.ping_when_idle).

A connection given back moments ago is used as it is (no round trip per checkout); one idle for longer
is pinged first, and a dead one is replaced before anyone uses it.
"""

from __future__ import annotations

from sqlalchemy import create_engine, text

from host_stub import ping_when_idle


def _engine(pg_url, idle_seconds):
    engine = create_engine(pg_url, pool_size=1, max_overflow=0)
    ping_when_idle(engine, idle_seconds)
    pings = []
    do_ping = engine.dialect.do_ping
    engine.dialect.do_ping = lambda conn: pings.append(1) or do_ping(conn)
    return engine, pings


def test_a_connection_given_back_moments_ago_is_not_pinged(pg_url):
    engine, pings = _engine(pg_url, idle_seconds=60)
    try:
        for _ in range(3):
            with engine.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar() == 1
        assert pings == []
    finally:
        engine.dispose()


def test_an_idle_connection_closed_by_the_server_is_replaced_before_use(app, pg_url):
    engine, pings = _engine(pg_url, idle_seconds=0)
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with engine.connect() as other:  # the same pooled connection, pinged first (idle for more than 0 s)
            assert other.execute(text("SELECT pg_backend_pid()")).scalar() == pid
        assert pings
        admin = create_engine(pg_url)
        with admin.connect() as killer:
            killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.dispose()
        with engine.connect() as conn:  # the ping finds it dead: a new connection, not an error
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    finally:
        engine.dispose()
