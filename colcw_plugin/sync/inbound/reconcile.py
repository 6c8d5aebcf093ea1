"""One pass of live updates over records read back from ConnectWise: plan, guard, apply, record.

Planning (:mod:`.customers`, :mod:`.opportunities`) writes nothing. The mass-delete guard then
sees every link the pass would break: more than the limit for a kind of record (10 % of its
links by default, or the number the admin set; never fewer than one), counting the links of that kind
broken in the last ten minutes (a mass delete arriving as a stream of callbacks comes in several passes), and
the pass holds back those deletions: it marks none of that kind's links, applies every other change
(statuses, field edits, new records, the deletions of the other kinds) and raises an alert on the Connection
page, because so many deletions at once more often mean a wrong connection or a mistake in ConnectWise than real
deletions. A pass that itself marks a single link of a kind is never held back, whatever the window held
before it (one deletion is never a mass delete: ``live_updates.over_limit``). A person can then apply the
deletions anyway (or dismiss them); later passes keep applying changes meanwhile. Otherwise each customer (with
its contacts) and each document is
written in its own transaction through the host's unit of work, and every record gets its
result in the run's log. A run an admin asks to stop stops between two records (each committed and
recorded): a safety-net pass then does not move its watermark, and the hints of a live-update run are not
read back, so the next pass or run takes what it did not reach.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, update

from host_stub.gateway import ValidationError
from host_stub.models import utcnow

from ...models import (
    CONTACT,
    CUSTOMER,
    CW_MASTER,
    DOCUMENT,
    DocumentDrift,
    DocumentExport,
    Link,
    RecordDrift,
    fingerprint,
)
from ...setup.live_updates import allowed_breaks, get_live, over_limit
from ..jobs.kinds import SyncContext
from ..shared import fields as M
from ..shared import states as state_list
from ..shared.reference_cache import DbReferenceCache
from ..shared.states import StateList
from ..shared.statuses import CACHE_KEY, fetch_statuses
from . import SOURCE
from .customers import Break, CustomerPlan, CustomerPlanner
from .hints import LIVE_ACTOR
from .opportunities import DocumentPlan, OpportunityPlanner
from .reading import Found

KIND_WORDS = {CUSTOMER: "customer", CONTACT: "contact", DOCUMENT: "quote / order"}
KIND_OF = {"company": CUSTOMER, "contact": CONTACT, "opportunity": DOCUMENT}  # ConnectWise's record → the link's kind
ENTITY_OF = {v: k for k, v in KIND_OF.items()}
# Links broken this recently count with a pass's own: a mass delete arriving as a stream of callbacks
# (one pass each) is stopped as surely as one the daily check finds at once.
GUARD_WINDOW = dt.timedelta(minutes=10)


@dataclass
class Held:
    """Deletions the mass-delete guard held back in a pass (the pass applied everything else)."""

    kinds: set[str]  # the link kinds over the limit: none of their links was marked
    breaks: list[Break]  # the links not marked
    message: str  # what was held back, and why (the run's message and the alert)
    fix: str  # what to do

    @property
    def records(self) -> set[tuple[str, int]]:
        """The ConnectWise records whose deletion waits, as (ConnectWise entity, id): hints about them stay pending."""
        return {(ENTITY_OF[b.link.entity], b.link.cw_id) for b in self.breaks}


@dataclass
class Tally:
    records: int = 0  # results: what the run's progress counts (done / total)
    breaks: int = 0
    notes: list[str] = field(default_factory=list)
    idle: int = 0  # records read that got no result: not linked here, inactive, or already marked deleted
    held: Held | None = None  # deletions the mass-delete guard held back (the rest of the pass was applied)

    @property
    def held_records(self) -> set[tuple[str, int]]:
        return self.held.records if self.held is not None else set()

    def say(self, text: str) -> str:
        """A run's message, with what the guard held back first."""
        return f"{self.held.message} {self.held.fix} {text}" if self.held is not None else text


