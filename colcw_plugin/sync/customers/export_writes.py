"""A customer export's own database writes, staged and sent together (a helper of :mod:`.exporter` and
:mod:`.contact_export`).

An export writes twice per customer: before its contacts' POSTs, its company's link and its new contacts'
create intents; after them, the contacts' links, the intents' deletion, the company link's last update and
the customer's forgotten drift. :class:`ExportWrites` stages each of the two and :meth:`~ExportWrites.flush`
sends it. Through the ORM they were half a dozen statements per customer, each costing far more of colcw's
CPU (compilation, bulk-insert machinery, a round trip and the driver's work) than PostgreSQL takes to run
it, and a bulk export writes thousands of customers. On PostgreSQL each flush is one plain parameterised
statement (data-modifying ``WITH`` clauses, no compilation), all its parts one atomic write: a worker of a
bulk export sends it in autocommit (:func:`autocommit`), so a customer costs two round trips and no BEGIN
or COMMIT; the rep's single export sends it in the session's transaction, which the exporter commits.
Elsewhere (SQLite: the fast test tier) the ORM's statements are sent one by one in the session's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from host_stub.bulk import on_postgresql, upsert_insert
from host_stub.models import utcnow

from ...models import CreateIntent, RecordDrift
from .link_batch import LinkBatch

_LINK_COLS = ("entity", "host_id", "cw_id", "cw_identifier", "fingerprint", "cw_last_updated", "status",
              "synced_values", "linked_at", "synced_at")
_LINK_ROW = "(" + ", ".join("%s::json" if c == "synced_values" else "%s" for c in _LINK_COLS) + ")"
_LINK_INSERT = ("INSERT INTO colcw_links (entity, host_id, cw_id, cw_identifier, fingerprint, cw_last_updated, status, "
                "synced_values, linked_at, synced_at) VALUES {rows} RETURNING id, entity, host_id")
_LINK_UPDATE = ("UPDATE colcw_links SET cw_id = %s, cw_identifier = %s, fingerprint = %s, cw_last_updated = %s, "
                "status = %s, synced_at = %s, synced_values = %s::json, linked_at = COALESCE(%s, linked_at) "
                "WHERE id = %s")
_INTENT_ROW = "(%s, %s, %s, %s::json, %s::json, %s)"
# A contact's intent replaces the one an earlier export left (one intent per host record: the unique key).
_INTENT_UPSERT = ("INSERT INTO colcw_create_intents (entity, host_id, cw_parent_id, match, known_ids, started_at) "
                  "VALUES {rows} ON CONFLICT (entity, host_id) DO UPDATE SET cw_parent_id = EXCLUDED.cw_parent_id, "
                  "match = EXCLUDED.match, known_ids = EXCLUDED.known_ids, started_at = EXCLUDED.started_at")
_INTENT_DELETE = "DELETE FROM colcw_create_intents WHERE entity = %s AND host_id = ANY(%s)"
# An export settles the notes of what it sends; a contact added in ConnectWise (new_contact) or made inactive there
# (inactive) is nothing an export sends, so their notes stay until a reading finds otherwise or a rep dismisses them.
_KEPT_NOTES = ("new_contact", "inactive")
_DRIFT_DELETE = "DELETE FROM colcw_record_drift WHERE customer_id = ANY(%s) AND kind NOT IN ('new_contact', 'inactive')"
# The links the flush updates, locked first, in id order (shared/link_locks.py: as a relink, a clear, a dismissal of
# notes and a live-update pass lock a customer's links), before any row is written: PostgreSQL runs a statement's
# data-modifying WITH clauses in an order of its own (the last first), so the customer's link was locked before its
# contacts' older ones and its drift before any link, and a pass or a dismissal holding them the other way round
# deadlocked with it. Each write of the statement waits for this lock (``_AFTER_LOCK``: an InitPlan, run before it).
_LINK_LOCK = "SELECT id FROM colcw_links WHERE id = ANY(%s) ORDER BY id FOR UPDATE"
_AFTER_LOCK = " AND (SELECT count(*) FROM locked) >= 0"


def autocommit(connection: Connection) -> Connection:
    """``connection`` set to send each statement as a transaction of its own, on PostgreSQL (where a flush of
    :class:`ExportWrites` is one statement: no BEGIN and COMMIT round trips); as it is elsewhere."""
    if connection.dialect.name == "postgresql":
        return connection.execution_options(isolation_level="AUTOCOMMIT")
    return connection


def _json(value: Any) -> str | None:
    """A JSON column's value as the ORM sends it (None: SQL NULL, as :func:`host_stub.bulk.insert_rows` writes)."""
    return None if value is None else json.dumps(value)


