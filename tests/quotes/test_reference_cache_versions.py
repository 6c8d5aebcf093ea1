"""A process's copy of a shared reference list (reference_cache.py): taken without a statement only while the shared
entry is the version it copied. Another process's refresh (a write of the entry's row, by any process), or the
connector's reset, makes the next export read the entry again (issue 14: the one-line export's statement budget)."""

from __future__ import annotations

import datetime as dt

from quote_support import line
from sqlalchemy import select, update

from colcw_plugin.models import ReferenceCache
from colcw_plugin.sync.shared.reference_cache import UNKNOWN, DbReferenceCache, version_of
from colcw_plugin.sync.shared.statuses import CACHE_KEY
from helpers import recorded_statements
from host_stub.extensions import db
from host_stub.models import utcnow


def _version(key: str):
    with db.engine.connect() as conn:
        return conn.execute(select(version_of("k")), {"k": key}).scalar()


def _fetcher(rows: list[dict], calls: list):
    return lambda: calls.append(1) or rows


def test_the_copy_of_the_version_read_is_taken_and_another_processs_write_is_seen(app):
    cache = DbReferenceCache(db.engine, tenant="versions")
    key = cache.full_key("statuses")
    calls: list = []
    assert cache.rows("statuses", _fetcher([{"id": 1}], calls), version=_version(key)) == [{"id": 1}]  # stored
    stored = _version(key)
    assert stored is not None
    with recorded_statements(db.engine) as seen:
        assert cache.rows("statuses", _fetcher([{"id": 9}], calls), version=stored) == [{"id": 1}]
    assert seen == [] and len(calls) == 1  # this process's copy: no statement, no request

    # Another process refreshes the entry (its own request to ConnectWise): the row's version changes.
    with db.engine.begin() as conn:
        conn.execute(update(ReferenceCache).where(ReferenceCache.key == key).values(rows=[{"id": 2}],
                                                                                     fetched_at=utcnow()))
    refreshed = _version(key)
    assert refreshed != stored
    with recorded_statements(db.engine) as seen:
        assert cache.rows("statuses", _fetcher([{"id": 9}], calls), version=refreshed) == [{"id": 2}]
    assert len(seen) == 1 and len(calls) == 1  # read from the database, not from ConnectWise
    # ... and the copy of that version is kept in turn.
    with recorded_statements(db.engine) as seen:
        assert cache.rows("statuses", _fetcher([{"id": 9}], calls), version=refreshed) == [{"id": 2}]
    assert seen == []

    # Without a version read (another caller), the entry is read as before.
    with recorded_statements(db.engine) as seen:
        assert cache.rows("statuses", _fetcher([{"id": 9}], calls)) == [{"id": 2}]
        assert cache.rows("statuses", _fetcher([{"id": 9}], calls), version=UNKNOWN) == [{"id": 2}]
    assert len(seen) == 2


def test_a_reset_or_an_expired_entry_is_not_taken_from_the_copy(app):
    now = [utcnow()]
    cache = DbReferenceCache(db.engine, tenant="reset", ttl_seconds=600, clock=lambda: now[0])
    key = cache.full_key("statuses")
    calls: list = []
    cache.rows("statuses", _fetcher([{"id": 1}], calls), version=None)
    kept = _version(key)
    cache.clear()  # the connector's reset: the entry is gone
    assert _version(key) is None
    assert cache.rows("statuses", _fetcher([{"id": 2}], calls), version=None) == [{"id": 2}]  # asked again
    assert len(calls) == 2
    # A copy older than the ttl is not taken, even of the version read (the entry is stale everywhere).
    kept = _version(key)
    now[0] += dt.timedelta(seconds=601)
    assert cache.rows("statuses", _fetcher([{"id": 3}], calls), version=kept) == [{"id": 3}]
    assert len(calls) == 3


def test_an_export_takes_the_statuses_another_process_refreshed(world):
    """A refresh by another process between two exports of this one: the second export goes by the refreshed list,
    not by this process's copy of the list it read before (which would give the opportunity the old open status)."""
    assert world.export(world.quote([line("OPT-7010")], name="First deal").id).status == "succeeded"
    # An admin adds an open status in ConnectWise and closes "Open"; another process reads the list and stores it.
    quoted = world.sandbox.api("POST", "sales/opportunities/statuses", json={"name": "Quoted"})
    assert quoted.status_code == 201, quoted.text
    [entry] = [r for r in db.session.execute(select(ReferenceCache)).scalars() if r.key.endswith("|" + CACHE_KEY)]
    changed = [dict(s, closedFlag=True) if s["name"] == "Open" else s for s in entry.rows] + [quoted.json()]
    key = entry.key
    db.session.rollback()
    with db.engine.begin() as conn:
        conn.execute(update(ReferenceCache).where(ReferenceCache.key == key).values(rows=changed, fetched_at=utcnow()))
    run = world.export(world.quote([line("OPT-7010")], name="Second deal").id)
    assert run.status == "succeeded", run.message
    [second] = [o for o in world.opportunities() if o["name"] == "Second deal"]
    assert second["status"]["name"] == "Quoted"


def test_an_export_refused_for_want_of_a_status_reads_connectwise_first(world):
    """The shared cache's copy (up to ten minutes old) says the tenant has no open status, ConnectWise has one (an
    admin just added it, as the refusal told them to): the export reads ConnectWise's list before refusing, and
    exports."""
    assert world.export(world.quote([line("OPT-7010")], name="First deal").id).status == "succeeded"
    [entry] = [r for r in db.session.execute(select(ReferenceCache)).scalars() if r.key.endswith("|" + CACHE_KEY)]
    stale = [dict(s, closedFlag=True) for s in entry.rows]  # what the cache held before the admin's fix
    key = entry.key
    db.session.rollback()
    with db.engine.begin() as conn:
        conn.execute(update(ReferenceCache).where(ReferenceCache.key == key).values(rows=stale, fetched_at=utcnow()))
    run = world.export(world.quote([line("OPT-7010")], name="Second deal").id)
    assert run.status == "succeeded", run.message
    [second] = [o for o in world.opportunities() if o["name"] == "Second deal"]
    assert second["status"]["name"] == "Open"
