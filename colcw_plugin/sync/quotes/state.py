"""A document's export state: its fingerprint, "changed since export", and what its page shows.

The fingerprint covers what the export sends (customer, contact, opportunity name field,
follow-up date, document type and every line), computed from the host's plain snapshot so
the ``quote_saved`` hook and the export compute it the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased

from host_stub.models import Document, DocumentLine

from ...cw.errors import NetworkError, RateLimited, ServerError
from ...models import (
    ACTIVE_RUN_STATUSES,
    DocumentDrift,
    DocumentExport,
    Link,
    LiveSettings,
    Settings,
    SyncItem,
    SyncRun,
    get_link,
)
from ...models import fingerprint as hash_fields
from ...setup.connection import is_configured, read_settings
from ..shared.product_drift import REOPENED, OpportunityNote, exported_as, opportunity_notes
from ..shared.screens import opportunity_url
from ..shared.won_rule import quotes_keeping_open
from .gone import GONE, opportunity_gone
from .won import stale_stays_open

LINE_KEYS = ("id", "position", "item_number", "manufacturer", "description", "category", "subcategory",
             "product_type")


def _num(value: Any) -> str:
    return f"{Decimal(str(value if value is not None else 0)):.2f}"


def opportunity_field_value(snapshot: dict, settings: Settings) -> str:
    values = snapshot.get("field_values") or {}
    fid = settings.opportunity_field_id
    return str(values.get(fid, values.get(str(fid), "")) or "").strip() if fid else ""


def document_fingerprint(snapshot: dict, settings: Settings) -> str:
    """A hash of what an export of this document sends (from ``host_stub.snapshots.document_snapshot``)."""
    lines = [{**{k: line.get(k) for k in LINE_KEYS}, "quantity": _num(line.get("quantity")),
              "cost": _num(line.get("cost")), "price": _num(line.get("price"))}
             for line in snapshot.get("lines") or []]
    follow_up = snapshot.get("follow_up_date")
    return hash_fields({
        "doc_type": snapshot.get("doc_type"), "customer_id": snapshot.get("customer_id"),
        "contact_id": snapshot.get("contact_id"),
        "follow_up": follow_up.isoformat() if isinstance(follow_up, dt.date) else follow_up,
        "opportunity_name": opportunity_field_value(snapshot, settings), "lines": lines,
    })


# The export state's status: never | exported | failed (permanently) | waiting (a transient failure: its
# run tries the document again; once that run is over without exporting it, the export failed).
ACTIVE = tuple(s.value for s in ACTIVE_RUN_STATUSES)


def export_failed(status: str | None, run_status: str | None) -> bool:
    """Whether a document's last export failed, from its state's status and its last run's status."""
    return status == "failed" or (status == "waiting" and run_status not in ACTIVE)


def export_failed_clause(status, run_status) -> ColumnElement[bool]:
    """:func:`export_failed` as SQL."""
    return or_(status == "failed", and_(status == "waiting", or_(run_status.is_(None), run_status.not_in(ACTIVE))))


def get_state(session: Session, document_id: int, *, fresh: bool = False) -> DocumentExport | None:
    """The document's export state; ``fresh``: as committed now, over what the session loaded of it before."""
    query = select(DocumentExport).where(DocumentExport.document_id == document_id)
    if fresh:
        query = query.execution_options(populate_existing=True)
    return session.execute(query).scalar_one_or_none()


def document_link(session: Session, doc) -> tuple[Link | None, bool]:
    """The opportunity link of a document (chosen, or made by its export), else of a sales order's
    quote; and whether it is the quote's. Exports go to this opportunity, whatever the name field says."""
    link = get_link(session, "document", doc.id)
    if link is None and doc.source_quote_id and not doc.is_quote:
        return get_link(session, "document", doc.source_quote_id), True
    return link, False


def note_saved(session: Session, snapshot: dict) -> bool:
    """After a save (the ``quote_saved`` hook): flag an exported document that no longer matches
    what was exported. Returns the new flag; commits. A converted quote is never changed since export: its sales
    order carries its lines to ConnectWise and the quote is not exported again (an edit of it changes nothing
    there)."""
    state = get_state(session, snapshot["id"])
    if state is None or state.exported_at is None or not state.fingerprint:
        return False
    converted = snapshot.get("doc_type") == "quote" and snapshot.get("status") == "converted"
    changed = not converted and document_fingerprint(snapshot, read_settings(session)) != state.fingerprint
    if changed != state.changed_since_export:
        state.changed_since_export = changed
        session.commit()
    return changed