class ExportWrites(LinkBatch):
    """One customer's export writes (see the module doc): :meth:`put` and :meth:`mark` of :class:`LinkBatch`
    (a mark is written at once), plus create intents added and settled and drift forgotten, all sent by
    :meth:`flush` (the caller commits, unless the session is in autocommit)."""

    def __init__(self, session: Session):
        super().__init__(session)
        self._intents: list[dict] = []  # to add (each replaces the record's earlier intent)
        self._settled: dict[str, list[int]] = {}  # entity: host ids whose intents go
        self._drift: list[int] = []  # customers whose drift goes

    def intend(self, rows: Sequence[dict]) -> None:
        """Add create intents (``entity``, ``host_id``, ``cw_parent_id``, ``match``, ``known_ids``), each
        replacing the record's earlier one."""
        self._intents += rows

    def settle(self, entity: str, host_ids: Iterable[int]) -> None:
        """Delete these host records' create intents (their links, in the same flush, now say they exist)."""
        self._settled.setdefault(entity, []).extend(host_ids)

    def forget_drift(self, customer_id: int) -> None:
        """Forget what live updates found different for the customer and its contacts (a contact added in
        ConnectWise and not taken stays listed): the export just made both sides agree."""
        self._drift.append(customer_id)

    def flush(self) -> None:
        settling = {(e, i) for e, ids in self._settled.items() for i in ids}
        if settling & {(r["entity"], r["host_id"]) for r in self._intents}:
            raise ValueError("an intent is added and settled in the same flush")
        if not on_postgresql(self.session):
            self._flush_each()
        elif self._inserts or self._updates or self._intents or settling or self._drift:
            self._flush_one()
        self._intents, self._settled, self._drift = [], {}, []

    def _flush_each(self) -> None:
        """The ORM's statements, one by one (SQLite)."""
        super().flush()
        if self._intents:  # each replaces the record's earlier intent, as on PostgreSQL
            stmt = upsert_insert(self.session)(CreateIntent).values(
                [{**r, "started_at": utcnow()} for r in self._intents])
            self.session.execute(stmt.on_conflict_do_update(index_elements=["entity", "host_id"], set_={
                c: stmt.excluded[c] for c in ("cw_parent_id", "match", "known_ids", "started_at")}))
        for entity, ids in self._settled.items():
            if ids:
                self.session.execute(delete(CreateIntent).where(CreateIntent.entity == entity,
                                                                CreateIntent.host_id.in_(ids)))
        if self._drift:
            self.session.execute(delete(RecordDrift).where(RecordDrift.customer_id.in_(sorted(set(self._drift))),
                                                           RecordDrift.kind.not_in(_KEPT_NOTES)))

    def _flush_one(self) -> None:
        """Everything staged in one statement (PostgreSQL): the link inserts as its result, every other write a
        data-modifying ``WITH`` clause of it (no two of them touch the same row)."""
        self._stamp()
        parts: list[tuple[str, list[Any]]] = []
        updates: dict[int, dict] = {}
        for u in self._updates:  # the last update of a link wins; a re-link keeps its new linked_at
            earlier = updates.get(u["link_id"])
            updates[u["link_id"]] = {**u, "linked_at": u["linked_at"] or (earlier or {}).get("linked_at")}
        after = _AFTER_LOCK if updates else ""
        for u in updates.values():
            parts.append((_LINK_UPDATE + after, [u["cw_id"], u["cw_identifier"], u["fingerprint"],
                                                 u["cw_last_updated"], u["status"], u["synced_at"],
                                                 _json(u["synced_values"]), u["linked_at"], u["link_id"]]))
        if self._intents:
            now, params = utcnow(), []
            for r in self._intents:
                params += [r["entity"], r["host_id"], r["cw_parent_id"], _json(r["match"]), _json(r["known_ids"]), now]
            parts.append((_INTENT_UPSERT.format(rows=", ".join([_INTENT_ROW] * len(self._intents))), params))
        for entity, ids in self._settled.items():
            if ids:
                parts.append((_INTENT_DELETE, [entity, sorted(set(ids))]))
        if self._drift:
            parts.append((_DRIFT_DELETE + after, [sorted(set(self._drift))]))
        if updates:
            parts.insert(0, (_LINK_LOCK, [sorted(updates)]))
        inserts = self._inserts
        if inserts:
            params = []
            for _, v in inserts:
                params += [_json(v[c]) if c == "synced_values" else v[c] for c in _LINK_COLS]
            main = (_LINK_INSERT.format(rows=", ".join([_LINK_ROW] * len(inserts))), params)
        else:
            main = ("SELECT NULL, NULL, NULL WHERE false", [])
        if not parts:
            statement, params = main
        elif not inserts and len(parts) == 1:
            statement, params = parts[0]
        else:
            statement = "WITH " + ", ".join(f"{'locked' if sql is _LINK_LOCK else f'w{i}'} AS ({sql})"
                                            for i, (sql, _) in enumerate(parts)) + " " + main[0]
            params = [p for _, ps in parts for p in ps] + main[1]
        result = self.session.connection().exec_driver_sql(statement, tuple(params))
        if inserts:
            ids = {(entity, host_id): link_id for link_id, entity, host_id in result}
            for row, v in inserts:
                row.id = ids[v["entity"], v["host_id"]]  # a link's (entity, host_id) is unique
            self.inserted += len(inserts)
        self._inserts, self._updates = [], []
