"""The bulk path of the host's unit of work: a page of customers and their contacts in a few statements.

:meth:`~host_stub.gateway.UnitOfWork.save_customers` saves many customers at once with the rules of
:meth:`~host_stub.gateway.UnitOfWork.save_customer` (the same field checks, a unique account number,
one default contact per customer), but with a constant number of statements whatever the page
size: one read of the account numbers and customers it names, one of their contacts, then
multi-row inserts and one batched update per kind of change. A customer whose values are invalid
is not written and comes back with its errors; the others are saved. ``customer_saved`` is
recorded once per saved customer, with snapshots read before the commit in two queries for the
page, and only when a plugin implements it. A database error (another process took an account
number meanwhile) raises: the caller rolls back and saves the customers one by one. The contacts' COPY is
sent without waiting for its end (``insert_rows``' ``end_later``): an error in them (their customer deleted
meanwhile) raises from the caller's next statement or its commit, still before anything is committed.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import orjson
import psycopg
from psycopg import errors as pg_errors
from psycopg import pq
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    event,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

from .fields import taken_message
from .models import Contact, Customer, StoreSite, utcnow
from .snapshots import CONTACT_FIELDS, CUSTOMER_FIELDS, contact_snapshot, customer_snapshot

if TYPE_CHECKING:
    from .gateway import UnitOfWork

# insert_rows' end_later uses psycopg beyond its documented API (the generator that reads a statement's results, the
# wait states, its COPY writer's finish). A psycopg that moved or changed them still works: end_later is then ignored
# (COPY_END_LATER below, decided once at import), each COPY's end read at once as psycopg reads it.
try:
    from psycopg.copy import LibpqWriter
    from psycopg.generators import fetch_many
    from psycopg.waiting import Wait
except ImportError:
    LibpqWriter = fetch_many = Wait = None  # type: ignore[assignment,misc]

log = logging.getLogger(__name__)

_CUSTOMER_DEFAULTS = {"active": True, "address1": "", "address2": "", "city": "", "state": "", "zip": "",
                      "country": "", "website": "", "phone": "", "fax": "", "location_code": ""}
_CONTACT_DEFAULTS = {"title": "", "first_name": "", "last_name": "", "address1": "", "address2": "", "city": "",
                     "state": "", "zip": "", "work_phone": "", "mobile_phone": "", "home_phone": "", "other_phone": "",
                     "email": "", "is_default": False}


def on_postgresql(session: Session) -> bool:
    """Whether the session talks to PostgreSQL (the bulk paths' COPY, arrays and upserts), not SQLite."""
    return session.get_bind().dialect.name == "postgresql"


def plain_connection(session: Session):
    """The connection of ``session``'s transaction, to send a statement of plain rows on (no ORM object of it to load
    or keep in step: the session's execute would add only its ORM bookkeeping). As that execute does first, what the
    session holds pending is flushed, unless its autoflush is off."""
    if session.autoflush:
        session.flush()  # nothing is sent when nothing is pending
    return session.connection()


def upsert_insert(session: Session):
    """The ``insert`` construct with ``on_conflict_do_update`` for the session's database (both have one)."""
    return pg_insert if on_postgresql(session) else sqlite_insert


def among(session: Session, column, values: Iterable) -> Any:
    """``column IN (values)`` for many values: one array parameter on PostgreSQL (a page's thousands of ids
    cost one bind, not thousands of placeholders to render and parse), a plain ``IN`` elsewhere.

    Whole numbers go as one text, ``1,2,3`` (made by one join), which PostgreSQL splits and casts
    (``string_to_array``): the driver dumps a list element by element in Python, about 2 ms of CPU per 2,500 ids,
    and a bulk import looks a page's thousands of ids up several times. Both steps are immutable, so the planner
    folds them into a constant array, as a list was: only a constant array is searched by hash (a text merely cast
    to the array type stays an expression, searched element by element for every row a scan reads, and
    PostgreSQL spent more than the driver saved)."""
    values = list(values)
    if on_postgresql(session):
        if isinstance(column.type, Integer):
            split = func.string_to_array(bindparam(None, int_list_text(values), type_=Text), literal_column("','"))
            return column == any_(cast(split, ARRAY(column.type)))
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def int_list_text(values: Iterable[int]) -> str:
    """Whole numbers as one text, ``1,2,3`` (each taken as an int: a flag or a text that is not a number fails
    here, not in the database)."""
    return ",".join(map(str, map(int, values)))


@dataclass
class CustomerWrite:
    """One customer to save: its values, its contacts (with an ``id``: update that contact of this
    customer; without: add one) and, for an update, its id."""

    data: Mapping[str, Any]
    contacts: Sequence[Mapping[str, Any]] = ()
    customer_id: int | None = None


@dataclass
class CustomerSaved:
    """What became of one :class:`CustomerWrite`: its id and each given contact's id (in order), or
    the errors, field by field, that kept it from being saved (then ``id`` is None)."""

    id: int | None
    contact_ids: list[int] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    created: bool = False

    @property
    def saved(self) -> bool:
        return self.id is not None


@dataclass
class _Plan:
    write: CustomerWrite
    values: dict
    contacts: list[dict]
    result: CustomerSaved


def save_customers(uow: UnitOfWork, writes: Sequence[CustomerWrite], *, actor: dict | None = None
                   ) -> list[CustomerSaved]:
    """See the module docstring (flushed, not committed)."""
    session = uow.session
    session.flush()  # the ORM's pending changes go first: the statements below bypass it
    plans = [_validate(uow, w) for w in writes]
    _check_accounts_and_ids(uow, plans)
    ok = [p for p in plans if not p.result.errors]
    if not ok:
        return [p.result for p in plans]
    existing = _existing_contacts(session, [p.write.customer_id for p in ok
                                            if p.write.customer_id is not None and p.contacts])
    now = utcnow()
    new = [p for p in ok if p.write.customer_id is None]
    drawn = None
    if new and on_postgresql(session):
        # The new customers' ids, their new contacts' and the default store in one statement (_draw_ids), not three.
        drawn = _draw_ids(session, len(new), sum(1 for p in ok for c in p.contacts
                                                 if c.get("id") not in existing.get(p.result.id, ())))
    _insert_customers(session, new, now, drawn)
    new_contacts, changed_contacts, given = [], [], {}
    for p in ok:
        mine = existing.get(p.result.id, {})
        given[id(p)] = rows = []
        for c in p.contacts:
            cid = c.get("id")
            fields = c if "id" not in c else {k: v for k, v in c.items() if k != "id"}  # (a new one has none)
            if cid in mine:  # this customer's contact: updated (another id is added as new, as in save_customer)
                rows.append({**fields, "id": cid, "updated_at": now})
                changed_contacts.append(rows[-1])
                if "is_default" in c:
                    mine[cid] = bool(c["is_default"])
            else:
                rows.append({**_CONTACT_DEFAULTS, **fields, "customer_id": p.result.id, "created_at": now,
                             "updated_at": now})
                new_contacts.append((p, rows[-1]))
    # (after the contacts' rows are made: the first statement reads the end of the customers' COPY; before the
    # contacts' COPY, whose end is better read by the caller's next statement)
    _update_rows(session, Customer, [{"id": p.write.customer_id, **p.values, "updated_at": now}
                                     for p in ok if p.write.customer_id is not None])
    _update_rows(session, Contact, changed_contacts)
    # The contacts' COPY ends while the caller goes on (its end read at the connection's next statement: end_later).
    for (_, row), new_id in zip(new_contacts, insert_rows(session, Contact.__table__, [row for _, row in new_contacts],
                                                          end_later=True, drawn=drawn and drawn[1]), strict=True):
        row["id"] = new_id
    for p in ok:
        p.result.contact_ids = [row["id"] for row in given[id(p)]]
    _one_default_contact(session, ok, existing, new_contacts)
    session.expire_all()  # ORM objects the caller holds may show customers these statements changed
    if uow.listens("customer_saved"):
        _record_events(uow, ok, actor)
    return [p.result for p in plans]


def _validate(uow: UnitOfWork, w: CustomerWrite) -> _Plan:
    errors: dict[str, str] = {}
    values = uow.customer_fields(w.data, w.customer_id, errors)
    contacts = uow.contact_fields(list(w.contacts), errors)
    return _Plan(w, values, contacts, CustomerSaved(id=w.customer_id, errors=errors, created=w.customer_id is None))


def _check_accounts_and_ids(uow: UnitOfWork, plans: list[_Plan]) -> None:
    """One query: who holds the page's account numbers, and which of its customer ids still exist."""
    accounts = {p.values["account_number"] for p in plans
                if p.values.get("account_number") and "account_number" not in p.result.errors}
    ids = {p.write.customer_id for p in plans if p.write.customer_id is not None}
    if not accounts and not ids:
        return
    conds = []
    if accounts:
        conds.append(among(uow.session, Customer.account_number, sorted(accounts)))
    if ids:
        conds.append(among(uow.session, Customer.id, sorted(ids)))
    rows = uow.session.execute(select(Customer.id, Customer.account_number, Customer.name).where(or_(*conds))).all()
    holder = {acct: (cid, name) for cid, acct, name in rows}
    present = {cid for cid, _, _ in rows}
    claimed: dict[str, int] = {}  # account number -> the plan (by position) that takes it in this page
    for i, p in enumerate(plans):
        cid, errors = p.write.customer_id, p.result.errors
        if cid is not None and cid not in present:
            errors["id"] = f"Customer {cid} no longer exists."
        acct = p.values.get("account_number")
        if not acct or "account_number" in errors:
            continue
        other = holder.get(acct)
        if other is not None and other[0] != cid:
            errors["account_number"] = taken_message(acct, other[1])
        elif claimed.get(acct, i) != i:
            errors["account_number"] = taken_message(acct, plans[claimed[acct]].values.get("name") or "")
        elif not errors:
            claimed[acct] = i
    for p in plans:
        if p.result.errors:
            p.result.id = None


def _existing_contacts(session, customer_ids: Iterable[int]) -> dict[int, dict[int, bool]]:
    """The contacts of customers being updated: customer id -> {contact id: is_default}, by id."""
    ids = sorted(set(customer_ids))
    out: dict[int, dict[int, bool]] = defaultdict(dict)
    if ids:
        for cid, customer_id, is_default in session.execute(
                select(Contact.id, Contact.customer_id, Contact.is_default)
                .where(among(session, Contact.customer_id, ids)).order_by(Contact.id)):
            out[customer_id][cid] = bool(is_default)
    return out


def refresh_statistics(session: Session, tables: Mapping[str, Sequence[str]]) -> None:
    """Bring the query planner's statistics of ``tables`` (name -> the columns reads look rows up by) up to
    date, after a bulk load: until autovacuum's next pass (a minute or more) the planner takes a table just
    filled with thousands of rows for the few it held, and reads it whole where an index would do.
    PostgreSQL's ``ANALYZE`` of those columns only (the table's row count is refreshed with them; every
    column of a wide table costs ten times more). A table the database user does not own is skipped by
    PostgreSQL with a warning. Elsewhere nothing is done.

    It samples :data:`STATISTICS_SAMPLE` rows a table, not the 30,000 of PostgreSQL's default: what the planner
    lacks after a bulk load is the tables' size (estimated from the pages the sample reads) and that the looked-up
    keys are nearly unique, which a small sample shows as well; the default sample read most of a 10,000-company
    import's 35,000 links (about 60 ms at the end of the run, a tenth of its ConnectWise requests' time). The
    next pass of autovacuum takes its full sample as always."""
    if tables and on_postgresql(session):
        # (the statistics target times 300 is the sample's size; only for these statements)
        session.execute(text(f"SET LOCAL default_statistics_target = {STATISTICS_SAMPLE // 300}"))
        session.execute(text("ANALYZE " + ", ".join(f"{name} ({', '.join(columns)})"
                                                    for name, columns in sorted(tables.items()))))
        session.execute(text("SET LOCAL default_statistics_target TO DEFAULT"))


# Rows refresh_statistics samples of each table (ANALYZE reads 300 rows per unit of the statistics target).
STATISTICS_SAMPLE = 3_000


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]], *, ids: bool = True,
                end_later: bool = False, drawn: Sequence[int] | None = None) -> list[int]:
    """Insert many rows of ``table`` (an ``id`` primary key) in one go; their new ids, in the order of
    ``rows`` (none with ``ids`` False). Columns a row leaves out take their Python default.

    On PostgreSQL the ids are drawn from the table's sequence in one query and the rows sent with
    ``COPY … FROM STDIN`` (a multi-row INSERT of thousands of rows spends most of its time in the
    driver, parsing the statement); elsewhere (SQLite) it is an ``INSERT … RETURNING``.

    ``end_later``: return once the rows are sent, without waiting for PostgreSQL to finish storing them (the
    COPY's end is read at the connection's next statement, commit or rollback: :func:`_read_copy_end`). The
    caller's Python work meanwhile runs beside PostgreSQL's, where it waited (a bulk import's page of 2,500
    contacts took PostgreSQL about 40 ms after their last row was sent). The rows are in the transaction as
    before: an error PostgreSQL finds in them (a constraint) raises from that next statement or the commit,
    as a ``DBAPIError`` naming this COPY, and the transaction is then to be rolled back, as after any failed
    statement; so only for a caller whose next step is to write more in the same transaction. With a psycopg that
    lacks what this takes (:data:`COPY_END_LATER` false) it is ignored: the end is read here, its error raised here.

    ``drawn`` (PostgreSQL): the rows' ids, drawn from the table's sequence already (:func:`_draw_ids`, one for each
    row, in order), not drawn here.
    """
    if _UNREAD and on_postgresql(session):  # (the COPY below goes to the driver, not through the engine's events)
        _read_copy_end(session.connection().connection.driver_connection)
    if not rows:
        return []
    given = set().union(*(r.keys() for r in rows)) - {"id"}
    if not on_postgresql(session):
        # Every row with the same columns (one statement is compiled for all of them): what a row leaves out
        # takes its default, or NULL, as in the COPY below.
        fill = [(c.name, _default(c)) for c in table.columns if c.name in given]
        params = [{**{name: default() for name, default in fill if name not in r}, **r} for r in rows]
        if not ids:
            session.execute(insert(table), params)
            return []
        return list(session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                    params).scalars())
    columns = [c for c in table.columns if c.name in given or (c.default is not None and c.name != "id")]
    connection = session.connection()
    dialect = connection.dialect
    # Per column: its name, its default (a function of nothing) and how the driver wants its values.
    plan = [(c.name, _default(c), _copy_value(c, dialect)) for c in columns]
    new_ids: list[int] = []
    if ids and drawn is not None:
        if len(drawn) != len(rows):
            raise ValueError(f"{len(drawn)} ids drawn for {len(rows)} rows of {table.name}")
        new_ids = list(drawn)
    elif ids:
        # The sequence is looked up once (materialized), not per row: pg_get_serial_sequence in the select
        # list costs a catalog look-up per id (1,000 ids in 7 ms instead of 1).
        new_ids = connection.execute(text("WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(:t, 'id')"
                                          "::regclass AS seq) SELECT nextval(s.seq) FROM s, "
                                          "generate_series(1, :n)"), {"t": table.name, "n": len(rows)}
                                     ).scalars().all()  # fetched at once, not a row per call
    names = (["id"] if ids else []) + [c.name for c in columns]
    statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    # A row's values in column order in one C call; a row leaving a column out gets its default first.
    getter = itemgetter(*[name for name, _, _ in plan]) if plan else (lambda row: ())
    pick = (lambda row: (getter(row),)) if len(plan) == 1 else getter
    wanted = frozenset(name for name, _, _ in plan)
    defaults = {name: default for name, default, _ in plan}
    processed = [(position, process) for position, (_, _, process) in enumerate(plan, start=1 if ids else 0)
                 if process is not None]
    # A row holding as many keys as there are columns to write (its id aside) holds every one of them, when no row
    # names anything else: told by its length, not a set made for each of a page's thousands of rows.
    exact = not given.difference(c.name for c in table.columns)
    size = len(wanted)
    try:
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(
                statement, writer=_EndReadLater(cursor, statement) if end_later and COPY_END_LATER else None) as copy:
            for i, row in enumerate(rows):
                if not exact or len(row) - ("id" in row) < size:
                    lacking = wanted.difference(row.keys())
                    if lacking:
                        row = {**row, **{name: defaults[name]() for name in lacking}}
                picked = pick(row)
                values = [new_ids[i], *picked] if ids else list(picked)
                for position, process in processed:
                    if values[position] is not None:
                        values[position] = process(values[position])
                copy.write_row(values)
    except dialect.loaded_dbapi.Error as e:  # the driver's own error, as SQLAlchemy raises it for a statement
        raise DBAPIError.instance(statement, None, e, dialect.loaded_dbapi.Error) from e
    return new_ids


