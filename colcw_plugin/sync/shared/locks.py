"""Cross-process locks held in PostgreSQL (advisory, transaction-scoped, on a connection of their own).

Web processes and RQ workers on several machines share one database, so a lock that must hold
across all of them lives there. A dying process releases its locks with its connection. On
SQLite (single-process development only) the locks are no-ops.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

LOCK_WAIT_SECONDS = 120


class Busy(RuntimeError):
    """Another process held the lock for longer than we are willing to wait."""


def lock_key(*parts: object) -> int:
    """A 64-bit advisory lock key for ``parts``."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def advisory_lock(engine: Engine, key: int, busy_message: str, wait_seconds: int = LOCK_WAIT_SECONDS
                  ) -> Iterator[None]:
    """Hold advisory lock ``key`` while the block runs; :class:`Busy` after ``wait_seconds``."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        try:
            conn.execute(text(f"SET LOCAL lock_timeout = '{int(wait_seconds)}s'"))
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
        except OperationalError as e:
            conn.rollback()
            raise Busy(busy_message) from e
        try:
            yield
        finally:
            conn.rollback()  # ends the transaction: releases the lock