@dataclass(frozen=True)
class PanelState:
    """What the document page's ConnectWise panel shows."""

    exported: bool
    locked: bool
    changed: bool
    failed: bool
    opportunity_id: int | None
    opportunity_name: str  # as ConnectWise names it (as live updates last read it)
    opportunity_url: str | None
    exported_at: dt.datetime | None
    exported_by: str
    name_now: str
    name_at_export: str
    message: str
    resolution: str
    via_quote: str  # the source quote's number when the order inherits its opportunity
    configured: bool = True  # the connection to ConnectWise is set up
    chosen: bool = False  # linked to an opportunity by id (the picker), not exported yet
    failed_lines: tuple[SyncItem, ...] = ()  # the lines at fault in the last, failed export
    drift: DocumentDrift | None = None  # its products changed in ConnectWise since the export (live updates)
    waiting: bool = False  # its export failed transiently and its run tries it again (not failed, yet)
    run_id: int | None = None  # the run of its last export
    run_status: str | None = None
    next_try_at: dt.datetime | None = None  # when that run, waiting, tries again
    open_feeders: int = 0  # quotes not converted yet that feed its opportunity (besides it and its own quote)
    live: bool = False  # live updates are on: a status ConnectWise has is shown (none shown: it is open)
    # A quote converted into a sales order: that order (id, number), which carries its lines to ConnectWise; the
    # quote offers no export, and the products it exported, now the order's, are not its changes (drift is None).
    order: tuple[int, str] | None = None
    converted: bool = False
    status: str = ""  # the export state's status (never | exported | failed | waiting)
    # Its opportunity renamed or reopened in ConnectWise, as live updates read it (shared/product_drift.py).
    cw_notes: tuple[OpportunityNote, ...] = ()
    # Its own link's opportunity was deleted in ConnectWise: what happened and what to do (gone.py), no link to it.
    gone: str = ""
    # The opportunity's name as its last export found it, when ConnectWise renamed it since ("" when not: the
    # export went to ``opportunity_name``): what "Exported … to opportunity" names (product_drift.EXPORTED_AS).
    exported_name: str = ""

    @property
    def cancelled_waiting(self) -> bool:
        """Its export waited to be tried again when an admin cancelled the run: not ConnectWise's failure alone."""
        return self.failed and self.status == "waiting" and self.run_status == "cancelled"

    @property
    def name_changed(self) -> bool:
        return self.exported and self.name_now != self.name_at_export

    @property
    def note(self) -> tuple[str, str]:
        """The last export's note as it held then, and the quotes its "stays open" note waited for when none of
        them is left unconverted now ("" while one is, or without such a note): that note is then told in the past."""
        if self.open_feeders:
            return self.message, ""
        return stale_stays_open(self.message)

    @property
    def waiting_cause(self) -> str:
        """Why its waiting export's last try failed, without the error's advice to try again (its run does)."""
        text = self.message
        for hint in (ServerError.default_hint, NetworkError.default_hint, RateLimited.default_hint):
            text = text.replace(f" {hint}", "")
        return text.strip().rstrip(".;")

    @property
    def lock_reason(self) -> str:
        """Why the document is locked when colcw did not export it (empty otherwise; and for a converted quote, whose
        panel says it stays locked: it is not exported again)."""
        if not self.locked or self.exported or self.converted:
            return ""
        return ("Locked, but colcw has no record of exporting it: the ConnectWise integration was reset after the "
                "export, or it was locked elsewhere. Unlock it to edit; export it again to link it.")


def _panel_statement():
    """The document panel's one statement (built once: its cache key is computed once, not per page view)."""
    own, quote, feeder, fed, order = aliased(Link), aliased(Link), aliased(Link), aliased(Document), aliased(Document)
    open_feeders = (select(func.count()).select_from(feeder).join(fed, fed.id == feeder.host_id)
                    .where(feeder.entity == "document", feeder.cw_id == own.cw_id, fed.doc_type == "quote",
                           fed.status != "converted", fed.id != Document.id,
                           fed.id != func.coalesce(Document.source_quote_id, 0))
                    .correlate(Document, own).scalar_subquery())
    live = select(LiveSettings.enabled).order_by(LiveSettings.id).limit(1).scalar_subquery()
    return (select(DocumentExport, own, quote, DocumentDrift, SyncRun.status, SyncRun.next_try_at, open_feeders,
                   live, order.id, order.number).select_from(Document)
            .outerjoin(DocumentExport, DocumentExport.document_id == Document.id)
            .outerjoin(SyncRun, SyncRun.id == DocumentExport.last_run_id)
            .outerjoin(own, and_(own.entity == "document", own.host_id == Document.id))
            .outerjoin(quote, and_(quote.entity == "document", quote.host_id == Document.source_quote_id))
            .outerjoin(DocumentDrift, DocumentDrift.document_id == Document.id)
            .outerjoin(order, and_(order.source_quote_id == Document.id, Document.doc_type == "quote",
                                   Document.status == "converted"))  # (a quote is converted once)
            .where(Document.id == bindparam("document_id", type_=Integer)))