def copy_end_later_supported() -> bool:
    """Whether this psycopg has what reading a COPY's end later (insert_rows' ``end_later``) takes of its insides, as
    3.2 and 3.3 have them: ``psycopg.generators.fetch_many`` and ``psycopg.waiting.Wait.W``; a ``LibpqWriter`` made
    from a cursor whose ``finish(exc)`` ends the COPY; ``Connection.wait(gen)`` and the ``lock`` its ``__init__``
    sets; the libpq wrapper's ``put_copy_end`` and ``flush``; ``errors.error_from_result``. Checked by their names and
    parameters (what differs in a way that still matches here is for the tests of tests/perf to catch)."""
    if LibpqWriter is None or fetch_many is None or Wait is None:
        return False
    try:
        takes = [list(inspect.signature(f).parameters)[:2]
                 for f in (LibpqWriter.__init__, LibpqWriter.finish, psycopg.Connection.wait)]
    except (TypeError, ValueError, AttributeError):  # no such function, or one whose parameters cannot be read
        return False
    init = getattr(psycopg.Connection.__init__, "__code__", None)
    return (takes == [["self", "cursor"], ["self", "exc"], ["self", "gen"]] and callable(fetch_many)
            and isinstance(getattr(Wait, "W", None), int)
            and all(callable(getattr(pq.PGconn, name, None)) for name in ("put_copy_end", "flush"))
            and callable(getattr(pg_errors, "error_from_result", None))
            and init is not None and "lock" in init.co_names)


