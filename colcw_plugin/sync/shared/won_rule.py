"""When a sales order's export sets its opportunity Won (user guide §5.4): unless another quote feeding the same
opportunity is not converted yet. The one rule, for the export (quotes/won.py) and for what pages and run logs say an
export would do (a reopened opportunity's note: quotes/state.py, inbound/opportunities.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.models import Document

from ...models import DOCUMENT, find_by_cw


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
