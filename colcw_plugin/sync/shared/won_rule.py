"""When a sales order's export sets its opportunity Won (user guide §5.4): unless another quote feeding the same
opportunity is not converted yet. The one rule, for the export (quotes/won.py), for what pages and run logs say an
export would do (a reopened opportunity's note: quotes/state.py, inbound/opportunities.py), and for which sales order's
export turned an opportunity Won, by colcw's records (:func:`won_by`: inbound/opportunities.py's labels, and a
converted quote's note on its sales order)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.models import Document

from ...models import DOCUMENT, DocumentExport, Link, find_by_cw


def open_quotes_feeding(session: Session, opportunity_id: int, exclude: set[int]) -> list[Document]:
    """The unconverted quotes (other than ``exclude``) exported to this opportunity."""
    ids = [link.host_id for link in find_by_cw(session, DOCUMENT, opportunity_id) if link.host_id not in exclude]
    if not ids:
        return []
    return list(session.execute(select(Document).where(Document.id.in_(ids), Document.doc_type == "quote",
                                                       Document.status != "converted").order_by(Document.number)
                                ).scalars())


def quotes_keeping_open(session: Session, opportunity_id: int, order_id: int, source_quote_id: int | None
                        ) -> list[Document]:
    """The quotes that keep a sales order's export from setting its opportunity Won: the unconverted quotes exported
    to it besides the order's own quote (none: the export sets it Won)."""
    return open_quotes_feeding(session, opportunity_id, {order_id, source_quote_id or 0})


def won_by(links: Iterable[Link], documents: dict, states: Iterable[DocumentExport]) -> dict[int, str]:
    """Opportunity id → the sales order whose export turned it Won, by colcw's records: of the sales orders exported
    to it, the last one, when no quote feeding it is left unconverted (the export of a sales order leaves the
    opportunity open while one is: :func:`quotes_keeping_open`). ``links``: documents' links to the opportunities;
    ``documents``: those documents by id (rows with id, number, doc_type, status); ``states``: their export states."""
    exported = {s.document_id: s.exported_at for s in states if s.exported_at}  # (kept after a later failure)
    orders: dict[int, list[tuple]] = defaultdict(list)
    waiting: set[int] = set()
    for link in links:
        doc = documents.get(link.host_id)
        if doc is None:
            continue
        if doc.doc_type == "quote" and doc.status != "converted":
            waiting.add(link.cw_id)
        elif doc.doc_type == "order" and doc.id in exported:
            orders[link.cw_id].append((exported[doc.id], doc.number))
    return {opp: max(made)[1] for opp, made in orders.items() if opp not in waiting}


def won_by_order(session: Session, opportunity_id: int) -> str | None:
    """:func:`won_by` for one opportunity: the number of the sales order whose export turned it Won, None when none
    did."""
    links = find_by_cw(session, DOCUMENT, opportunity_id)
    ids = [link.host_id for link in links]
    if not ids:
        return None
    documents = {d.id: d for d in session.execute(select(Document.id, Document.number, Document.doc_type,
                                                         Document.status).where(Document.id.in_(ids)))}
    states = session.execute(select(DocumentExport).where(DocumentExport.document_id.in_(ids))).scalars()
    return won_by(links, documents, states).get(opportunity_id)