# Whether insert_rows' end_later is honoured (see copy_end_later_supported); when not, the listeners below are not
# registered either.
COPY_END_LATER = copy_end_later_supported()
if not COPY_END_LATER:
    log.warning("psycopg %s lacks what reading a COPY's end later takes (host_stub.bulk.copy_end_later_supported): "
                "each COPY's end is read at once", psycopg.__version__)

# COPYs whose end is still to be read (insert_rows' end_later), by their connection: id(driver connection) ->
# (that connection, the COPY's statement). Looked at before any statement, commit or rollback of any connection,
# so kept empty but for those moments.
_UNREAD: dict[int, tuple[Any, str]] = {}


if COPY_END_LATER:
    class _EndReadLater(LibpqWriter):
        """psycopg's writer of COPY data, whose end sends the end of the COPY and returns: PostgreSQL's answer (the
        rows stored, or the error in them) is read by :func:`_read_copy_end`. A COPY ended by an exception ends as
        psycopg ends it (cancelled, its error read at once)."""

        def __init__(self, cursor, statement: str):
            super().__init__(cursor)
            self.statement = statement
            self._conn = cursor.connection  # (the public attributes, not the base class's)

        def finish(self, exc: BaseException | None = None) -> None:
            if exc is not None:
                super().finish(exc)
                return
            self._conn.wait(_send_copy_end(self._conn.pgconn))
            _UNREAD[id(self._conn)] = (self._conn, self.statement)


