"""The fallback of ``insert_rows(..., end_later=True)`` (host_stub/bulk.py): reading a COPY's end later uses psycopg's
insides (``psycopg.generators.fetch_many``, ``psycopg.waiting.Wait``, ``LibpqWriter.finish``, ``Connection.wait`` and
its ``lock``), checked once at import (``bulk.COPY_END_LATER``). A psycopg without them still saves: each COPY's end is
read at once, as psycopg reads it, so the same rows are written and an error in them raises from ``insert_rows`` itself
(earlier than with the end read later, still before anything is committed)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from host_stub import bulk
from host_stub.bulk import CustomerWrite, insert_rows
from host_stub.extensions import db
from host_stub.gateway import UnitOfWork
from host_stub.models import Contact, Customer
from host_stub.seed import seed_reference

NOW = dt.datetime(2026, 1, 2, 3, 4, 5)


def test_the_installed_psycopg_reads_copy_ends_later():
    """If this fails after a psycopg upgrade, colcw still works but every bulk page waits for its COPY's end again
    (about 40 ms a page of 2,500 contacts): adapt _EndReadLater/_read_copy_end to the new psycopg, or keep the pin."""
    assert bulk.copy_end_later_supported(), f"psycopg {psycopg.__version__}: the COPY ends are read at once"
    assert bulk.COPY_END_LATER


class _WriterWithOtherFinish(bulk.LibpqWriter):
    def finish(self, error=None):  # a parameter renamed: not the finish _EndReadLater overrides
        super().finish(error)


def _wait_with_other_parameters(self, generator, interval=0.1):
    return None


def _init_without_lock(self, pgconn):
    self.pgconn = pgconn


@pytest.mark.parametrize("change", [
    "no fetch_many", "no Wait", "no LibpqWriter", "another finish", "another wait", "no lock", "no error_from_result",
    "no put_copy_end"])
def test_internals_missing_or_changed_turn_end_later_off(monkeypatch, change):
    assert bulk.copy_end_later_supported()  # (as installed)
    if change == "no fetch_many":
        monkeypatch.setattr(bulk, "fetch_many", None)  # as the import guard leaves it
    elif change == "no Wait":
        monkeypatch.setattr(bulk, "Wait", None)
    elif change == "no LibpqWriter":
        monkeypatch.setattr(bulk, "LibpqWriter", None)
    elif change == "another finish":
        monkeypatch.setattr(bulk, "LibpqWriter", _WriterWithOtherFinish)
    elif change == "another wait":
        monkeypatch.setattr(psycopg.Connection, "wait", _wait_with_other_parameters)
    elif change == "no lock":
        monkeypatch.setattr(psycopg.Connection, "__init__", _init_without_lock)
    elif change == "no error_from_result":
        monkeypatch.delattr(bulk.pg_errors, "error_from_result")
    elif change == "no put_copy_end":
        monkeypatch.setattr(bulk, "pq", type("pq", (), {"PGconn": type("PGconn", (), {"flush": lambda self: 0})}))
    assert not bulk.copy_end_later_supported()


def _page() -> list[CustomerWrite]:
    return [CustomerWrite({"account_number": f"FB{n}", "name": f"Fallback {n}"},
                          [{"first_name": f"F{n}-{i}", "last_name": "L", "is_default": i == 1} for i in range(3)])
            for n in range(40)]


def _written() -> list[tuple]:
    return [tuple(r) for r in db.session.execute(
        select(Customer.account_number, Customer.name, Contact.first_name, Contact.last_name, Contact.is_default)
        .join(Contact, Contact.customer_id == Customer.id, isouter=True)
        .order_by(Customer.account_number, Contact.first_name)).all()]


def _save_page_and_read_it_back() -> tuple[list[tuple], list[tuple], list[tuple]]:
    uow = UnitOfWork(db.session)
    saved = uow.save_customers(_page())
    unread_after_save = dict(bulk._UNREAD)
    written = _written()
    ids = db.session.execute(select(Contact.customer_id, Contact.id).order_by(Contact.id)).all()
    assert [(s.id, cid) for s in saved for cid in s.contact_ids] == [tuple(r) for r in ids]
    return written, [(s.saved, s.created, s.errors) for s in saved], list(unread_after_save)


def test_the_fallback_writes_the_same_rows_as_the_end_read_later(app, monkeypatch):
    seed_reference(db.session)
    db.session.commit()
    later_rows, later_results, later_unread = _save_page_and_read_it_back()
    db.session.rollback()
    assert later_unread  # the contacts' COPY was left for the next statement
    assert _written() == []

    monkeypatch.setattr(bulk, "COPY_END_LATER", False)  # as a psycopg without the insides would decide at import
    rows, results, unread = _save_page_and_read_it_back()
    assert unread == []  # each COPY's end read by insert_rows itself
    db.session.commit()
    assert (rows, results) == (later_rows, later_results)
    assert len(rows) == 120 and sum(1 for r in rows if r[4]) == 40  # three contacts each, one default each
    assert _written() == rows  # and committed


def test_the_fallback_raises_an_error_in_the_rows_from_insert_rows_before_the_commit(app, monkeypatch):
    monkeypatch.setattr(bulk, "COPY_END_LATER", False)
    seed_reference(db.session)
    customer = insert_rows(db.session, Customer.__table__, [{"account_number": "FBK", "name": "Kept",
                                                             "created_at": NOW, "updated_at": NOW}], end_later=True)[0]
    assert not bulk._UNREAD
    db.session.commit()
    insert_rows(db.session, Customer.__table__, [{"account_number": "FBX", "name": "Rolled back",
                                                  "created_at": NOW, "updated_at": NOW}], end_later=True)
    orphan = {"customer_id": customer + 1000, "first_name": "orphan", "created_at": NOW, "updated_at": NOW}
    with pytest.raises(IntegrityError) as raised:  # from insert_rows itself, not from a later statement
        insert_rows(db.session, Contact.__table__, [orphan], end_later=True)
    assert "COPY contacts" in str(raised.value)
    db.session.rollback()
    assert not bulk._UNREAD
    assert db.session.execute(select(Customer.account_number)).scalars().all() == ["FBK"]
    assert db.session.execute(select(func.count()).select_from(Contact)).scalar() == 0


# Another process whose psycopg has no generators.fetch_many: host_stub.bulk imports, warns once, registers no
# listener, and insert_rows(end_later=True) writes its rows and raises an error in them at once.
_WITHOUT_FETCH_MANY = textwrap.dedent("""
    import datetime as dt, json, sys
    import psycopg.generators
    del psycopg.generators.fetch_many
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import Engine
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm import Session
    from sqlalchemy.pool import Pool
    from host_stub import bulk
    from host_stub.models import Contact, Customer

    now = dt.datetime(2026, 1, 2, 3, 4, 5)
    out = {"end_later": bulk.COPY_END_LATER,
           "listening": [name for target, name, listener in bulk._LISTENERS if event.contains(target, name, listener)]}
    engine = create_engine(sys.argv[1])
    with Session(engine) as session:
        ids = bulk.insert_rows(session, Customer.__table__, [{"account_number": f"SUB{i}", "name": f"Sub {i}",
                               "created_at": now, "updated_at": now} for i in range(3)], end_later=True)
        out["unread_after_insert"] = len(bulk._UNREAD)
        session.commit()
        try:
            bulk.insert_rows(session, Contact.__table__, [{"customer_id": max(ids) + 1000, "first_name": "orphan",
                                                           "created_at": now, "updated_at": now}], end_later=True)
            out["raised"] = None
        except IntegrityError as e:
            out["raised"] = "COPY contacts" in str(e)
        session.rollback()
    engine.dispose()
    print(json.dumps(out))
""")


@pytest.mark.processes
def test_a_psycopg_without_the_insides_imports_and_saves_with_the_end_read_at_once(app):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    done = subprocess.run([sys.executable, "-c", _WITHOUT_FETCH_MANY, url], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "end_later": False, "listening": [], "unread_after_insert": 0, "raised": True}
    assert "lacks what reading a COPY's end later takes" in done.stderr
    assert db.session.execute(select(Customer.account_number).order_by(Customer.account_number)
                              ).scalars().all() == ["SUB0", "SUB1", "SUB2"]
    assert db.session.execute(select(func.count()).select_from(Contact)).scalar() == 0
