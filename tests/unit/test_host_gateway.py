"""The host's unit of work on a plain session: writes flush but never commit; events fire after commit."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.gateway import UnitOfWork, ValidationError
from host_stub.hookspecs import hookimpl
from host_stub.models import Customer, Document
from host_stub.plugins import make_plugin_manager


def test_a_unit_of_work_flushes_but_leaves_the_commit_to_its_caller(engine, session):
    uow = UnitOfWork(session)
    customer = uow.save_customer({"account_number": "UOW1", "name": "Unit Co"}, [{"first_name": "Ann"}])
    assert customer.id is not None and session.in_transaction()  # flushed, still in the caller's transaction
    session.rollback()
    assert session.execute(select(Customer).where(Customer.account_number == "UOW1")).first() is None
    uow.save_customer({"account_number": "UOW1", "name": "Unit Co"}, [{"first_name": "Ann"}])
    uow.commit()
    with Session(engine) as other:
        saved = other.execute(select(Customer).where(Customer.account_number == "UOW1")).scalar_one()
        assert saved.contacts[0].is_default  # the only contact becomes the default


def test_events_are_recorded_with_snapshots_and_fire_only_after_commit(session):
    fired = []

    class Listener:
        @hookimpl
        def customer_saved(self, customer, created, actor):
            fired.append((customer["account_number"], created, [c["first_name"] for c in customer["contacts"]]))

    uow = UnitOfWork(session, make_plugin_manager([Listener()]))
    uow.save_customer({"account_number": "EV1", "name": "Events"}, [{"first_name": "Bo"}])
    assert fired == []
    uow.commit()
    assert fired == [("EV1", True, ["Bo"])]


def test_a_rolled_back_unit_of_work_fires_nothing_and_writes_nothing(session):
    fired = []

    class Listener:
        @hookimpl
        def customer_saved(self, customer, created, actor):
            fired.append(customer["id"])

    uow = UnitOfWork(session, make_plugin_manager([Listener()]))
    uow.save_customer({"account_number": "RB1", "name": "Rolled back"})
    uow.rollback()
    uow.commit()
    assert fired == []
    assert session.execute(select(Customer).where(Customer.account_number == "RB1")).first() is None


def test_no_snapshot_is_taken_when_no_plugin_listens(session):
    uow = UnitOfWork(session, make_plugin_manager([]))
    uow.save_customer({"account_number": "NL1", "name": "Nobody listens"})
    assert uow.pending == []


def test_invalid_input_raises_field_errors_and_writes_nothing(session):
    uow = UnitOfWork(session)
    with pytest.raises(ValidationError) as e:
        uow.save_customer({"account_number": "", "name": ""}, [{"first_name": ""}])
    assert set(e.value.errors) == {"name", "account_number", "contacts[0].first_name"}
    uow.commit()
    assert session.execute(select(Customer)).first() is None


def test_locking_a_document_stops_edits_until_it_is_unlocked(session):
    uow = UnitOfWork(session)
    customer = uow.save_customer({"account_number": "LK1", "name": "Locks"}, [{"first_name": "Cy"}])
    doc = uow.save_document({"customer_id": customer.id}, [{"item_number": "A-1", "price": 5}])
    uow.set_locked(doc.id, True)
    uow.commit()
    with pytest.raises(ValidationError, match="locked"):
        uow.save_document({"title": "changed"}, document_id=doc.id)
    uow.set_locked(doc.id, False)
    uow.save_document({"title": "changed"}, document_id=doc.id)
    uow.commit()
    assert session.get(Document, doc.id).title == "changed"


def test_locking_a_document_the_session_no_longer_holds_is_one_update_and_changes_only_what_differs(engine, session):
    from sqlalchemy import event

    uow = UnitOfWork(session)
    customer = uow.save_customer({"account_number": "LK2", "name": "Locks too"}, [{"first_name": "Di"}])
    doc = uow.save_document({"customer_id": customer.id}, [{"item_number": "A-1", "price": 5}])
    doc_id = doc.id
    uow.commit()  # the document is expired now, as after an export's first commit
    seen = []
    event.listen(engine, "before_cursor_execute", lambda conn, cur, statement, *a: seen.append(statement.split()[0]))
    locked = uow.set_locked(doc_id, True)
    assert seen == ["UPDATE"]  # not read first: the UPDATE returns it
    assert locked is doc and locked.locked
    uow.commit()
    with Session(engine) as other:
        first = other.get(Document, doc.id)
        assert first.locked
        stamp = first.updated_at
    session.expire_all()
    uow.set_locked(doc.id, True)  # already locked: nothing is written, its modified time stays
    uow.commit()
    with Session(engine) as other:
        assert other.get(Document, doc.id).updated_at == stamp
    session.expire_all()
    with pytest.raises(ValidationError, match="no longer exists"):
        uow.set_locked(doc.id + 1000, True)