def _send_copy_end(pgconn):
    """The first half of psycopg's ``copy_end`` generator: the end of the COPY queued and flushed to the server."""
    while pgconn.put_copy_end(None) == 0:
        while not (yield Wait.W):
            continue
    while True:
        while not (yield Wait.W):
            continue
        if pgconn.flush() == 0:
            break


def _read_copy_end(driver: Any) -> None:
    """Read the answer to the COPY of ``driver`` (a psycopg connection) whose end was not read yet, if any; the error
    in it, if any, raised as SQLAlchemy raises a statement's."""
    if not _UNREAD:
        return
    unread = _UNREAD.pop(id(driver), None)
    if unread is None:
        return
    conn, statement = unread
    try:
        with conn.lock:
            results = conn.wait(fetch_many(conn.pgconn))
        for result in results:
            if result.status != pq.ExecStatus.COMMAND_OK:
                raise pg_errors.error_from_result(result, encoding=conn.info.encoding)
    except pg_errors.Error as e:
        raise DBAPIError.instance(statement, None, e, pg_errors.Error) from e


def _read_copy_end_quietly(driver: Any) -> None:
    """:func:`_read_copy_end` before a rollback: an error in the COPY's rows is rolled back with them."""
    with contextlib.suppress(DBAPIError):
        _read_copy_end(driver)


