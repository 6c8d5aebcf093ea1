"""Cross-process locks for the quote export, held in PostgreSQL.

Web processes and RQ workers on several machines may export the same document at the same
moment (a rep double-clicks, a schedule fires while the rep exports). Each export holds a
PostgreSQL advisory lock keyed on the document for its whole duration, on a connection of its
own. An advisory lock rather than ``SELECT ... FOR UPDATE`` on the document's state row: the
export itself updates that row (and commits the opportunity link early, for crash safety)
through the business session, which would wait forever on a row lock held by its own export.
The lock is transaction-scoped, so a dying process releases it with its connection.

Creating a *new* opportunity also takes a lock on (company, name), so two different documents
naming the same new opportunity cannot both create it.

On SQLite (single-process development only) the locks are no-ops.
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


def _key(*parts: object) -> int:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def _advisory(engine: Engine, key: int, busy_message: str, wait_seconds: int) -> Iterator[None]:
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


@contextmanager
def document_lock(engine: Engine, document_id: int, *, wait_seconds: int = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold the export lock of one document; waits for a concurrent export of it to finish."""
    with _advisory(engine, _key("colcw-document-export", int(document_id)),
                   "Another export of this document is still running; try again when it has finished.",
                   wait_seconds):
        yield


@contextmanager
def name_lock(engine: Engine, company_id: int, name: str, *, wait_seconds: int = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Serialise "find the opportunity named X for company C, else create it" across processes."""
    with _advisory(engine, _key("colcw-opportunity", int(company_id), name),
                   "Another export is creating this opportunity; try again in a moment.", wait_seconds):
        yield
