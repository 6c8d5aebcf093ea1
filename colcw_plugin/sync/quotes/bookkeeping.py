"""What an export writes to colcw's own tables: the opportunity's link and the document's export state.

Written with single statements (an upsert each) on what the export already holds, never by reading
the rows back first; none of them commits. The export commits twice at most (three times for a new
opportunity: its create intent before the POST, :mod:`.intents`): the opportunity's link at once after
the opportunity is created or found by name (so an export that dies from there on resumes on it
instead of creating a second one), and everything else together with the host's lock of the document.
"""

from __future__ import annotations

from sqlalchemy import (
    bindparam,
    case,
    column,
    delete,
    func,
    insert,
    literal,
    literal_column,
    null,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, scoped_session

from host_stub.bulk import on_postgresql, plain_connection, upsert_insert
from host_stub.models import utcnow

from ...models import DOCUMENT, CreateIntent, DocumentDrift, DocumentExport, DocumentLineExport, Link
from .held import HEADER, HeldDocument, LinkRef
from .intents import forget_statement

# The statements name the tables, not the mapped classes: the ORM's bulk path for an entity does nothing these
# statements need (no object of the session is kept in step by them) and cost about 1.5 ms of a one-line export's
# 13 ms of CPU.
_STATE, _LINK = DocumentExport.__table__, Link.__table__
_LINES, _DRIFT = DocumentLineExport.__table__, DocumentDrift.__table__
_INTENT_ID = CreateIntent.__table__.c.id

# The upserts are built once per dialect (and, for the state, per set of columns written), with bound
# parameters for the values: building one anew for each export cost more Python than sending it.
_STATEMENTS: dict[tuple, object] = {}


def _statement(session: Session, key: tuple, build):
    insert_ = upsert_insert(session)
    stmt = _STATEMENTS.get((insert_, *key))
    if stmt is None:
        stmt = _STATEMENTS[(insert_, *key)] = build(insert_)
    return stmt


def _state_upsert(insert_, columns: tuple[str, ...]):
    stmt = insert_(_STATE).values({"document_id": bindparam("document_id"),
                                   **{c: bindparam(c) for c in columns}})
    return stmt.on_conflict_do_update(index_elements=["document_id"], set_={c: stmt.excluded[c] for c in columns})


def save_state(session: Session, document_id: int, **values) -> None:
    """Create or update the document's export state with ``values`` (one statement)."""
    columns = tuple(sorted(values))
    stmt = _statement(session, ("state", columns), lambda insert_: _state_upsert(insert_, columns))
    session.execute(stmt, {"document_id": document_id, **values})


def _link_upsert(insert_, with_values: bool, *, beside_state: bool = False):
    """(``beside_state``: its constants bound under names of their own, beside the state's upsert, whose columns with
    defaults bind under their column names: :func:`save_created`.)"""
    now = bindparam("now", type_=_LINK.c.linked_at.type)
    # (None is written as SQL NULL, not as JSON's null: the statement without values says so.)
    values = bindparam("values", type_=_LINK.c.synced_values.type) if with_values else null()
    constants = ({"cw_last_updated": literal("", _LINK.c.cw_last_updated.type),
                  "status": literal("ok", _LINK.c.status.type)} if beside_state else
                 {"cw_last_updated": "", "status": "ok"})
    stmt = insert_(_LINK).values(entity=DOCUMENT, host_id=bindparam("host_id"), cw_id=bindparam("cw_id"),
                                 cw_identifier=bindparam("cw_identifier"), fingerprint=bindparam("fingerprint"),
                                 linked_at=now, synced_at=now, synced_values=values, **constants)
    repointed = _LINK.c.cw_id != stmt.excluded.cw_id
    return stmt.on_conflict_do_update(index_elements=["entity", "host_id"], set_={
        "cw_id": stmt.excluded.cw_id, "cw_identifier": stmt.excluded.cw_identifier,
        "fingerprint": stmt.excluded.fingerprint, **constants, "synced_at": now,
        "linked_at": case((repointed, now), else_=_LINK.c.linked_at),
        "synced_values": case((repointed, stmt.excluded.synced_values), else_=_LINK.c.synced_values)})


def save_link(session: Session, document_id: int, cw_id: int, cw_identifier: str, fingerprint: str = "",
              values: dict | None = None) -> None:
    """Create or repoint the document's opportunity link (one statement; :func:`~colcw_plugin.models.set_link`'s
    rules: a repointed link is linked anew and forgets the values agreed with the other record). ``values``: what a
    new or repointed link agrees on (its opportunity header, :data:`.held.HEADER`); a link kept keeps its own."""
    with_values = values is not None
    params = {"host_id": document_id, "cw_id": cw_id, "cw_identifier": cw_identifier, "fingerprint": fingerprint,
              "now": utcnow()}
    session.execute(_statement(session, ("link", with_values), lambda insert_: _link_upsert(insert_, with_values)),
                    {**params, "values": values} if with_values else params)


def save_created(session: Session, document_id: int, state: dict, cw_id: int, cw_identifier: str, fingerprint: str,
                 values: dict | None) -> None:
    """The opportunity an export just created or found, at once: the document's state (``state``), its link
    (:func:`save_link`'s rules) and the end of its create intent (:mod:`.intents`). One statement on PostgreSQL (the
    state's upsert and the intent's delete as data-modifying WITH clauses of the link's upsert: none reads what another
    writes), three elsewhere."""
    params = {"host_id": document_id, "cw_id": cw_id, "cw_identifier": cw_identifier, "fingerprint": fingerprint,
              "now": utcnow()}
    with_values = values is not None
    if with_values:
        params["values"] = values
    if not on_postgresql(session):
        save_state(session, document_id, **state)
        session.execute(forget_statement(), {"host_id": document_id})
        session.execute(_statement(session, ("link", with_values), lambda insert_: _link_upsert(insert_, with_values)),
                        params)
        return
    columns = tuple(sorted(state))
    defaulted = [c for c in _STATE.c if c.default is not None and c.name not in columns]

    def build(insert_):
        # (The state's columns with defaults are given as SQL (:func:`_default_sql`): a default binds under its
        # column's name, which the link's own parameters use; a function's under a name of its own.)
        defaults = {c.name: _default_sql(c, _STATE_DEFAULT) for c in defaulted}
        saved = _state_upsert(insert_, columns).values(defaults).returning(_STATE.c.document_id).cte("saved_state")
        forgot = forget_statement().returning(_INTENT_ID).cte("forgot_intent")
        return _link_upsert(insert_, with_values, beside_state=True).add_cte(saved).add_cte(forgot)

    plain_connection(session).execute(
        _statement(session, ("created", columns, with_values), build),
        {**params, "document_id": document_id, **state, **_default_params(defaulted, _STATE_DEFAULT)})


def alone_in_autocommit(session: Session) -> None:
    """Before :func:`save_created`, committed at once: when the session has nothing of its own to commit with it (no
    transaction begun, no object waiting to be flushed), its next connection is taken in autocommit, so the write,
    one statement on PostgreSQL, costs one round trip instead of three (BEGIN, the statement, COMMIT) with the same
    outcome: a single statement is atomic on its own, and the commit after it has nothing left to send. (The
    recorder's writes do the same: :meth:`~colcw_plugin.sync.jobs.recorder.RunRecorder._update`.)"""
    own = session() if isinstance(session, scoped_session) else session  # (a web request's is scoped)
    if on_postgresql(own) and not own.in_transaction() and not (own.new or own.dirty or own.deleted):
        own.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def save_header(session: Session, document_id: int, header: dict) -> None:
    """Keep ``header`` (the opportunity header at this export, :data:`.held.HEADER`) on the document's link, beside
    what live updates keep there: read under a row lock and written back (two statements, only when it changed)."""
    where = (_LINK.c.entity == DOCUMENT) & (_LINK.c.host_id == document_id)
    kept = session.execute(select(_LINK.c.synced_values).where(where).with_for_update()).scalar()
    session.execute(update(_LINK).where(where).values(synced_values={**(kept or {}), HEADER: header}))


def link_is(link: LinkRef | None, cw_id: int, cw_identifier: str, fingerprint: str) -> bool:
    """Whether ``link`` already says all this (so writing it again would change nothing that is read)."""
    return (link is not None and link.cw_id == cw_id and link.cw_identifier == cw_identifier
            and link.fingerprint == fingerprint and link.status == "ok")


# Every column of the export state but its keys: what a successful export's state (save_lines' ``state``) names.
_WHOLE_STATE = frozenset(c.name for c in _STATE.c if not c.primary_key and c.name != "document_id")


def save_lines(session: Session, held: HeldDocument, rows: list[dict], *, had_rows: bool,
               state: dict | None = None) -> None:
    """Replace what each line became (``rows``), and forget the drift: ConnectWise holds the lines again. ``state``:
    the document's whole export state after a successful export, to save with them (:func:`save_state`'s values,
    every column: the upsert writes only the columns it is given, so a state without one would leave the previous
    export's value in it, a failure's message say; a partial one is refused, ValueError): on PostgreSQL in the same
    statement as the lines (the lines' INSERT a data-modifying WITH clause of the state's upsert: neither reads what
    the other writes), one round trip less for every export that writes its state."""
    if state is not None and not _WHOLE_STATE.issubset(state):
        raise ValueError("save_lines: the export state misses " + ", ".join(sorted(_WHOLE_STATE.difference(state)))
                         + " (give every column of it, or save a partial state with save_state)")
    if had_rows:
        session.execute(delete(_LINES).where(_LINES.c.document_id == held.id))
    # A first export has no drift, and none can appear while it runs (drift compares exported lines).
    if held.state is not None or held.has_drift:
        session.execute(delete(_DRIFT).where(_DRIFT.c.document_id == held.id))
    if state is not None and rows and on_postgresql(session):
        columns = tuple(sorted(state))
        stmt = _statement(session, ("state+lines", columns), lambda insert_: _state_upsert(insert_, columns)
                          .add_cte(_lines_from_json().cte("saved_lines")))
        params = {"document_id": held.id, **state, "line_rows": rows}
        if _LINE_CALLED:
            params.update(_default_params(_LINE_CALLED, _LINE_DEFAULT))
        plain_connection(session).execute(stmt, params)
        return
    if state is not None:
        save_state(session, held.id, **state)
    if rows:
        session.execute(insert(_LINES), rows)


# --- a column's default in a statement built once (:data:`_STATEMENTS`) and run by every export ---------------------

# The parameters of the defaults that are Python functions, named apart from any column's (the statements' own
# parameters bear column names).
_STATE_DEFAULT, _LINE_DEFAULT = "state_default_", "line_default_"


def _default_sql(c, prefix: str):
    """Column ``c``'s default as SQL, for a row that gives it no value, as a row inserted by the ORM (or by the
    database) gets it: a constant as itself; a SQL expression, a sequence's next value or the column's server default
    as itself (the database works it out at each execution); a Python function (``default=utcnow``) as the parameter
    ``prefix + c.name``, which :func:`_default_params` fills at each execution: never the value it had when the
    statement was built, kept since. None: the column has no default (its value is NULL)."""
    default = c.default
    if default is not None:
        if default.is_callable:
            return bindparam(prefix + c.name, type_=c.type)
        if default.is_sequence:
            return default.next_value()
        if default.is_clause_element:
            return default.arg
        return literal(default.arg, c.type)
    server = c.server_default
    arg = getattr(server, "arg", None)
    if arg is None:
        return None
    # (a text default is SQL's quoted literal, as the table's DDL writes it; a clause is the SQL itself)
    return literal_column("'" + arg.replace("'", "''") + "'", c.type) if isinstance(arg, str) else arg


def _default_params(columns, prefix: str) -> dict:
    """The values of ``columns``' Python function defaults for one execution of a statement built with
    :func:`_default_sql` (each function called once, as the ORM calls it for a row)."""
    return {prefix + c.name: c.default.arg(None) for c in columns if c.default is not None and c.default.is_callable}


def _insert_from_json(table, columns, prefix: str, name: str):
    """INSERT into ``table`` the rows of the JSON array bound as ``name`` (each an object with ``columns``): the
    statement is one whatever the number of rows (its text, and so its parsing and planning, the same for all). A
    row without a column's value (or with None: a JSON null) gets the column's default (:func:`_default_sql`)."""
    rows = func.jsonb_to_recordset(bindparam(name, type_=JSONB)).table_valued(
        *(column(c.name, c.type) for c in columns)).render_derived(name=name, with_types=True)

    def value(c):
        default = _default_sql(c, prefix)
        return rows.c[c.name] if default is None else func.coalesce(rows.c[c.name], default)

    return insert(table).from_select([c.name for c in columns], select(*(value(c) for c in columns)))


# The lines' columns as the INSERT of several lines in one statement reads them from its one JSON parameter. Every
# column of the table but its id, taken from the table: one added to it is written too (a line's row without it gets
# its default, as a row inserted by the ORM would: a function's, such as a time, worked out at each execution).
_LINE_COLUMNS = tuple(c for c in _LINES.c if not c.primary_key)
_LINE_CALLED = tuple(c for c in _LINE_COLUMNS if c.default is not None and c.default.is_callable)


def _lines_from_json():
    """INSERT the lines of the JSON array bound as ``line_rows`` (each an object with :data:`_LINE_COLUMNS`)."""
    return _insert_from_json(_LINES, _LINE_COLUMNS, _LINE_DEFAULT, "line_rows").returning(_LINES.c.id)