def _driver(connection) -> Any:
    """The psycopg (or other driver's) connection under a SQLAlchemy connection (None once it is closed)."""
    try:
        return connection.connection.driver_connection
    except Exception:  # noqa: BLE001 - closed or invalidated: no COPY of it is left to read
        return None


# Every engine's statements, commits and rollbacks first read what a COPY of their connection left unread (nothing
# to do, one dict test, when none did). A connection handed back to the pool is rolled back: read quietly first.
# Registered only where end_later is honoured (COPY_END_LATER).
def _before_statement(conn, cursor, statement, parameters, context, executemany) -> None:
    if _UNREAD:
        _read_copy_end(conn.connection.driver_connection)


def _before_commit(conn) -> None:
    if _UNREAD:
        _read_copy_end(_driver(conn))


def _before_rollback(conn) -> None:
    if _UNREAD:
        _read_copy_end_quietly(_driver(conn))


def _before_reset(dbapi_connection, connection_record, reset_state) -> None:
    if _UNREAD:
        _read_copy_end_quietly(getattr(dbapi_connection, "driver_connection", dbapi_connection))


def _forget_unread(dbapi_connection, connection_record, *exception) -> None:
    """A connection thrown away (invalidated or closed) keeps no COPY to read."""
    if _UNREAD:
        _UNREAD.pop(id(getattr(dbapi_connection, "driver_connection", dbapi_connection)), None)


