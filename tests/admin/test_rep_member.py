"""Which ConnectWise member an export acts as (user guide §4.2 2e, Appendix C), read in one statement:
the logged-in rep (with that option), else the document's rep; otherwise the store's default rep, else
the document's rep."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from colcw_plugin.models import RepMapping
from colcw_plugin.setup.reps import UnmappedRep, acting_rep, member_for
from helpers import recorded_statements
from host_stub.extensions import db
from host_stub.models import StoreSite, User

pytestmark = pytest.mark.postgres

DEFAULT_MODE = SimpleNamespace(use_logged_in_rep=False)
LOGGED_IN_MODE = SimpleNamespace(use_logged_in_rep=True)


@pytest.fixture()
def reps(app):
    users = list(db.session.execute(select(User).order_by(User.id)).scalars())
    store = db.session.execute(select(StoreSite)).scalar_one()
    default, actor, doc_rep = users[0], users[1], users[2]
    assert store.default_rep_id == default.id
    for n, user in enumerate((default, actor), start=1):  # doc_rep stays unmapped
        db.session.add(RepMapping(user_id=user.id, member_id=100 + n, member_identifier=f"m{n}"))
    db.session.commit()
    return SimpleNamespace(store=store, default=default, actor=actor, doc_rep=doc_rep, missing=max(u.id for u in users) + 99)


def _member(settings, actor_id, doc_rep_id):
    db.session.expire_all()
    with recorded_statements(db.engine) as seen:
        try:
            result = member_for(db.session, settings, {"id": actor_id} if actor_id else None, doc_rep_id).member_id
        except UnmappedRep as e:
            result = f"unmapped: {e.rep.email if e.rep else None}"
    assert len(seen) == 1, seen
    return result


def test_by_default_the_store_default_rep_acts_whoever_started_it(reps):
    assert _member(DEFAULT_MODE, reps.actor.id, reps.doc_rep.id) == 101
    assert acting_rep(db.session, DEFAULT_MODE, {"id": reps.actor.id}, reps.doc_rep.id).id == reps.default.id


def test_without_a_store_default_rep_the_documents_rep_acts(reps):
    reps.store.default_rep_id = None
    db.session.commit()
    assert _member(DEFAULT_MODE, reps.actor.id, reps.doc_rep.id) == f"unmapped: {reps.doc_rep.email}"
    assert _member(DEFAULT_MODE, None, reps.actor.id) == 102
    assert _member(DEFAULT_MODE, None, None) == "unmapped: None"
    assert _member(DEFAULT_MODE, None, reps.missing) == "unmapped: None"


def test_with_the_logged_in_option_the_user_who_started_it_acts_else_the_documents_rep(reps):
    assert _member(LOGGED_IN_MODE, reps.actor.id, reps.doc_rep.id) == 102
    # A user who no longer exists: the document's rep (unmapped here), never the store's default.
    assert _member(LOGGED_IN_MODE, reps.missing, reps.doc_rep.id) == f"unmapped: {reps.doc_rep.email}"
    assert _member(LOGGED_IN_MODE, reps.missing, reps.missing) == "unmapped: None"
    # No one signed in (a schedule) and no rep on the document: the store's default rep.
    assert _member(LOGGED_IN_MODE, None, None) == 101
    assert _member(LOGGED_IN_MODE, reps.missing, None) == 101


def test_a_mapping_without_a_member_is_unmapped(reps):
    mapping = db.session.execute(select(RepMapping).where(RepMapping.user_id == reps.default.id)).scalar_one()
    mapping.member_id = None
    db.session.commit()
    assert _member(DEFAULT_MODE, None, None) == f"unmapped: {reps.default.email}"
