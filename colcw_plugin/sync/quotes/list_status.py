"""Each quote's and sales order's ConnectWise state for the Quotes and Sales Orders lists: one query
for a page of rows, and the same rule as a SQL clause for the filter.

From the document's export state (``colcw_document_exports``): **failed** when its last export
failed (a transient failure only once its run is over without exporting it), **changed** when it was edited after its export, **synced** when exported, **not exported**
otherwise (a document linked to an opportunity but never exported included). A document whose own link's
opportunity was deleted in ConnectWise (live updates or the deletion check marked the link ``missing_in_cw``) is
**failed**, as "Opportunity deleted in ConnectWise" (:mod:`.gone`, which the document's panel says too),
never "Exported": its next export adds the lines to the customer's opportunity named as the document's opportunity
name, or creates it (export.py).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from host_stub.models import Document

from ...models import DocumentExport, Link, RecordState, RowState, SyncRun
from .gone import GONE, GONE_LABEL, opportunity_gone
from .state import export_failed_clause

LABELS = {RecordState.NOT_LINKED: "Not exported", RecordState.SYNCED: "Exported",
          RecordState.CHANGED: "Changed since export", RecordState.FAILED: "Failed"}


def _state(status, exported_at, changed, run_status, link_status) -> ColumnElement[str]:
    return RecordState.case(or_(export_failed_clause(status, run_status), link_status == GONE),
                            exported_at.is_(None), changed.is_(True))


def state_filter(value: str) -> ColumnElement[bool] | None:
    """The clause selecting documents in state ``value`` (None for an unknown value: no filter)."""
    state = RecordState.parse(value)
    if state is None:
        return None

    def col(c):
        return select(c).where(DocumentExport.document_id == Document.id).correlate(Document).scalar_subquery()

    link_status = (select(Link.status).where(Link.entity == "document", Link.host_id == Document.id)
                   .correlate(Document).scalar_subquery())
    run_status = (select(SyncRun.status).join_from(DocumentExport, SyncRun, SyncRun.id == DocumentExport.last_run_id)
                  .where(DocumentExport.document_id == Document.id).correlate(Document).scalar_subquery())
    return _state(col(DocumentExport.status), col(DocumentExport.exported_at),
                  col(DocumentExport.changed_since_export), run_status, link_status) == state.value


# Built once (the lists run it on every view; its cache key is computed once).
_ROW_STATES = select(DocumentExport.document_id, DocumentExport.opportunity_id, DocumentExport.opportunity_name,
                     DocumentExport.message, DocumentExport.resolution, Link.status,
                     _state(DocumentExport.status, DocumentExport.exported_at, DocumentExport.changed_since_export,
                            SyncRun.status, Link.status)
                     ).outerjoin(SyncRun, SyncRun.id == DocumentExport.last_run_id
                                 ).outerjoin(Link, and_(Link.entity == "document",
                                                        Link.host_id == DocumentExport.document_id)
                                             ).where(DocumentExport.document_id.in_(bindparam("ids", expanding=True)))


def row_states(session: Session, document_ids: list[int]) -> dict[int, RowState]:
    """The state of each document in ``document_ids``, in one query (documents never exported have no row)."""
    if not document_ids:
        return {}
    stmt, params = _ROW_STATES, {"ids": list(document_ids)}
    out = {doc_id: RowState(RecordState.NOT_LINKED, LABELS[RecordState.NOT_LINKED], "Not exported to ConnectWise yet.")
           for doc_id in document_ids}
    for doc_id, opp_id, opp_name, message, resolution, link_status, value in session.execute(stmt, params):
        state = RecordState(value)
        if link_status == GONE:
            out[doc_id] = RowState(state, GONE_LABEL, opportunity_gone(opp_id, opp_name))
            continue
        opportunity = f"opportunity {opp_id} “{opp_name}”" if opp_id else "an opportunity"
        reason = {RecordState.FAILED: " ".join(p for p in (message, resolution) if p) or "The last export failed.",
                  RecordState.NOT_LINKED: (f"Linked to {opportunity}; not exported yet." if opp_id
                                           else "Not exported to ConnectWise yet."),
                  RecordState.CHANGED: f"Edited since it was exported to {opportunity}: export it again.",
                  RecordState.SYNCED: f"Exported to {opportunity}."}[state]
        out[doc_id] = RowState(state, LABELS[state], reason)
    return out