_LISTENERS = ((Engine, "before_cursor_execute", _before_statement), (Engine, "commit", _before_commit),
              (Engine, "rollback", _before_rollback), (Pool, "reset", _before_reset),
              (Pool, "invalidate", _forget_unread), (Pool, "close", _forget_unread))
if COPY_END_LATER:
    for _target, _name, _listener in _LISTENERS:
        event.listen(_target, _name, _listener)


def _copy_value(column: Column, dialect) -> Any:
    """How a column's values are turned into what COPY sends (None: as they are)."""
    if isinstance(column.type, JSON):
        return _json_text
    process = column.type.bind_processor(dialect)
    if process is None and isinstance(column.type, DateTime):
        return _timestamp_text()
    return process


def _timestamp_text() -> Any:
    """A timestamp column's value as the text COPY sends, as the driver writes it (``str`` of the datetime), made
    once per distinct value: a page's rows share a few (the save's time), and the driver's own conversion of each
    cost about 2.5 µs (a contact row's two timestamps took twice the time of its sixteen other values)."""
    made: dict[Any, str] = {}

    def as_text(value: Any) -> Any:
        if getattr(value, "tzinfo", None) is not None:  # equal instants in other zones must keep their own text
            return str(value)
        out = made.get(value)
        if out is None:
            out = made[value] = str(value)
        return out

    return as_text


def _json_text(value: Any) -> str:
    """A JSON column's value as the text COPY sends: by orjson (a tenth of the standard library's time, which
    was about a quarter of a page's link COPY); what orjson cannot write (a Decimal, an integer beyond 64 bits)
    as the ORM would write it."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def _default(column: Column):
    """A column's Python default as a function of nothing (None when it has none)."""
    default = column.default
    if default is None:
        return lambda: None
    if default.is_callable:
        return lambda: default.arg(None)
    return lambda: default.arg


# The ids of a page's new customers and of their new contacts, drawn from the two tables' sequences (each looked up
# once, materialized, as insert_rows draws them), and the default store, in one statement: rows tagged 0 (a customer
# id), 1 (a contact id), 2 (the store), each kind in the order drawn.
_IDS_AND_STORE = text(
    "WITH c AS MATERIALIZED (SELECT pg_get_serial_sequence(:customers_table, 'id')::regclass AS seq), "
    "k AS MATERIALIZED (SELECT pg_get_serial_sequence(:contacts_table, 'id')::regclass AS seq) "
    "SELECT 0 AS kind, nextval(c.seq) AS id FROM c, generate_series(1, :customers) "
    "UNION ALL SELECT 1, nextval(k.seq) FROM k, generate_series(1, :contacts) "
    "UNION ALL SELECT 2, (SELECT id FROM store_sites ORDER BY id LIMIT 1)")


