"""Tables of one row (the connection's settings, the Live updates switch): the row, made on first use.

Two processes may make it at the same moment (two admins' first saves, two ``colcw live-updates --on``
started together). Each made its own row before, and each went on with its own: two Live updates
rows held two URL secrets, and each process registered ConnectWise callbacks for its own URL, so
every change came twice and one of the two was refused. Both now insert the same key and PostgreSQL
keeps one: the second insert waits for the first's transaction and, once it has committed, inserts
nothing, and both read the one row (on SQLite the writes take turns anyway).
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.bulk import upsert_insert

T = TypeVar("T")
ROW_ID = 1  # the key every first insert uses (a row made before keeps its own id: the lowest one is read)


def the_row(session: Session, model: type[T], *, for_update: bool = False) -> T:
    """The table's row, inserted with its columns' defaults when there is none yet. ``for_update``: locked until
    the transaction ends, so a read-modify-write of it (a secret made once) is one process's at a time."""
    query = select(model).order_by(model.id).limit(1)
    if for_update:  # (and read again once locked: what the session held of it may be older than the lock)
        query = query.with_for_update().execution_options(populate_existing=True)
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        session.execute(upsert_insert(session)(model).values(id=ROW_ID).on_conflict_do_nothing(index_elements=["id"]))
        row = session.execute(query).scalar_one()
    return row
