"""member_for (a run's export) and member_of (the checklist) apply one rule for which rep's member an export may act
as, and member_for sees what the session has pending, as who_acts does: a mapping saved and not yet committed (a page
that saves then runs the pre-flight check in the same session) is the one used."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from colcw_plugin.models import RepMapping
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.setup.reps import UnmappedRep, member_for, member_of, who_acts
from host_stub.extensions import db
from host_stub.models import StoreSite

pytestmark = pytest.mark.postgres

DEFAULT_MODE = SimpleNamespace(use_logged_in_rep=False)


@pytest.fixture()
def mapping(app):
    store = db.session.execute(select(StoreSite)).scalar_one()
    row = RepMapping(user_id=store.default_rep_id, member_id=101, member_identifier="m1", location_id=7,
                     department_id=8)
    db.session.add(row)
    db.session.commit()
    return row


def test_a_pending_mapping_change_is_the_one_used(mapping):
    assert member_for(db.session, DEFAULT_MODE, None).member_id == 101
    mapping.member_id, mapping.location_id = 202, 9  # saved in the session, not committed
    got = member_for(db.session, DEFAULT_MODE, None)
    assert (got.member_id, got.location_id, got.department_id) == (202, 9, 8)
    mapping.member_id = None  # pending: no member any more
    with pytest.raises(UnmappedRep) as refused:
        member_for(db.session, DEFAULT_MODE, None)
    assert "saved without checking it in ConnectWise" in refused.value.reason
    db.session.rollback()
    assert member_for(db.session, DEFAULT_MODE, None).member_id == 101


def test_a_rep_mapped_to_colcws_own_member_is_refused_by_member_for_as_by_member_of(mapping):
    mapping.member_identifier = "APIMember"
    get_live(db.session).own_member = "apimember"  # ConnectWise's case may differ
    db.session.commit()
    with pytest.raises(UnmappedRep) as by_checklist:
        member_of(who_acts(db.session, DEFAULT_MODE, None))
    with pytest.raises(UnmappedRep) as by_export:
        member_for(db.session, DEFAULT_MODE, None)
    assert "colcw's own API member" in by_export.value.reason
    assert (by_export.value.reason, by_export.value.resolution) == (by_checklist.value.reason,
                                                                    by_checklist.value.resolution)
    get_live(db.session).own_member = "someone-else"  # pending, not committed: seen too
    assert member_for(db.session, DEFAULT_MODE, None).member_id == 101


def test_a_refusal_member_of_makes_member_for_makes_too(mapping, monkeypatch):
    """One rule: a refusal added to it holds for both (here: every member refused as colcw's own)."""
    from colcw_plugin.setup import reps
    monkeypatch.setattr(reps, "api_member_kind", lambda member, lookups, own: "own")
    with pytest.raises(UnmappedRep) as by_checklist:
        member_of(who_acts(db.session, DEFAULT_MODE, None))
    with pytest.raises(UnmappedRep) as by_export:
        member_for(db.session, DEFAULT_MODE, None)
    assert by_export.value.reason == by_checklist.value.reason
