"""A short-lived cache of tenant reference lists, in the database so every worker shares it.

Opportunity statuses, types and stages change rarely; reading them on every single-document
export costs three requests out of a budget of N + 3. Entries are keyed by the tenant (site and
company), expire after ``ttl`` seconds, and vanish with the connector's reset. A page shown on a GET
reads the cache without storing (``store=False``): a GET never writes to the database.

A process also keeps the rows it last read or stored of each entry, with the entry's version (PostgreSQL's
``xmin`` of its row: the writing transaction's id, new with every write by any process, unique in the database
cluster). A caller that read the entry's version in a statement it sends anyway (:func:`version_of`: the quote
export's document read) passes it, and gets the kept rows without a statement of its own when they are that
version and within the ``ttl``; another process's refresh, or the connector's reset, changes the version, and the
entry is read again. Without a version (another caller, or not on PostgreSQL) the entry is read as before.
The kept rows are the process's own: each caller gets copies (:func:`_handed`), so a caller that changes a row it was
given changes neither the kept rows nor another export's; only lists of flat rows (scalar values, as ConnectWise's
statuses, types and stages are read) are kept, whose shallow copy is a whole copy (~1 us for ten statuses).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import bindparam, delete, insert, literal_column, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from host_stub.models import utcnow

from ...models import ReferenceCache
from ..jobs.autocommit import autocommit_engine

DEFAULT_TTL_SECONDS = 600
_READ = select(ReferenceCache.rows, ReferenceCache.fetched_at).where(ReferenceCache.key == bindparam("key"))
# (PostgreSQL: the row's version with it.)
_VERSION = literal_column("colcw_reference_cache.xmin::text")
_READ_VERSIONED = select(ReferenceCache.rows, ReferenceCache.fetched_at, _VERSION).where(
    ReferenceCache.key == bindparam("key"))
UNKNOWN = object()  # no version read: the entry is read from the database

# What this process last read or stored of each entry: (database, full key) -> (version, rows, fetched at). Its
# rows are copies no caller holds (_kept), handed out as copies (_handed).
_KEPT: dict[tuple, tuple[str, tuple[dict, ...], dt.datetime]] = {}
_SCALARS = (str, int, float, bool, type(None))


def _kept(rows) -> tuple[dict, ...] | None:
    """A copy of ``rows`` to keep, or None when a row is not a dict of scalars (its shallow copy would share the
    nested values with the caller): such an entry is not kept and is read again each time."""
    out = []
    for row in rows:
        if type(row) is not dict or not all(type(v) in _SCALARS for v in row.values()):
            return None
        out.append(row.copy())
    return tuple(out)


def _handed(kept: tuple[dict, ...]) -> list[dict]:
    """The kept rows as a caller's own (a row of scalars: its shallow copy is a whole one)."""
    return [row.copy() for row in kept]


def _keep(kept_key: tuple, version, rows, fetched_at: dt.datetime) -> None:
    copied = _kept(rows)
    if copied is None:
        _KEPT.pop(kept_key, None)
    else:
        _KEPT[kept_key] = (version, copied, fetched_at)


def version_of(key_param: str):
    """The version of the entry whose full key (:meth:`DbReferenceCache.full_key`) is bound as ``key_param``, as a
    scalar subquery to read in another statement (PostgreSQL; NULL when there is no such entry)."""
    return select(_VERSION).where(ReferenceCache.key == bindparam(key_param)).scalar_subquery()


class DbReferenceCache:
    """``rows(key, fetch)``: the cached rows for ``key``, or ``fetch()`` (stored for the next caller unless
    ``store`` is off)."""

    def __init__(self, engine: Engine, tenant: str, ttl_seconds: float = DEFAULT_TTL_SECONDS,
                 clock: Callable[[], dt.datetime] = utcnow, store: bool = True, session: Session | None = None):
        self.engine = engine
        # Its reads and writes are one statement each: in autocommit they need no BEGIN and COMMIT (or
        # ROLLBACK) round trips of their own.
        self._direct = autocommit_engine(engine)
        # A web request passes its own session: it reads through that session's connection (and stores
        # nothing), so a request never holds two connections — twenty at once would exhaust the pool.
        self.session = session
        self.store = store and session is None
        self.tenant = tenant
        self.ttl = dt.timedelta(seconds=ttl_seconds)
        self.clock = clock

    def full_key(self, key: str) -> str:
        return f"{self.tenant}|{key}"[:300]

    def rows(self, key: str, fetch: Callable[[], list[dict]], *, fresh: bool = False,
             version: object = UNKNOWN) -> list[dict]:
        """``fresh``: read ConnectWise whatever the cache holds (and store that), e.g. before refusing an export
        for what a cached list says: the list may be older than a fix made in ConnectWise since. ``version``: the
        entry's version as just read (:func:`version_of`; None: no entry): the rows this process keeps of that
        version are taken without reading them again."""
        full_key = self.full_key(key)
        if self.session is not None:
            entry = None if fresh else self.session.get(ReferenceCache, full_key)
            if entry is not None and self.clock() - entry.fetched_at < self.ttl:
                return list(entry.rows)
            return list(fetch())
        versioned = self.engine.dialect.name == "postgresql"
        kept_key = (self.engine.url.host, self.engine.url.port, self.engine.url.database, full_key)
        if versioned and not fresh and version is not UNKNOWN and version is not None:
            kept = _KEPT.get(kept_key)
            if kept is not None and kept[0] == version and self.clock() - kept[2] < self.ttl:
                return _handed(kept[1])
        with self._direct.connect() as conn:  # plain statements: no ORM object to build for two values
            entry = conn.execute(_READ_VERSIONED if versioned else _READ, {"key": full_key}).first()
            if not fresh and entry is not None and self.clock() - entry.fetched_at < self.ttl:
                if versioned:
                    _keep(kept_key, entry[2], entry.rows, entry.fetched_at)
                return list(entry.rows)
            rows = list(fetch())
            if not self.store:
                return rows
            now = self.clock()
            if entry is None:
                stmt = insert(ReferenceCache).values(key=full_key, rows=rows, fetched_at=now)
            else:
                stmt = (update(ReferenceCache).where(ReferenceCache.key == full_key)
                        .values(rows=rows, fetched_at=now))
            try:
                written = conn.execute(stmt.returning(_VERSION) if versioned else stmt)
            except IntegrityError:  # another process stored it first: theirs is as fresh as ours
                conn.rollback()
                return rows
            if versioned:
                stored = written.scalar()
                if stored is not None:
                    _keep(kept_key, stored, rows, now)
            return rows

    def clear(self) -> None:
        with Session(bind=self.engine) as session:
            session.execute(delete(ReferenceCache).where(ReferenceCache.key.startswith(f"{self.tenant}|")))
            session.commit()
