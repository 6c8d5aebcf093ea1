"""The rows a process keeps of a shared reference entry (reference_cache.py, issue 14) are its own: every caller (an
export, in any thread) gets copies, so one that changes a status row it was given changes neither the kept rows nor
what the next export gets."""

from __future__ import annotations

from sqlalchemy import select

from colcw_plugin.sync.shared.reference_cache import DbReferenceCache, version_of
from helpers import recorded_statements
from host_stub.extensions import db


def _version(key: str):
    with db.engine.connect() as conn:
        return conn.execute(select(version_of("k")), {"k": key}).scalar()


STATUSES = [{"id": 1, "name": "Open", "wonFlag": False, "defaultFlag": True},
            {"id": 2, "name": "Won", "wonFlag": True, "defaultFlag": False}]


def test_a_caller_changing_its_rows_changes_nobody_elses(app):
    cache = DbReferenceCache(db.engine, tenant="kept-own")
    key = cache.full_key("statuses")
    fetched = [dict(r) for r in STATUSES]
    stored_rows = cache.rows("statuses", lambda: fetched, version=_version(key))  # fetched and stored
    stored_rows[0]["name"] = "annotated by the first export"
    fetched[1]["wonFlag"] = False
    version = _version(key)
    with recorded_statements(db.engine) as seen:
        first = cache.rows("statuses", lambda: [], version=version)  # the process's kept rows
        assert first == STATUSES
        first[0]["name"] = "annotated"
        first.append({"id": 3})
        second = cache.rows("statuses", lambda: [], version=version)
    assert seen == []  # still taken without a statement
    assert second == STATUSES and second[0] is not first[0]


def test_an_entry_read_from_the_database_is_kept_apart_from_the_rows_handed_out(app):
    writer = DbReferenceCache(db.engine, tenant="kept-read")
    key = writer.full_key("statuses")
    writer.rows("statuses", lambda: [dict(r) for r in STATUSES])
    reader = DbReferenceCache(db.engine, tenant="kept-read")
    read = reader.rows("statuses", lambda: [], version="not the entry's version")  # read from the database
    read[1]["wonFlag"] = None
    assert reader.rows("statuses", lambda: [], version=_version(key)) == STATUSES


def test_rows_with_nested_values_are_not_kept_but_read_again(app):
    cache = DbReferenceCache(db.engine, tenant="kept-nested")
    key = cache.full_key("states")
    rows = [{"id": 1, "identifier": "TX", "country": {"id": 1, "name": "United States"}}]
    cache.rows("states", lambda: [dict(r) for r in rows], version=_version(key))
    version = _version(key)
    assert version is not None
    with recorded_statements(db.engine) as seen:
        got = cache.rows("states", lambda: [], version=version)
    assert got == rows and len(seen) == 1  # the entry read again
