"""The export's own writes (the create intent's claim, the opportunity's state and link, the state with the lines)
are sent on the session's connection as plain statements, and still see what the session holds pending, as the
session's execute did: it is flushed first (unless the session's autoflush is off)."""

from __future__ import annotations

import pytest
from quote_support import line
from sqlalchemy import select

from colcw_plugin.models import DOCUMENT, CreateIntent, DocumentExport, Link
from colcw_plugin.sync.quotes import bookkeeping, intents
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = [pytest.mark.postgres]


def test_a_claim_sees_a_pending_intent_of_the_document(world):
    doc = world.quote([line("OPT-7012")], name="Pending deal")
    db.session.commit()
    db.session.add(CreateIntent(entity=DOCUMENT, host_id=doc.id, cw_parent_id=world.company_id,
                                match={"token": "abc123abc123", "name": "Pending deal"}, known_ids=[],
                                started_at=utcnow()))
    claim = intents.claim(db.session, doc.id, world.company_id, "Pending deal")  # (flushed first: it is there)
    assert (claim.fresh, claim.token) == (False, "abc123abc123")


def test_the_created_opportunity_sees_a_pending_state_of_the_document(world):
    doc = world.quote([line("OPT-7013")], name="Pending state")
    db.session.commit()
    db.session.add(DocumentExport(document_id=doc.id, status="failed", message="earlier"))
    bookkeeping.save_created(db.session, doc.id, {"opportunity_id": 501, "opportunity_name": "Pending state",
                                                  "created_opportunity": True}, 501, "Pending state", "f" * 8, None)
    db.session.commit()
    state = db.session.execute(select(DocumentExport).where(DocumentExport.document_id == doc.id)).scalar_one()
    assert (state.opportunity_id, state.status, state.message) == (501, "failed", "earlier")
    link = db.session.execute(select(Link).where(Link.entity == DOCUMENT, Link.host_id == doc.id)).scalar_one()
    assert link.cw_id == 501
