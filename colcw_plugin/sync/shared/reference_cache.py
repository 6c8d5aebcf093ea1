"""A short-lived cache of tenant reference lists, in the database so every worker shares it.

Opportunity statuses, types and stages change rarely; reading them on every single-document
export costs three requests out of a budget of N + 3. Entries are keyed by the tenant (site and
company), expire after ``ttl`` seconds, and vanish with the connector's reset. A page shown on a GET
reads the cache without storing (``store=False``): a GET never writes to the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from host_stub.models import utcnow

from ...models import ReferenceCache

DEFAULT_TTL_SECONDS = 600
_READ = select(ReferenceCache.rows, ReferenceCache.fetched_at).where(ReferenceCache.key == bindparam("key"))


class DbReferenceCache:
    """``rows(key, fetch)``: the cached rows for ``key``, or ``fetch()`` (stored for the next caller unless
    ``store`` is off)."""

    def __init__(self, engine: Engine, tenant: str, ttl_seconds: float = DEFAULT_TTL_SECONDS,
                 clock: Callable[[], dt.datetime] = utcnow, store: bool = True, session: Session | None = None):
        self.engine = engine
        # Its reads and writes are one statement each: in autocommit they need no BEGIN and COMMIT (or
        # ROLLBACK) round trips of their own.
        self._direct = engine.execution_options(isolation_level="AUTOCOMMIT")
        # A web request passes its own session: it reads through that session's connection (and stores
        # nothing), so a request never holds two connections — twenty at once would exhaust the pool.
        self.session = session
        self.store = store and session is None
        self.tenant = tenant
        self.ttl = dt.timedelta(seconds=ttl_seconds)
        self.clock = clock

    def rows(self, key: str, fetch: Callable[[], list[dict]], *, fresh: bool = False) -> list[dict]:
        """``fresh``: read ConnectWise whatever the cache holds (and store that), e.g. before refusing an export
        for what a cached list says: the list may be older than a fix made in ConnectWise since."""
        full_key = f"{self.tenant}|{key}"[:300]
        if self.session is not None:
            entry = None if fresh else self.session.get(ReferenceCache, full_key)
            if entry is not None and self.clock() - entry.fetched_at < self.ttl:
                return list(entry.rows)
            return list(fetch())
        with self._direct.connect() as conn:  # plain statements: no ORM object to build for two values
            entry = conn.execute(_READ, {"key": full_key}).first()
            if not fresh and entry is not None and self.clock() - entry.fetched_at < self.ttl:
                return list(entry.rows)
            rows = list(fetch())
            if not self.store:
                return rows
            try:
                if entry is None:
                    conn.execute(insert(ReferenceCache).values(key=full_key, rows=rows, fetched_at=self.clock()))
                else:
                    conn.execute(update(ReferenceCache).where(ReferenceCache.key == full_key)
                                 .values(rows=rows, fetched_at=self.clock()))
            except IntegrityError:  # another process stored it first: theirs is as fresh as ours
                conn.rollback()
            return rows

    def clear(self) -> None:
        with Session(bind=self.engine) as session:
            session.execute(delete(ReferenceCache).where(ReferenceCache.key.startswith(f"{self.tenant}|")))
            session.commit()