_PANEL = _panel_statement()


def _panel_rows(session: Session, doc) -> tuple:
    """The document's export state, its link, its source quote's link, its drift, its last run's status and next
    try, the unconverted quotes feeding its opportunity besides it, whether live updates are on and, for a
    converted quote, its sales order's id and number, in one statement."""
    row = session.execute(_PANEL, {"document_id": doc.id}).first()
    return tuple(row) if row is not None else (None, None, None, None, None, None, 0, False, None, None)


def panel_state(session: Session, doc, settings: Settings, snapshot: dict) -> PanelState:
    """The panel of ``doc`` (a host Document), from colcw's state and links."""
    (state, link, quote_link, drift, run_status, next_try_at, open_feeders, live, order_id,
     order_number) = _panel_rows(session, doc)
    converted = doc.is_converted_quote
    if converted:
        drift = None  # kept from before the conversion: its order carries its lines now (inbound/opportunities.py)
    via_quote = ""
    opp_id = link.cw_id if link else (state.opportunity_id if state else None)
    opp_name = (state.opportunity_name if state else "") or (link.cw_identifier if link else "")
    if opp_id is None and doc.source_quote_id and quote_link:
        opp_id, opp_name = quote_link.cw_id, quote_link.cw_identifier
        via_quote = doc.source_quote.number if doc.source_quote else ""
    gone = opportunity_gone(opp_id, opp_name) if link is not None and link.status == GONE else ""
    url = (opportunity_url(settings.site_url, settings.company_id, opp_id)
           if opp_id and settings.site_url and not gone else None)
    name_now = opportunity_field_value(snapshot, settings)
    exported = bool(state and state.exported_at)
    failed = bool(state and export_failed(state.status, run_status))
    failed_lines: tuple[SyncItem, ...] = ()
    if failed and state.last_run_id:
        failed_lines = tuple(session.execute(
            select(SyncItem).where(SyncItem.run_id == state.last_run_id, SyncItem.entity == "line",
                                   SyncItem.action == "failed",  # this document's: a run exports several
                                   SyncItem.host_id.in_(select(DocumentLine.id).where(
                                       DocumentLine.document_id == doc.id))).order_by(SyncItem.id)).scalars())
    return PanelState(
        exported=exported, locked=bool(doc.locked), changed=bool(state and state.changed_since_export),
        failed=failed, opportunity_id=opp_id, opportunity_name=opp_name,
        opportunity_url=url, exported_at=state.exported_at if state else None,
        exported_by=state.exported_by if state else "", name_now=name_now,
        name_at_export=state.name_at_export if state else "", message=state.message if state else "",
        resolution=state.resolution if state else "", via_quote=via_quote, configured=is_configured(settings),
        chosen=bool(link is not None and not exported), failed_lines=failed_lines, drift=drift,
        waiting=bool(state and state.status == "waiting" and not failed),
        run_id=state.last_run_id if state else None, run_status=run_status, next_try_at=next_try_at,
        open_feeders=int(open_feeders or 0), live=bool(live),
        order=(order_id, order_number) if order_id is not None else None, converted=converted,
        status=state.status if state else "", gone=gone,
        exported_name=(exported_as(link.synced_values, state.exported_at) or ""
                       if link is not None and state is not None and link.cw_id == opp_id else ""),
        cw_notes=tuple(_cw_notes(session, doc, link, name_now,
                                 (order_id, order_number) if converted and order_id is not None else None)))


def _cw_notes(session: Session, doc, link: Link | None, name_now: str,
              order: tuple[int, str] | None = None) -> list[OpportunityNote]:
    """The renamed / reopened notes on the document's link, in words. A sales order's reopened note says what exporting
    it again does by won.py's rule: sets the opportunity Won, or leaves it open while another quote feeding it is not
    converted (those quotes are read only then). ``order``: a converted quote's sales order (id, number), which is
    exported in the quote's stead: its notes say what exporting that order does."""
    if link is None:
        return []
    waiting: list[str] = []
    if (order or not doc.is_quote) and REOPENED in ((link.synced_values or {}).get("notes") or {}):
        order_id, quote_id = (order[0], doc.id) if order else (doc.id, doc.source_quote_id)
        waiting = [q.number for q in quotes_keeping_open(session, link.cw_id, order_id, quote_id)]
    return opportunity_notes(link.synced_values, link.cw_id, doc.number, doc.is_quote, name_now, waiting,
                             order[1] if order else "")
