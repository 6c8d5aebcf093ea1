"""Links read by ConnectWise id (link_batch.by_cw, what an import reads for each page): ids close together are read
as their range, which PostgreSQL reads as one range of the index (issue 14: a first import's look-ups took half the
time or less), and that reading answers the same links as asking for each id: not those of other ids in the range,
nor another kind's, the first link of an id when two point at it, on PostgreSQL and SQLite alike."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from colcw_plugin.models import CONTACT, CUSTOMER, Link
from colcw_plugin.sync.customers import link_batch
from colcw_plugin.sync.customers.link_batch import by_cw


def _asked_one_by_one(session, entity, ids):
    out = {}
    for cw_id in ids:
        first = session.execute(select(Link).where(Link.entity == entity, Link.cw_id == cw_id)
                                .order_by(Link.id).limit(1)).scalar()
        if first is not None:
            out[cw_id] = (first.id, first.host_id, first.cw_identifier, first.fingerprint, first.synced_values)
    return out


@contextmanager
def _statements(session):
    """The statements sent meanwhile (the engine outlives the test: its listener is removed after)."""
    seen: list[str] = []

    def note(*args):
        seen.append(args[2])

    event.listen(session.get_bind(), "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", note)


@pytest.mark.parametrize("ids, ranged", [
    (list(range(100, 140)), True),  # a page of companies: every id of a span
    ([100, 101, 103, 105, 106, 109], True),  # gaps: a span less than twice their number
    ([100, 104, 107, 111, 130, 139], False),  # a span more than twice their number
    ([109, 100, 104, 104, 101], True),  # out of order, one asked twice
    ([100, 139], False),  # far apart: asked for as a list (a range would hold many others)
    ([5, 120, 9_999], False),
    ([500, 501], True),  # none linked
])
def test_the_links_of_ids_close_together_are_those_asked_for_each(any_app, ids, ranged):
    from host_stub.extensions import db

    session = db.session
    for n in range(95, 145):
        if n % 3:  # some ids of the span linked, some not
            session.add(Link(entity=CUSTOMER, host_id=n, cw_id=n, cw_identifier=f"C{n}", fingerprint=f"f{n}",
                             synced_values={"name": f"Company {n}"}))
        session.add(Link(entity=CONTACT, host_id=1_000 + n, cw_id=n, cw_identifier="", fingerprint=f"k{n}"))
    # Two links to one company (a second customer linked to it): the first one is the company's.
    session.add(Link(entity=CUSTOMER, host_id=5_000, cw_id=100, cw_identifier="second"))
    session.add(Link(entity=CUSTOMER, host_id=5_001, cw_id=9_999, cw_identifier="far"))
    session.commit()

    for entity in (CUSTOMER, CONTACT):
        with _statements(session) as statements:
            found = by_cw(session, entity, ids)
        asked = [s for s in statements if "colcw_links" in s]
        assert len(asked) == 1 and ("BETWEEN" in asked[0]) == ranged, asked
        assert {k: (r.id, r.host_id, r.cw_identifier, r.fingerprint, r.synced_values) for k, r in found.items()} \
            == _asked_one_by_one(session, entity, dict.fromkeys(ids))
        assert all(r.entity == entity and r.cw_id == k for k, r in found.items())
    if ranged:
        assert by_cw(session, CUSTOMER, ids).keys() <= set(ids)
    session.rollback()


def test_no_ids_no_statement(any_app):
    from host_stub.extensions import db

    with _statements(db.session) as statements:
        assert by_cw(db.session, CUSTOMER, []) == {}
    assert not statements
    assert link_batch.DENSE_SPAN >= 1
