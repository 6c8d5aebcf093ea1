"""save_lines(..., state=...) saves the export state with the lines in one upsert that writes only the columns it is
given: a state without one of them left the previous export's value in that column (a failure's message and its fix
shown beside an export that went through). Its one caller, a successful export, gives every column; a partial state
is refused before anything is written."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from colcw_plugin.models import DocumentExport, DocumentLineExport
from colcw_plugin.sync.quotes.bookkeeping import save_lines, save_state
from host_stub.extensions import db
from host_stub.gateway import UnitOfWork

# A successful export's state (export._save_success: every column of it).
WHOLE = dict(opportunity_id=7, opportunity_name="Seven", created_opportunity=True, status="exported",
             changed_since_export=False, fingerprint="f", name_at_export="Q1", exported_at=None,
             exported_by="system", last_run_id=None, message="", resolution="", hand_products=[])


def _failed_before() -> SimpleNamespace:
    """A document whose last export failed (its state says why, and the fix)."""
    uow = UnitOfWork(db.session)
    customer = uow.save_customer({"account_number": "SLW1", "name": "Whole state"}, [{"first_name": "Wu"}])
    doc = uow.save_document({"customer_id": customer.id}, [{"item_number": "A-1", "price": 5}])
    uow.commit()
    save_state(db.session, doc.id, status="failed", message="ConnectWise refused the opportunity",
               resolution="Map the rep", last_run_id=None)
    db.session.commit()
    return SimpleNamespace(id=doc.id, state=object(), has_drift=False)


def _state(doc_id: int) -> dict:
    db.session.expire_all()
    return db.session.execute(select(DocumentExport.__table__).where(
        DocumentExport.document_id == doc_id)).mappings().one()


def test_a_partial_state_is_refused_and_nothing_is_written(app):
    held = _failed_before()
    partial = {k: v for k, v in WHOLE.items() if k not in ("message", "resolution")}
    with pytest.raises(ValueError, match="message, resolution"):
        save_lines(db.session, held, [{"document_id": held.id, "line_id": 1, "cw_product_id": 2}], had_rows=False,
                   state=partial)
    db.session.rollback()
    state = _state(held.id)
    assert (state["status"], state["message"]) == ("failed", "ConnectWise refused the opportunity")
    assert not db.session.execute(select(DocumentLineExport).where(
        DocumentLineExport.document_id == held.id)).first()


def test_the_whole_state_replaces_the_failures_words(app):
    held = _failed_before()
    save_lines(db.session, held, [{"document_id": held.id, "line_id": 1, "cw_product_id": 2}], had_rows=False,
               state=WHOLE)
    db.session.commit()
    state = _state(held.id)
    assert (state["status"], state["message"], state["resolution"]) == ("exported", "", "")
