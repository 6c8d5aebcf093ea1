"""The host's documented way for plugins to record a document's status in another system."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from host_stub.gateway import UnitOfWork, ValidationError
from host_stub.hookspecs import hookimpl
from host_stub.models import Customer, Document, DocumentExternalStatus
from host_stub.plugins import make_plugin_manager


def _quote(session) -> Document:
    uow = UnitOfWork(session)
    customer = uow.save_customer({"account_number": "EXT1", "name": "Ext Co"}, [{"first_name": "Ann"}])
    doc = uow.save_document({"customer_id": customer.id}, [{"item_number": "A", "quantity": 1, "price": 5}])
    uow.commit()
    return doc


def test_an_external_status_is_one_row_per_source_replaced_by_the_next(session):
    doc = _quote(session)
    uow = UnitOfWork(session)
    uow.set_external_status(doc.id, "ConnectWise", status="lost", label="Lost in ConnectWise",
                            changed_at=dt.datetime(2026, 5, 4, 12, 0))
    uow.set_external_status(doc.id, "ConnectWise", status="won", label="Won in ConnectWise on 2026-05-04 by Sam",
                            detail="Status: Won", url="https://cw.example/opp/7")
    uow.set_external_status(doc.id, "Other CRM", status="open", label="Open in Other CRM")
    uow.commit()
    rows = session.execute(select(DocumentExternalStatus).order_by(DocumentExternalStatus.source)).scalars().all()
    assert [(r.source, r.status, r.label) for r in rows] == [
        ("ConnectWise", "won", "Won in ConnectWise on 2026-05-04 by Sam"), ("Other CRM", "open", "Open in Other CRM")]
    assert rows[0].changed_at is None and rows[0].url == "https://cw.example/opp/7"
    session.expire_all()
    assert [x.source for x in session.get(Document, doc.id).external_statuses] == ["ConnectWise", "Other CRM"]
    uow.clear_external_status(doc.id, "Other CRM")
    uow.commit()
    assert [x.source for x in session.get(Document, doc.id).external_statuses] == ["ConnectWise"]


def test_an_external_status_is_not_an_edit_it_fires_nothing_and_works_on_a_locked_document(session):
    doc = _quote(session)
    fired = []

    class Listener:
        @hookimpl
        def quote_saved(self, document, created, actor):
            fired.append(document["id"])

    uow = UnitOfWork(session, make_plugin_manager([Listener()]))
    uow.set_locked(doc.id, True)
    before = session.get(Document, doc.id).updated_at
    uow.set_external_status(doc.id, "ConnectWise", status="won", label="Won in ConnectWise")
    uow.commit()
    assert fired == []
    assert session.get(Document, doc.id).updated_at == before


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"status": "maybe", "label": "x"}, "status"),
    ({"status": "won", "label": ""}, "label"),
    ({"status": "won", "label": "x" * 201}, "label"),
])
def test_bad_external_status_says_what_to_fix_and_writes_nothing(session, kwargs, field):
    doc = _quote(session)
    with pytest.raises(ValidationError) as e:
        UnitOfWork(session).set_external_status(doc.id, "ConnectWise", **kwargs)
    assert field in e.value.errors
    session.rollback()
    assert session.execute(select(DocumentExternalStatus)).first() is None


def test_an_external_status_for_a_missing_document_is_refused(session):
    with pytest.raises(ValidationError) as e:
        UnitOfWork(session).set_external_status(9999, "ConnectWise", status="won", label="Won")
    assert "9999" in e.value.errors["id"]
    assert session.execute(select(Customer)).first() is None
