"""set_locked(returned=False): a document the session does not hold is locked by one UPDATE and no document is
built; one it holds is set as any change; one already so keeps its modified time; one gone is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from host_stub.gateway import UnitOfWork, ValidationError
from host_stub.models import Document


def _document(session) -> int:
    uow = UnitOfWork(session)
    customer = uow.save_customer({"account_number": "LU1", "name": "Lock quietly"}, [{"first_name": "Lu"}])
    doc_id = uow.save_document({"customer_id": customer.id}, [{"item_number": "A-1", "price": 5}]).id
    uow.commit()
    return doc_id


def _stored(engine, doc_id: int) -> Document:
    with Session(engine) as other:
        return other.get(Document, doc_id)


def test_a_document_the_session_does_not_hold_is_locked_by_one_update_and_not_built(engine, session):
    doc_id = _document(session)
    session.expunge_all()  # as in an export: the document it read is no longer held
    before = _stored(engine, doc_id).updated_at
    seen = []
    listener = lambda conn, cur, statement, *a: seen.append(statement.split()[0])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert UnitOfWork(session).set_locked(doc_id, True, returned=False) is None
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert seen == ["UPDATE"]
    assert session.identity_map.get(Session.identity_key(Document, doc_id)) is None  # nothing built
    session.commit()
    stored = _stored(engine, doc_id)
    assert stored.locked and stored.updated_at >= before

    session.expunge_all()
    UnitOfWork(session).set_locked(doc_id, True, returned=False)  # already locked: nothing written
    session.commit()
    assert _stored(engine, doc_id).updated_at == stored.updated_at
    with pytest.raises(ValidationError, match="no longer exists"):
        UnitOfWork(session).set_locked(doc_id + 1000, True, returned=False)


def test_a_document_the_session_holds_is_set_as_a_change(engine, session):
    doc_id = _document(session)
    held = session.get(Document, doc_id)
    assert not held.locked
    assert UnitOfWork(session).set_locked(doc_id, True, returned=False) is None
    assert held.locked  # the object held says so at once
    session.commit()
    assert _stored(engine, doc_id).locked
