"""A customer export's own database writes, sent cheaply (a helper of :mod:`.exporter` and :mod:`.contact_export`).

An export writes a handful of small statements per customer: its company's link, its new contacts'
create intents, then their links, the intents' deletion and the company link's update. Through the ORM
each costs far more of colcw's CPU than PostgreSQL takes to run it (compilation, bulk-insert
machinery, a sequence query and a COPY for a single link), and a bulk export runs thousands of them.
On PostgreSQL they are sent here as plain parameterised statements (no compilation) on the session's own
connection, in its transaction, one statement each: the same rows, the same transactions and commits (and,
unlike a COPY, seen by the engine's statement events). Elsewhere
(SQLite: the fast test tier) the ORM's statements are used as before.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from host_stub.bulk import on_postgresql
from host_stub.models import utcnow

from ...models import CreateIntent
from .link_batch import LinkBatch

_LINK_COLS = ("entity", "host_id", "cw_id", "cw_identifier", "fingerprint", "cw_last_updated", "status",
              "synced_values", "linked_at", "synced_at")
_LINK_ROW = "(" + ", ".join("%s::json" if c == "synced_values" else "%s" for c in _LINK_COLS) + ")"
_LINK_INSERT = ("INSERT INTO colcw_links (entity, host_id, cw_id, cw_identifier, fingerprint, cw_last_updated, status, "
                "synced_values, linked_at, synced_at) VALUES ")
_LINK_UPDATE = ("UPDATE colcw_links SET cw_id = %s, cw_identifier = %s, fingerprint = %s, cw_last_updated = %s, "
                "status = %s, synced_at = %s, synced_values = %s::json, linked_at = COALESCE(%s, linked_at) "
                "WHERE id = %s")
_INTENT_ROW = "(%s, %s, %s, %s::json, %s::json, %s)"
_INTENT_INSERT = "INSERT INTO colcw_create_intents (entity, host_id, cw_parent_id, match, known_ids, started_at) VALUES "
_INTENT_DELETE = "DELETE FROM colcw_create_intents WHERE entity = %s AND host_id = ANY(%s)"


def _json(value: Any) -> str | None:
    """A JSON column's value as the ORM sends it (None: SQL NULL, as :func:`host_stub.bulk.insert_rows` writes)."""
    return None if value is None else json.dumps(value)


def _execute(session: Session, statement: str, params: Sequence[Any]):
    """Send ``statement`` as it is (no compilation) on the session's connection, in its transaction."""
    return session.connection().exec_driver_sql(statement, tuple(params))


class ExportLinks(LinkBatch):
    """:class:`~.link_batch.LinkBatch` whose :meth:`flush` sends its inserts in one statement (their ids come
    back with it) and each update as one statement, on PostgreSQL."""

    def flush(self) -> None:
        if not (self._inserts or self._updates):
            return
        if not on_postgresql(self.session):
            super().flush()
            return
        if self._inserts:
            params: list[Any] = []
            for _, v in self._inserts:
                params += [_json(v[c]) if c == "synced_values" else v[c] for c in _LINK_COLS]
            returned = _execute(self.session, _LINK_INSERT + ", ".join([_LINK_ROW] * len(self._inserts)) +
                                " RETURNING id, entity, host_id", params)
            ids = {(entity, host_id): link_id for link_id, entity, host_id in returned}
            for row, v in self._inserts:
                row.id = ids[v["entity"], v["host_id"]]  # a link's (entity, host_id) is unique
            self._inserts = []
        for u in self._updates:
            _execute(self.session, _LINK_UPDATE, (u["cw_id"], u["cw_identifier"], u["fingerprint"], u["cw_last_updated"],
                                                  u["status"], u["synced_at"], _json(u["synced_values"]),
                                                  u["linked_at"], u["link_id"]))
        self._updates = []


def insert_intents(session: Session, rows: Sequence[dict]) -> None:
    """Add create intents (``entity``, ``host_id``, ``cw_parent_id``, ``match``, ``known_ids``) in one statement."""
    if not rows:
        return
    if not on_postgresql(session):
        session.execute(insert(CreateIntent), list(rows))
        return
    params: list[Any] = []
    for r in rows:
        params += [r["entity"], r["host_id"], r["cw_parent_id"], _json(r["match"]), _json(r["known_ids"]), utcnow()]
    _execute(session, _INTENT_INSERT + ", ".join([_INTENT_ROW] * len(rows)), params)


def delete_intents(session: Session, entity: str, host_ids: Sequence[int]) -> None:
    """Delete these host records' create intents (one statement)."""
    if not host_ids:
        return
    if not on_postgresql(session):
        session.execute(delete(CreateIntent).where(CreateIntent.entity == entity, CreateIntent.host_id.in_(host_ids)))
        return
    _execute(session, _INTENT_DELETE, (entity, list(host_ids)))
