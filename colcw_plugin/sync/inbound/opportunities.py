"""Opportunities changed in ConnectWise: their status on the linked documents, and their products.

* **Status**, by ConnectWise's flags (never names): won, lost or closed shows on every document
  linked to the opportunity, through the host's external status ("Won in ConnectWise on 2026-05-04
  by Sam Admin"); open again clears it. When colcw itself turned it Won (a quote converted into a
  sales order), ConnectWise names colcw's API member as the closer: that is no person, so the label
  says colcw did it, for which sales order ("… by colcw for sales order SO1002"). A close by that member
  with no conversion of colcw's behind it is someone else's using colcw's keys (a script, a person): the
  label names "the API member <name> (colcw's keys)" (shared/closers.py). colcw learns its
  member when it registers its callbacks, as the member ConnectWise names as having last changed one
  it just wrote (setup/callbacks.py), and forgets it when the connection's login changes; while it does
  not know it (no callbacks registered since, or ConnectWise did not say), its own records decide: a sales
  order it exported to the opportunity, with no quote feeding it left unconverted (else the export left it
  open, and a person won it). colcw closes only as Won: when a person then moves it to Lost (or another
  closed status), the label names that person, on that day, even where ConnectWise keeps colcw's close (closedBy, closedDate) on the record.
  A person's close alike: whether ConnectWise stamps a new close when the status moves from one closed
  status to another or keeps the first is not public (the sandbox's ``reclose``). colcw keeps, on each
  document's link, the close it last read (``synced_values["close"]``: status, closedBy, closedDate); a
  close that moved to another status with the same closedBy and closedDate is the earlier one, kept, and
  the label names who changed it last, on that day. Without that (colcw never read it before), a close
  ConnectWise names someone other than the member who changed the opportunity last may be either: the
  label then names nobody and no day, rather than name the wrong person.
* **Products**: the lines a document exported are compared with what the opportunity holds now
  (quantity, price, cost, description; a line removed; a line added by hand since the export).
  The document is never rewritten: the differences are kept (``colcw_document_drift``) for its
  page ("changed in ConnectWise since export") and its export page (what the next export will
  overwrite). colcw's own export compares equal, so it never shows as a change. A quote converted
  into a sales order is not compared: its order carries its lines (it adopted the quote's products),
  so the order's own re-exports would read as changes made in ConnectWise to a quote that cannot be
  exported again; what was kept for it before the conversion is dropped, without a note.
* **Renamed / reopened**: an opportunity renamed in ConnectWise, or set open again there after it was won, lost or
  closed, is a note on each linked document's page (kept on its link, ``synced_values["notes"]``:
  :func:`~..shared.product_drift.opportunity_notes`), with who changed it and on which day as ConnectWise says: the
  member named as the Won/Lost label names a closer (its name in ConnectWise), but never "colcw": colcw never renames or
  reopens an opportunity, so a change made with its keys names "the API member <name> (colcw's keys)". The run
  log's line for it says the same, and what to do (a sales order's export sets it Won only by quotes/won.py's rule).
  The document is not rewritten: its opportunity-name field keeps the name it was exported with (it named the
  opportunity only to find or create it; the document stays linked by id), and a later export leaves
  ConnectWise's name as it is. A rename back to the name the note started from ends it; so does a close.
* **Deleted**: the document's link is marked broken and its page says what to do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.models import Document, DocumentExternalStatus, utcnow

from ...models import DOCUMENT, DocumentDrift, DocumentExport, DocumentLineExport, Link, Settings
from ..shared.closers import VERBS, MemberNames, close_read, closer, member_name
from ..shared.product_drift import (
    RENAMED,
    REOPENED,
    describe_change,
    product_changes,
    reopened_advice,
    reopened_words,
)
from ..shared.screens import opportunity_url
from ..shared.statuses import CLOSED, OPEN, find_status, status_kind
from ..shared.won_rule import quotes_keeping_open, won_by
from . import SOURCE
from .customers import Break
from .reading import Found


def external_status(record: dict, statuses: list[dict], settings: Settings, own_member: str,
                    order: str | None = None, seen: dict | None = None,
                    member_name: Callable[[str], str] | None = None) -> dict | None:
    """The host external status an opportunity gives its documents (None while it is open). ``order``: the number
    of the sales order whose export turned it Won (see :meth:`OpportunityPlanner.won_by`), None when none did;
    ``seen``: its close as colcw last read it, None when it never did; ``member_name``: see :func:`~..shared.closers.closer`."""
    status = find_status(statuses, record.get("status"))
    kind = status_kind(status)
    if kind == OPEN:
        return None
    name = (status or record.get("status") or {}).get("name") or VERBS[kind]
    who, when = closer(record, kind, own_member, order, seen, member_name)
    label = f"{VERBS[kind]} in ConnectWise" + (f" on {when}" if when else "") + f" by {who}"
    if kind == CLOSED or name.casefold() != VERBS[kind].casefold():
        label += f": {name}"
    url = opportunity_url(settings.site_url, settings.company_id, record["id"]) if settings.site_url else ""
    return {"status": kind, "label": label[:200], "detail": f"Opportunity {record['id']} “{record.get('name', '')}”",
            "url": url}


@dataclass
class DocumentPlan:
    """What comes back for one document linked to a changed opportunity."""

    document_id: int
    number: str
    link: Link
    opportunity_id: int
    status: dict | None = None
    status_changed: bool = False
    drift: list[dict] | None = None
    drift_changed: bool = False
    restore: bool = False
    outcome: dict | None = None
    brk: Break | None = None
    close: dict | None = None  # the close read now, to keep on the link when it changed (close_read)
    renamed: str | None = None  # the opportunity's name in ConnectWise, when it is not the one colcw knew
    notes: dict | None = None  # the page's renamed / reopened notes to keep on the link, when they changed


class OpportunityPlanner:
    """Plans what the opportunities in ``found`` mean for their documents (writes nothing)."""

    def __init__(self, session: Session, found: Found, statuses: list[dict], settings: Settings, own_member: str,
                 names: MemberNames | None = None):
        self.session, self.found, self.statuses = session, found, statuses
        self.settings, self.own_member = settings, own_member
        self._names, self._named = names, {}  # (:func:`~..shared.closers.member_names`, read when a note first needs a name)

    def who(self, identifier: str, record: dict) -> str:
        """A member who changed an opportunity, named as the Won/Lost label names a closer
        (:func:`~..shared.closers.member_name`; a member's record is read once per planner)."""
        return member_name(identifier, record, self.own_member, self._member)

    def _member(self, identifier: str) -> str:
        if identifier not in self._named and self._names is not None:
            self._named.update({identifier: "", **self._names({identifier})})
        return self._named.get(identifier, "")

    def plan(self) -> list[DocumentPlan]:
        ids = sorted(self.found.asked["opportunity"])
        if not ids:
            return []
        links = list(self.session.execute(select(Link).where(Link.entity == DOCUMENT, Link.cw_id.in_(ids))
                                          .order_by(Link.id)).scalars())
        doc_ids = [ln.host_id for ln in links]
        if not doc_ids:
            return []
        documents = {d.id: d for d in self.session.execute(select(
            Document.id, Document.number, Document.doc_type, Document.status, Document.source_quote_id)
            .where(Document.id.in_(doc_ids)))}
        numbers = {i: d.number for i, d in documents.items()}
        exports: dict[int, list[DocumentLineExport]] = defaultdict(list)
        for le in self.session.execute(select(DocumentLineExport).where(DocumentLineExport.document_id.in_(doc_ids))
                                       ).scalars():
            exports[le.document_id].append(le)
        states = list(self.session.execute(select(DocumentExport).where(DocumentExport.document_id.in_(doc_ids)))
                      .scalars())
        hand = {s.document_id: set(s.hand_products or []) for s in states}
        known_names = {s.document_id: s.opportunity_name for s in states if s.opportunity_id}
        won_by = self.won_by(links, documents, states)
        current = {x.document_id: x for x in self.session.execute(select(DocumentExternalStatus).where(
            DocumentExternalStatus.document_id.in_(doc_ids), DocumentExternalStatus.source == SOURCE)).scalars()}
        drifts = {d.document_id: d for d in self.session.execute(
            select(DocumentDrift).where(DocumentDrift.document_id.in_(doc_ids))).scalars()}
        plans = []
        for link in links:
            if link.host_id not in numbers:
                continue  # the document was deleted in the host
            doc = documents[link.host_id]
            plans.append(self._document(link, numbers[link.host_id], exports.get(link.host_id, []),
                                        hand.get(link.host_id, set()), current.get(link.host_id),
                                        drifts.get(link.host_id), won_by.get(link.cw_id),
                                        converted=doc.doc_type == "quote" and doc.status == "converted",
                                        known_name=known_names.get(link.host_id), doc=doc))
        return plans

    @staticmethod
    def won_by(links: list[Link], documents: dict, states: list[DocumentExport]) -> dict[int, str]:
        """Opportunity id → the sales order whose export turned it Won (:func:`~..shared.won_rule.won_by`)."""
        return won_by(links, documents, states)

    def _document(self, link: Link, number: str, exports: list[DocumentLineExport], hand: set[int],
                  current: DocumentExternalStatus | None, drift: DocumentDrift | None,
                  won_by: str | None, *, converted: bool = False, known_name: str | None = None,
                  doc=None) -> DocumentPlan:
        """``converted``: a quote converted into a sales order, whose lines its order carries (not compared);
        ``known_name``: the opportunity's name as colcw last knew it (its document's export state), None without;
        ``doc``: the document's row (id, number, doc_type, status, source_quote_id)."""
        plan = DocumentPlan(link.host_id, number, link, link.cw_id)
        record = self.found.opportunities.get(link.cw_id)
        if record is None:
            if link.status != "missing_in_cw":
                plan.brk = Break(link, number, f"{number}: its opportunity {link.cw_id} was deleted in ConnectWise; the "
                                 "link was marked broken.", "Export the document again to add its lines to a new "
                                 "opportunity (or to the customer's opportunity of the same name).")
            return plan
        plan.restore = link.status == "missing_in_cw"
        seen = (link.synced_values or {}).get("close")
        plan.status = external_status(record, self.statuses, self.settings, self.own_member, won_by, seen,
                                      lambda ident: self.who(ident, record))
        if seen is None and plan.status and current is not None and current.status == plan.status["status"]:
            # Shown before colcw kept what it read (an earlier version): the label stands as it was written then.
            plan.status["label"] = current.label
        read_now = close_read(record)
        plan.close = read_now if read_now != seen else None
        was = (current.status, current.label) if current is not None else None
        plan.status_changed = was != ((plan.status["status"], plan.status["label"]) if plan.status else None)
        if converted:
            plan.drift_changed = drift is not None  # kept from before the conversion: dropped, not a change
        elif exports or hand:
            changes = product_changes(exports, self.found.products.get(link.cw_id, []), hand)
            plan.drift = changes or None
            plan.drift_changed = (drift.changes if drift else None) != plan.drift
        name_now = str(record.get("name") or "")[:100]
        if known_name is not None and name_now and name_now != known_name:
            plan.renamed = name_now
        plan.notes = self._notes(link, record, plan, current, known_name, name_now)
        notes = []
        if plan.renamed is not None and known_name:  # (a name colcw never knew is only taken)
            notes.append(f"its opportunity {link.cw_id} was renamed in ConnectWise from “{known_name}” to “{name_now}”")
        resolution = ""
        reopened = (plan.notes or {}).get(REOPENED)
        if plan.status_changed and plan.status:
            notes.append(plan.status["label"])
        elif plan.status_changed and reopened:  # said as the document's page says it, what to do included
            notes.append(reopened_words(reopened, link.cw_id).rstrip("."))
            is_quote = doc is None or doc.doc_type == "quote"
            # A converted quote is not exported again: its sales order is, so what to do is the order's.
            order = self.session.execute(select(Document.id, Document.number).where(
                Document.source_quote_id == doc.id)).first() if converted and doc is not None else None
            waiting = [] if is_quote and not order else [q.number for q in quotes_keeping_open(
                self.session, link.cw_id, *((order.id, doc.id) if order else (doc.id, doc.source_quote_id)))]
            resolution = reopened_advice(reopened, number, is_quote, waiting, order.number if order else "")
        elif plan.status_changed:
            notes.append("open again in ConnectWise")
        if plan.drift_changed and not converted:
            notes.append(f"{len(plan.drift)} change{'s' if len(plan.drift) != 1 else ''} in ConnectWise since export: "
                         + "; ".join(describe_change(c) for c in plan.drift) if plan.drift
                         else "its products match the export again")
        action = "updated" if notes else "unchanged"
        plan.outcome = {"entity": DOCUMENT, "action": action, "host_id": link.host_id, "cw_id": link.cw_id,
                        "label": number, "message": f"{number}: " + ("; ".join(notes) if notes else
                                                                     f"opportunity {link.cw_id} unchanged") + ".",
                        "resolution": resolution}
        return plan

    def _notes(self, link: Link, record: dict, plan: DocumentPlan, current: DocumentExternalStatus | None,
               known_name: str | None, name_now: str) -> dict | None:
        """The link's renamed / reopened notes after this reading (see the module doc), None when they stay as they
        are. Who and when are ConnectWise's: the member who changed it last, on that day."""
        kept = dict((link.synced_values or {}).get("notes") or {})
        notes = dict(kept)
        info = record.get("_info") or {}
        stamp = {"by": self.who(str(info.get("updatedBy") or ""), record), "on": str(info.get("lastUpdated") or "")[:10],
                 "seen": utcnow().isoformat(timespec="seconds")}
        if plan.renamed is not None and known_name:
            first = (kept.get(RENAMED) or {}).get("from") or known_name  # the name the note started from
            if name_now == first:
                notes.pop(RENAMED, None)  # renamed back: nothing changed any more
            else:
                notes[RENAMED] = {"from": first, "to": name_now, **stamp}
        if plan.status is not None:
            notes.pop(REOPENED, None)  # closed again: its status says so
        elif plan.status_changed and current is not None and current.status in VERBS:
            status = find_status(self.statuses, record.get("status")) or record.get("status") or {}
            notes[REOPENED] = {"was": VERBS[current.status], "was_label": current.label,
                               "status": str(status.get("name") or ""), **stamp}
        return notes if notes != kept else None
