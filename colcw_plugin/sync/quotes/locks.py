"""Cross-process locks for the quote export, held in PostgreSQL.

Web processes and RQ workers on several machines may export the same document at the same
moment (a rep double-clicks, a schedule fires while the rep exports). Each export holds a
PostgreSQL advisory lock keyed on the document for its whole duration, on a connection of its
own. An advisory lock rather than ``SELECT ... FOR UPDATE`` on the document's state row: the
export itself updates that row (and commits the opportunity link early, for crash safety)
through the business session, which would wait forever on a row lock held by its own export.
The lock is transaction-scoped, so a dying process releases it with its connection.

Creating a *new* opportunity also takes a lock on (company, name), so two different documents
naming the same new opportunity cannot both create it. Taken under the document's lock, it shares
that lock's connection (one statement instead of a connection of its own): it is held until the
document's lock ends.

On SQLite they are file locks beside the database (:mod:`..shared.locks`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ..shared.locks import LOCK_WAIT_SECONDS, advisory_lock, lock_key, tried_in_transaction

_DOCUMENT_BUSY = "Another export of this document is still running; try again when it has finished."


def _document_key(document_id: int) -> int:
    return lock_key("colcw-document-export", int(document_id))


@contextmanager
def document_lock(engine: Engine, document_id: int, *, wait_seconds: int = LOCK_WAIT_SECONDS,
                  on_wait: Callable[[bool], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> Iterator[None]:
    """Hold the export lock of one document; waits for a concurrent export of it to finish (telling
    ``on_wait``, see :func:`~..shared.locks.advisory_lock`; ``should_stop`` cuts the wait short)."""
    with advisory_lock(engine, _document_key(document_id), _DOCUMENT_BUSY, wait_seconds, on_wait,
                       should_stop=should_stop):
        yield


@contextmanager
def document_lock_tried(session: Session, document_id: int) -> Iterator[None]:
    """The export lock of one document, only tried (:class:`~..shared.locks.Busy` while an export of it runs), for a
    rep's change of what the export uses (its chosen opportunity); on PostgreSQL held in ``session``'s transaction,
    until it commits or rolls back (:func:`~..shared.locks.tried_in_transaction`)."""
    with tried_in_transaction(session, _document_key(document_id), _DOCUMENT_BUSY):
        yield


@contextmanager
def name_lock(engine: Engine, company_id: int, name: str, *, wait_seconds: int = LOCK_WAIT_SECONDS,
              on_wait: Callable[[bool], None] | None = None,
              should_stop: Callable[[], bool] | None = None) -> Iterator[None]:
    """Serialise "find the opportunity named X for company C, else create it" across processes (with
    ``on_wait``, the lock is first only tried: one statement when nothing holds it). Under a document's
    lock it is taken on that lock's connection, and released with it."""
    with advisory_lock(engine, lock_key("colcw-opportunity", int(company_id), name),
                       "Another export is creating this opportunity; try again in a moment.", wait_seconds, on_wait,
                       with_enclosing=True, should_stop=should_stop):
        yield
