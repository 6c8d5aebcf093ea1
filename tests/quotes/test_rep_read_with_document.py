"""A run's first document is read with the candidates for its acting sales rep (setup.reps.members_read_with: one
statement less for a rep's export of one document): the member picked among them is the one member_for picks, by
the same rule, refusals included; a later document of another rep asks member_for as before."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from quote_support import line
from sqlalchemy import select

from colcw_plugin.models import LiveSettings, RepMapping
from colcw_plugin.setup.connection import get_settings
from colcw_plugin.setup.reps import UnmappedRep, member_among, member_for, members_params
from colcw_plugin.sync.quotes.held import load_document
from helpers import recorded_statements, tune_runtime
from host_stub import services
from host_stub.extensions import db
from host_stub.models import StoreSite, User

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

DEFAULT_MODE = SimpleNamespace(use_logged_in_rep=False)
LOGGED_IN_MODE = SimpleNamespace(use_logged_in_rep=True)


def _user(email: str) -> User:
    return db.session.execute(select(User).where(User.email == email)).scalar_one()


def _quote(world, rep_email: str | None, name: str) -> int:
    rep_id = _user(rep_email).id if rep_email else None
    doc = services.save_document({"customer_id": world.customer_id, "contact_id": world.contact_id,
                                  "sales_rep_id": rep_id}, [line("OPT-7010")], custom_fields={world.field_id: name})
    db.session.commit()
    return doc.id


def _outcome(pick):
    try:
        return pick()
    except UnmappedRep as e:
        return ("refused", str(e), e.resolution, e.rep.email if e.rep else None)


def _both(doc_id: int, settings, actor_email: str | None):
    """What member_for picks for the document, and what is picked among the candidates read with it."""
    actor = {"id": _user(actor_email).id} if actor_email else None
    db.session.expire_all()
    with recorded_statements(db.engine) as seen:
        held = load_document(db.session, doc_id, members=members_params(settings, actor))
    assert len(seen) == 2, seen  # (the planner setting and the document: the candidates cost no statement)
    with recorded_statements(db.engine) as seen:
        among = _outcome(lambda: member_among(held.members, settings, actor, held.sales_rep_id))
    assert seen == []
    return _outcome(lambda: member_for(db.session, settings, actor, held.sales_rep_id)), among


def test_the_member_picked_with_the_document_is_the_one_member_for_picks(world):
    riley = _user("riley@demo.example")
    db.session.add(RepMapping(user_id=riley.id, member_id=777, member_identifier="rrep", location_id=3,
                              department_id=4))
    db.session.add(RepMapping(user_id=_user("sam@demo.example").id, member_identifier="ssales"))  # not verified
    db.session.commit()
    docs = {rep: _quote(world, rep, f"Deal of {rep}") for rep in
            ("riley@demo.example", "sam@demo.example", "admin@demo.example", None)}
    cases = [(mode, actor, doc) for mode in (DEFAULT_MODE, LOGGED_IN_MODE)
             for actor in ("riley@demo.example", "admin@demo.example", None) for doc in docs]
    outcomes = set()
    for mode, actor, doc in cases:
        expected, got = _both(docs[doc], mode, actor)
        assert got == expected, (mode, actor, doc)
        outcomes.add(expected if isinstance(expected, tuple) else expected.member_id)
    assert {world.member_id, 777} <= outcomes  # the store's default rep's member, and Riley's
    assert {o[3] for o in outcomes if isinstance(o, tuple)} == {"sam@demo.example", "admin@demo.example"}

    # Without a store default rep; and with the store default's member taken for colcw's own.
    store = db.session.execute(select(StoreSite)).scalar_one()
    default_rep = store.default_rep_id
    store.default_rep_id = None
    db.session.commit()
    nobody = []
    for actor in ("riley@demo.example", None):
        for doc in docs:
            expected, got = _both(docs[doc], DEFAULT_MODE, actor)
            assert got == expected, (actor, doc)
            nobody += [expected] if isinstance(expected, tuple) and expected[3] is None else []
    assert nobody and all("No sales rep is not mapped" in o[1] for o in nobody), nobody
    store.default_rep_id = default_rep
    mapping = db.session.execute(select(RepMapping).where(RepMapping.user_id == default_rep)).scalar_one()
    db.session.add(LiveSettings(own_member=mapping.member_identifier))
    db.session.commit()
    expected, got = _both(docs[None], DEFAULT_MODE, None)
    assert got == expected and "colcw's own API member" in expected[1], expected


def test_a_run_takes_its_first_documents_rep_from_its_read_and_asks_for_another_reps_apart(world, app, monkeypatch):
    """With the logged-in option and nobody signed in (a schedule), each document's own rep acts: the first
    document's member comes from the candidates read with it, the second's (another rep) from member_for."""
    tune_runtime(monkeypatch, app, concurrency=1)
    members = world.api("system/members")
    first, second = members[0], members[1]
    for email, member in (("riley@demo.example", first), ("sam@demo.example", second)):
        db.session.add(RepMapping(user_id=_user(email).id, member_id=member["id"],
                                  member_identifier=member["identifier"], location_id=member["defaultLocation"]["id"],
                                  department_id=member["defaultDepartment"]["id"]))
    get_settings(db.session).use_logged_in_rep = True
    db.session.commit()
    riley_doc, sam_doc = _quote(world, "riley@demo.example", "Riley deal"), _quote(world, "sam@demo.example", "Sam deal")
    with recorded_statements(db.engine) as seen:
        run = world.export({"document_ids": [riley_doc, sam_doc]})
    assert run.status == "succeeded", run.message
    by_name = {o["name"]: o["primarySalesRep"]["id"] for o in world.opportunities()}
    assert by_name == {"Riley deal": first["id"], "Sam deal": second["id"]}
    reads = [s for s in seen if "colcw_rep_mappings" in s]
    assert len(reads) == 2 and "FROM documents" in reads[0] and not reads[1].startswith("SELECT documents"), reads
