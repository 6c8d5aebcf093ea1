"""What an export writes to colcw's own rows, by statements built once and reused (issue 14): each write
keeps its own values, whatever another write of the same statement sent before it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from colcw_plugin.models import DOCUMENT, DocumentExport, Link
from colcw_plugin.sync.quotes.bookkeeping import save_link, save_state
from host_stub.gateway import UnitOfWork


def _documents(session, n: int) -> list[int]:
    uow = UnitOfWork(session)
    customer = uow.save_customer({"account_number": "BK1", "name": "Books"}, [{"first_name": "Al"}])
    ids = [uow.save_document({"customer_id": customer.id}, [{"item_number": "A-1", "price": 5}]).id for _ in range(n)]
    uow.commit()
    return ids


def check_state_and_link_writes(session) -> None:
    first, second = _documents(session, 2)
    at = dt.datetime(2026, 12, 1, 10, 30)
    save_state(session, first, opportunity_id=7, opportunity_name="Seven", created_opportunity=True)
    save_state(session, second, opportunity_id=8, opportunity_name="Eight", created_opportunity=False)
    save_state(session, first, status="exported", exported_at=at, hand_products=[11, 12], message="one")
    save_state(session, second, status="failed", hand_products=[], message="two")
    session.commit()
    rows = {r.document_id: r for r in session.execute(select(DocumentExport)).scalars()}
    assert (rows[first].opportunity_id, rows[first].opportunity_name, rows[first].created_opportunity,
            rows[first].status, rows[first].exported_at, rows[first].hand_products, rows[first].message) == (
        7, "Seven", True, "exported", at, [11, 12], "one")
    assert (rows[second].opportunity_id, rows[second].created_opportunity, rows[second].status,
            rows[second].exported_at, rows[second].hand_products) == (8, False, "failed", None, [])

    save_link(session, first, 70, "Seven", "f1")
    save_link(session, second, 80, "Eight", "f2")
    session.commit()
    session.execute(update(Link).where(Link.host_id.in_([first, second])).values(
        synced_values={"agreed": 1}, linked_at=dt.datetime(2026, 1, 1)))
    session.commit()
    save_link(session, first, 70, "Seven (renamed)", "f3")  # the same opportunity: still linked since then
    save_link(session, second, 81, "Eighty-one", "f4")  # repointed: linked anew, agreed values forgotten
    session.commit()
    session.expire_all()
    links = {r.host_id: r for r in session.execute(select(Link).where(Link.entity == DOCUMENT)).scalars()}
    assert (links[first].cw_id, links[first].cw_identifier, links[first].fingerprint, links[first].synced_values,
            links[first].linked_at) == (70, "Seven (renamed)", "f3", {"agreed": 1}, dt.datetime(2026, 1, 1))
    assert (links[second].cw_id, links[second].cw_identifier, links[second].fingerprint,
            links[second].synced_values) == (81, "Eighty-one", "f4", None)
    assert links[second].linked_at > dt.datetime(2026, 1, 1)


def test_state_and_link_writes_keep_their_own_values(session):
    check_state_and_link_writes(session)
