"""``insert_rows(..., end_later=True)`` (host_stub/bulk.py): the COPY's end is read at the connection's next
statement, commit or rollback, so the caller's Python work runs while PostgreSQL stores the rows. The rows are in the
transaction as any others: an error in them raises (as SQLAlchemy's error of a statement) from whatever the
connection does next, and after the rollback nothing of them, nor of the rest of the transaction, is written."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from host_stub import bulk
from host_stub.bulk import CustomerWrite, insert_rows
from host_stub.extensions import db
from host_stub.gateway import UnitOfWork
from host_stub.models import Contact, Customer, StoreSite
from host_stub.seed import seed_reference

# (with a psycopg lacking what this takes, test_copy_end_fallback.py's first test fails and says why; these would only
# fail with it)
pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not bulk.COPY_END_LATER, reason="this psycopg reads each COPY's end at once")]

NOW = dt.datetime(2026, 1, 2, 3, 4, 5)


def _customer(name: str) -> int:
    seed_reference(db.session)
    store = db.session.execute(select(StoreSite.id).order_by(StoreSite.id)).scalar()
    return insert_rows(db.session, Customer.__table__, [{"account_number": name, "name": name, "store_site_id": store,
                                                         "created_at": NOW, "updated_at": NOW}])[0]


def _contact(customer_id: int, first: str) -> dict:
    return {"customer_id": customer_id, "first_name": first, "last_name": "L", "created_at": NOW, "updated_at": NOW}


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar()


def test_rows_sent_with_end_later_are_there_for_the_next_statement_and_the_commit(app):
    customer = _customer("LATER1")
    ids = insert_rows(db.session, Contact.__table__, [_contact(customer, f"C{i}") for i in range(300)], end_later=True)
    assert bulk._UNREAD  # the end not read yet: PostgreSQL may still be storing them
    got = db.session.execute(select(Contact.id).where(Contact.customer_id == customer).order_by(Contact.id)).scalars()
    assert list(got) == ids
    assert not bulk._UNREAD
    insert_rows(db.session, Contact.__table__, [_contact(customer, "last")], end_later=True)
    db.session.commit()  # read before the commit
    assert not bulk._UNREAD
    assert _count(Contact) == 301


def test_an_error_in_the_rows_raises_from_the_next_statement_and_nothing_is_written(app):
    customer = _customer("LATER2")
    db.session.commit()
    insert_rows(db.session, Customer.__table__, [{"account_number": "OTHER", "name": "Other", "store_site_id": None,
                                                  "created_at": NOW, "updated_at": NOW}])
    # A contact of no customer: the foreign key refuses it, once PostgreSQL reaches it (after insert_rows returned).
    insert_rows(db.session, Contact.__table__, [_contact(customer, "ok"), _contact(customer + 1000, "orphan")],
                end_later=True)
    with pytest.raises(IntegrityError) as raised:
        db.session.execute(text("SELECT 1"))
    assert "COPY contacts" in str(raised.value)  # named as the statement that failed
    db.session.rollback()
    assert not bulk._UNREAD
    assert (_count(Customer), _count(Contact)) == (1, 0)  # the other customer rolled back with them


def test_an_error_in_the_rows_raises_from_the_commit_when_nothing_follows(app):
    customer = _customer("LATER3")
    insert_rows(db.session, Contact.__table__, [_contact(customer + 1000, "orphan")], end_later=True)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert (_count(Customer), _count(Contact)) == (0, 0)


def test_a_rollback_or_a_connection_given_back_reads_the_end_first(app):
    customer = _customer("LATER4")
    db.session.commit()
    insert_rows(db.session, Contact.__table__, [_contact(customer, "x")], end_later=True)
    db.session.rollback()
    assert not bulk._UNREAD
    insert_rows(db.session, Contact.__table__, [_contact(customer + 1000, "orphan")], end_later=True)
    db.session.close()  # its connection is given back to the pool (rolled back there) with the error unread
    assert not bulk._UNREAD
    assert (_count(Customer), _count(Contact)) == (1, 0)  # and the connection answers as before


def test_a_page_saved_by_the_bulk_path_reads_its_contacts_end_before_the_commit(app):
    seed_reference(db.session)
    uow = UnitOfWork(db.session)
    saved = uow.save_customers([CustomerWrite({"account_number": f"P{n}", "name": f"Page {n}"},
                                              [{"first_name": f"F{n}-{i}", "last_name": "L"} for i in range(3)])
                                for n in range(50)])
    uow.commit()
    assert not bulk._UNREAD
    rows = db.session.execute(select(Contact.customer_id, Contact.id).order_by(Contact.id)).all()
    assert [(s.id, cid) for s in saved for cid in s.contact_ids] == [tuple(r) for r in rows]


@pytest.mark.parametrize("read_later", [True, False], ids=["end-read-later", "fallback"])
def test_an_account_number_taken_meanwhile_still_raises_from_the_bulk_save(app, monkeypatch, read_later):
    """The customers' COPY is sent with end_later too; its end is read as the contacts' COPY starts, so the unique
    account number another process took after the page's check still raises from save_customers (its caller rolls
    back and saves the page one by one). So it does with the fallback (a psycopg without the insides the end read
    later needs: bulk.COPY_END_LATER off), where each COPY's end is read at once."""
    monkeypatch.setattr(bulk, "COPY_END_LATER", read_later)
    seed_reference(db.session)
    uow = UnitOfWork(db.session)
    uow.save_customers([CustomerWrite({"account_number": "TAKEN", "name": "First"})])
    uow.commit()
    monkeypatch.setattr(bulk, "_check_accounts_and_ids", lambda uow, plans: None)  # as if taken after the check
    with pytest.raises(IntegrityError) as raised:
        uow.save_customers([CustomerWrite({"account_number": "TAKEN", "name": "Second"},
                                          [{"first_name": "A", "last_name": "B"}])])
    assert "COPY customers" in str(raised.value)
    db.session.rollback()
    assert [c.name for c in db.session.execute(select(Customer)).scalars()] == ["First"]
    assert db.session.execute(select(func.count()).select_from(Contact)).scalar() == 0


def test_a_connection_thrown_away_keeps_no_copy_to_read(app):
    customer = _customer("LATER5")
    db.session.commit()
    insert_rows(db.session, Contact.__table__, [_contact(customer, "x")], end_later=True)
    assert bulk._UNREAD
    db.session.connection().invalidate()
    assert not bulk._UNREAD
    db.session.rollback()
    assert (_count(Customer), _count(Contact)) == (1, 0)