class Reconciler:
    """Applies what comes back for records read from ConnectWise, for one run."""

    def __init__(self, ctx: SyncContext, *, force: bool = False):
        self.ctx, self.session, self.recorder, self.force = ctx, ctx.session, ctx.recorder, force
        self.live = get_live(self.session)
        self._statuses: list[dict] | None = None
        self._states: StateList | None = None

    def _cache(self) -> DbReferenceCache:
        s = self.ctx.settings
        return DbReferenceCache(self.session.get_bind(), tenant=f"{s.site_url}|{s.company_id}")

    def states(self) -> StateList:
        """ConnectWise's state list (cached like the statuses), read once per run when first needed."""
        if self._states is None:
            self._states = StateList(self._cache().rows(state_list.CACHE_KEY,
                                                        lambda: state_list.fetch_rows(self.ctx.client)))
        return self._states

    def statuses(self) -> list[dict]:
        """Opportunity statuses with their flags, shared with the quote export's cache."""
        if self._statuses is None:
            self._statuses = self._cache().rows(CACHE_KEY, lambda: fetch_statuses(self.ctx.client))
        return self._statuses

    def run(self, found: Found) -> Tally:
        """Plan, guard, apply and record everything in ``found``; the deletions the guard holds back are not applied
        (recorded as failed, named in ``Tally.held``), everything else is."""
        live = self.live
        customers = CustomerPlanner(self.session, found, cw_master=live.customer_master == CW_MASTER,
                                    states=self.states).plan()
        documents = OpportunityPlanner(self.session, found, self.statuses() if found.asked["opportunity"] else [],
                                       self.ctx.settings, live.own_member).plan()
        breaks = [b for p in customers for b in p.breaks] + [p.brk for p in documents if p.brk]
        held = self.guard(breaks)
        if held is not None:  # those links stay as they are; the rest of each plan is applied
            for p in customers:
                p.breaks = [b for b in p.breaks if b.link.entity not in held.kinds]
            for p in documents:
                if p.brk is not None and p.brk.link.entity in held.kinds:
                    p.brk = None
            breaks = [b for b in breaks if b.link.entity not in held.kinds]
        # A document whose opportunity is gone and whose link says so already gets no result: not counted.
        results = [p for p in documents if p.outcome is not None or p.brk is not None]
        outcomes = sum(len(p.outcomes) + len(p.breaks) for p in customers) + len(results) + \
            (len(held.breaks) if held is not None else 0)
        self.recorder.set_total(self.recorder.total + outcomes)
        if held is not None:
            for b in held.breaks:
                self.recorder.record(entity=b.link.entity, direction="import", action="failed", host_id=b.link.host_id,
                                     cw_id=b.link.cw_id, label=b.label,
                                     message=f"{b.label}: not marked deleted. {held.message}", resolution=held.fix)
        for plan in customers:
            self.recorder.stop_if_requested()
            self._customer(plan)
        for plan in documents:
            self.recorder.stop_if_requested()
            self._document(plan)
        got = {(o["entity"], o["cw_id"]) for p in customers for o in p.outcomes} | \
            {(b.link.entity, b.link.cw_id) for b in breaks} | {(DOCUMENT, p.opportunity_id) for p in results} | \
            {(b.link.entity, b.link.cw_id) for b in (held.breaks if held is not None else [])}
        read = {(KIND_OF[e], i) for e, ids in found.asked.items() for i in ids}
        return Tally(records=outcomes, breaks=len(breaks), idle=len(read - got), held=held)

    # --- the guard ----------------------------------------------------------------------------

    def guard(self, breaks: list[Break]) -> Held | None:
        """The deletions to hold back (every link of a kind over the limit), or None; raises the alert for them (or
        clears one a pass within the limit makes stale)."""
        counts = Counter(b.link.entity for b in breaks)
        over, kinds = [], set()
        since = utcnow() - GUARD_WINDOW
        for entity, n in sorted(counts.items()):
            linked, recent = self.session.execute(select(
                func.count().filter(Link.status == "ok"),
                func.count().filter(Link.status == "missing_in_cw", Link.synced_at >= since)).where(
                Link.entity == entity)).one()
            if over_limit(self.live.mass_delete_limit, n, recent, linked + recent):
                allowed = allowed_breaks(self.live.mass_delete_limit, linked + recent)
                earlier = f", {recent} of them marked in the last ten minutes" if recent else ""
                over.append(f"{n + recent} of {linked + recent} {KIND_WORDS.get(entity, entity)} links (at most "
                            f"{allowed} allowed{earlier})")
                kinds.add(entity)
        if not over or self.force:
            if breaks and self.live.alert and not over:
                self.live.alert, self.live.alert_at, self.live.alert_run_id = "", None, None
                self.session.commit()
            return None
        held = [b for b in breaks if b.link.entity in kinds]
        message = ("Deletions held back by the mass-delete guard: this pass would mark " + " and ".join(over) +
                   f" as deleted in ConnectWise (limit {self.live.mass_delete_limit}). Those {len(held)} "
                   f"link{'s were' if len(held) != 1 else ' was'} not marked; every other change of the pass was "
                   "applied, and later passes keep applying changes while these deletions wait.")
        fix = ("Check in ConnectWise that these records really were deleted (and that the connection points at the "
               "right company). Then use Apply anyway on the Connection page to mark them (or Dismiss), or raise the "
               "limit on the jobs page.")
        self.live.alert, self.live.alert_at, self.live.alert_run_id = f"{message} {fix}", utcnow(), self.ctx.run_id
        self.session.commit()
        return Held(kinds, held, message, fix)

    # --- applying -----------------------------------------------------------------------------

    def _record(self, outcome: dict) -> None:
        self.recorder.record(direction="import", **outcome)

    def _customer(self, plan: CustomerPlan) -> None:
        if not plan.writes:
            for o in plan.outcomes:
                self._record(o)
            return
        host = self.ctx.host(self.session)
        outcomes = list(plan.outcomes)
        try:
            new_ids: list[int] = []
            customer_id = plan.customer.id
            if plan.values is not None or plan.contacts:
                before = {c.id for c in plan.customer.contacts}
                values = plan.values or M.customer_values(plan.customer)
                saved = host.save_customer(values, plan.contacts, customer_id=customer_id, actor=LIVE_ACTOR)
                new_ids = sorted(c.id for c in saved.contacts if c.id not in before)
            now = utcnow()  # after the host's save: later than every updated_at it wrote
            for link, entity, host_id, cw_id, base, last in plan.links:
                if link is None:
                    link = Link(entity=entity, host_id=host_id, cw_id=cw_id, linked_at=now)
                    self.session.add(link)
                link.synced_values, link.fingerprint, link.cw_last_updated = base, fingerprint(base), last[:30]
                if link is not plan.company_link or not plan.host_pending:
                    link.synced_at = now
            if plan.company_link is not None and not plan.host_pending and \
                    (plan.values is not None or plan.contacts or plan.settled):
                # What was just written into the host came from ConnectWise, or the host's own changes now agree with
                # ConnectWise's: no change of the host's own to export (what was saved got a new updated_at all the
                # same).
                plan.company_link.synced_at = now
            for record, host_id in zip(plan.new_contacts, new_ids, strict=False):
                values = {k: v for k, v in M.contact_host_values(record, None).items() if k != "is_default"}
                self.session.add(Link(entity=CONTACT, host_id=host_id, cw_id=record["id"], linked_at=now, synced_at=now,
                                      synced_values=values, fingerprint=fingerprint(values),
                                      cw_last_updated=M.last_updated(record)[:30]))
                for o in outcomes:
                    if o["cw_id"] == record["id"] and o["entity"] == CONTACT and o["host_id"] is None:
                        o["host_id"] = host_id
            for link in plan.restore:
                link.status = "ok"
            if plan.identifier is not None:  # what messages and the panel name the company by
                plan.identifier[0].cw_identifier = plan.identifier[1]
            for b in plan.breaks:
                b.link.status, b.link.synced_at = "missing_in_cw", now
                outcomes.append({"entity": b.link.entity, "action": "skipped", "host_id": b.link.host_id,
                                 "cw_id": b.link.cw_id, "label": b.label, "message": b.message,
                                 "resolution": b.resolution})
            self._replace_drift(plan)
            host.commit()
        except ValidationError as e:
            host.rollback()
            detail = "; ".join(e.errors.values())
            outcomes = [{"entity": CUSTOMER, "action": "failed", "host_id": plan.customer.id, "cw_id": None,
                         "label": plan.label, "message": f"{plan.label}: ConnectWise's changes could not be saved in "
                         f"ChannelOnline: {detail}", "resolution": "Correct the company in ConnectWise (or the clashing "
                         "customer in ChannelOnline); the next live update takes it."}]
        for o in outcomes:
            self._record(o)

    def _replace_drift(self, plan: CustomerPlan) -> None:
        for entity, host_id, name in plan.clear_drift:
            stmt = delete(RecordDrift).where(RecordDrift.entity == entity, RecordDrift.host_id == host_id)
            stmt = stmt.where(RecordDrift.field == name) if name else stmt.where(~RecordDrift.field.startswith("contact:"))
            self.session.execute(stmt)
        for row in plan.drift:
            self.session.add(RecordDrift(**row, run_id=self.ctx.run_id))

    def _document(self, plan: DocumentPlan) -> None:
        host = self.ctx.host(self.session)
        if plan.brk is not None:
            plan.link.status, plan.link.synced_at = "missing_in_cw", utcnow()
            host.set_external_status(plan.document_id, SOURCE, status="deleted",
                                     label=f"Deleted in ConnectWise: opportunity {plan.opportunity_id}",
                                     detail=plan.brk.resolution)
            host.commit()
            self._record({"entity": DOCUMENT, "action": "skipped", "host_id": plan.document_id,
                          "cw_id": plan.opportunity_id, "label": plan.number, "message": plan.brk.message,
                          "resolution": plan.brk.resolution})
            return
        if plan.outcome is None:
            return
        if not (plan.restore or plan.status_changed or plan.drift_changed or plan.close or plan.renamed
                or plan.notes is not None):
            self._record(plan.outcome)
            return
        if plan.restore:
            plan.link.status = "ok"
        if plan.renamed is not None:  # the document's page names the opportunity as ConnectWise does now
            plan.link.cw_identifier = plan.renamed
            self.session.execute(update(DocumentExport).where(DocumentExport.document_id == plan.document_id)
                                 .values(opportunity_name=plan.renamed))
        if plan.close:  # the close read now, for telling a later one from one ConnectWise kept (opportunities.py)
            plan.link.synced_values = {**(plan.link.synced_values or {}), "close": plan.close}
        if plan.notes is not None:  # renamed / reopened in ConnectWise: the document page's notes (opportunities.py)
            plan.link.synced_values = {**(plan.link.synced_values or {}), "notes": plan.notes}
        if plan.status_changed or plan.restore:
            if plan.status:
                host.set_external_status(plan.document_id, SOURCE, changed_at=None, **plan.status)
            else:
                host.clear_external_status(plan.document_id, SOURCE)
        if plan.drift_changed:
            self.session.execute(delete(DocumentDrift).where(DocumentDrift.document_id == plan.document_id))
            if plan.drift:
                self.session.add(DocumentDrift(document_id=plan.document_id, opportunity_id=plan.opportunity_id,
                                               changes=plan.drift, run_id=self.ctx.run_id))
        host.commit()
        self._record(plan.outcome)