def _draw_ids(session, customers: int, contacts: int) -> tuple[list[int], list[int], int | None]:
    """The ids of ``customers`` new customers and ``contacts`` new contacts, and the default store (its id, or None):
    one statement where drawing each table's ids (insert_rows) and reading the store took three, each a round trip
    the save waited for (PostgreSQL)."""
    drawn: tuple[list[int], list[int], list[int | None]] = ([], [], [])
    for kind, value in session.connection().execute(_IDS_AND_STORE, {
            "customers_table": Customer.__tablename__, "contacts_table": Contact.__tablename__,
            "customers": customers, "contacts": contacts}):
        drawn[kind].append(value)
    return drawn[0], drawn[1], drawn[2][0]


def _insert_customers(session, plans: list[_Plan], now,
                      drawn: tuple[list[int], list[int], int | None] | None = None) -> None:
    if not plans:
        return
    store = drawn[2] if drawn is not None else session.execute(
        select(StoreSite.id).order_by(StoreSite.id).limit(1)).scalar()
    rows = [{**_CUSTOMER_DEFAULTS, **p.values, "store_site_id": store, "created_at": now, "updated_at": now}
            for p in plans]
    # Its end is read as the contacts' COPY starts (save_customers), after their rows are made meanwhile: an error in
    # these (an account number another process took since) still raises from save_customers.
    for p, new_id in zip(plans, insert_rows(session, Customer.__table__, rows, end_later=True,
                                            drawn=drawn[0] if drawn is not None else None), strict=True):
        p.result.id = new_id


def _update_rows(session, model, rows: list[dict]) -> None:
    """Batched UPDATEs by id, one statement per set of columns changed (bind names must differ
    from the column names they set)."""
    groups: dict[tuple[str, ...], list[dict]] = defaultdict(list)
    for row in rows:
        groups[tuple(sorted(k for k in row if k != "id"))].append(row)
    for cols, group in groups.items():
        if not cols:
            continue
        stmt = update(model).where(model.id == bindparam("b_id")).values({c: bindparam(f"b_{c}") for c in cols})
        session.connection().execute(stmt, [{f"b_{k}": v for k, v in row.items()} for row in group])


def _one_default_contact(session, ok: list[_Plan], existing: dict[int, dict[int, bool]], new_contacts) -> None:
    """Each customer whose contacts were given keeps exactly one default contact: the first (by id) of
    those marked default, or its first contact when none is."""
    added = defaultdict(list)
    for p, row in new_contacts:
        added[p.result.id].append((row["id"], bool(row["is_default"])))
    fixes = []
    for p in ok:
        if not p.contacts:
            continue
        contacts = sorted([*existing.get(p.result.id, {}).items(), *added.get(p.result.id, [])])
        defaults = [cid for cid, d in contacts if d]
        fixes += [{"id": cid, "is_default": False} for cid in defaults[1:]]
        if not defaults and contacts:
            fixes.append({"id": contacts[0][0], "is_default": True})
    _update_rows(session, Contact, fixes)


def _record_events(uow: UnitOfWork, ok: list[_Plan], actor: dict | None) -> None:
    """``customer_saved`` for each saved customer, with snapshots read now (two queries for the page)."""
    session = uow.session
    ids = [p.result.id for p in ok]
    customers = {r.id: r for r in session.execute(
        select(*(getattr(Customer, f) for f in CUSTOMER_FIELDS)).where(among(session, Customer.id, ids)))}
    contacts = defaultdict(list)
    for r in session.execute(select(*(getattr(Contact, f) for f in CONTACT_FIELDS))
                             .where(among(session, Contact.customer_id, ids)).order_by(Contact.id)):
        contacts[r.customer_id].append(contact_snapshot(r))
    for p in ok:
        snap = customer_snapshot(customers[p.result.id], with_contacts=False)
        snap["contacts"] = contacts.get(p.result.id, [])
        uow.pending.append(("customer_saved", {"customer": snap, "created": p.result.created, "actor": actor}))
