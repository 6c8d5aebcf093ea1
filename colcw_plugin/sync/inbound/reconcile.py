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
deletions anyway (or dismiss them); later passes keep applying changes meanwhile.

A held deletion is remembered on its link (``Link.synced_values[DELETION]``: ``held``, the run that held it) and
reported once, by the pass that held it: later passes that meet it again (a live update reading its hint, the
safety net, the daily deletions pass) leave it held without a word, and their guard counts only the deletions new to
them. Apply anyway (a pass run past the guard, ``force``) reads the held links and marks them deleted; Dismiss
(:func:`dismiss_held`) marks them ``dismissed``: their links stay as they are and no pass raises them again, unless
the record changes again (read back present in ConnectWise, its mark goes: deleted once more, it is a new deletion).
A customer linked to another company or whose link is cleared on its page takes its links' holds with it, and the
alert goes in that save when no other is held (``shared.held_deletions``, where the mark is defined). The pass marks
the links it holds back locked and read again (:meth:`Reconciler._hold`): one a rep linked elsewhere or cleared while
the pass read ConnectWise is left as the rep made it, and the next run reads its record again.
Otherwise each customer (with its contacts) and each document is
written in its own transaction through the host's unit of work, and every record gets its
result in the run's log. A run an admin asks to stop stops between two records (each committed and
recorded): a safety-net pass then does not move its watermark, and the hints of a live-update run are not
read back, so the next pass or run takes what it did not reach.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.orm import Session

from host_stub.gateway import ValidationError
from host_stub.models import Contact, Customer, Document, utcnow

from ...cw import ConnectWiseError
from ...models import (
    CONTACT,
    CUSTOMER,
    CW_MASTER,
    DOCUMENT,
    ConfigChange,
    DocumentDrift,
    DocumentExport,
    InboundHint,
    Link,
    RecordDrift,
    fingerprint,
)
from ...setup.connection import tenant_of
from ...setup.live_updates import allowed_breaks, get_live, over_limit
from ..jobs.kinds import SyncContext
from ..shared import fields as M
from ..shared import stale_site
from ..shared import states as state_list
from ..shared.closers import member_names
from ..shared.held_deletions import (
    DELETION,
    DISMISSED,
    HELD,
    deletion_state,
    held_links,
    marked_links,
    not_marked,
)
from ..shared.link_locks import export_lock_key, lock_customer_links, lock_link_ids
from ..shared.locks import Busy, tried_in_transaction
from ..shared.moved_contact import moved_to
from ..shared.product_drift import EXPORTED_AS, exported_as
from ..shared.reference_cache import DbReferenceCache
from ..shared.states import StateList
from ..shared.statuses import CACHE_KEY, fetch_statuses
from . import SOURCE
from .customers import Break, CustomerPlan, CustomerPlanner
from .hints import FOLLOW_UP, LIVE_ACTOR, MAX_FOLLOW_UPS, Hint, follow_up, record_hints
from .opportunities import DocumentPlan, OpportunityPlanner
from .reading import Found

log = logging.getLogger(__name__)

KIND_WORDS = {CUSTOMER: "customer", CONTACT: "contact", DOCUMENT: "quote / order"}
KIND_OF = {"company": CUSTOMER, "contact": CONTACT, "opportunity": DOCUMENT}  # ConnectWise's record → the link's kind
ENTITY_OF = {v: k for k, v in KIND_OF.items()}
# Links broken this recently count with a pass's own: a mass delete arriving as a stream of callbacks
# (one pass each) is stopped as surely as one the daily check finds at once.
GUARD_WINDOW = dt.timedelta(minutes=10)
MARKS = "colcw:"  # what colcw keeps in a link's agreement beside the agreed values is keyed so (no field is named so)


def agreed_values(agreement: dict) -> dict:
    """A link's agreement without what colcw keeps beside the agreed values (``colcw:`` keys: :data:`DELETION`, the
    site taken for the customer's Location Code, ``fields.SITE_CHOICE``): what its fingerprint is taken of. The
    import compares a link's fingerprint with its own, of the mapped values alone (``link_batch.LinkBatch.put``: an
    unchanged re-import writes nothing), so a live update that took ConnectWise's values must hash the same values."""
    return {k: v for k, v in agreement.items() if not str(k).startswith(MARKS)}


def _mark(link: Link, state: str, **extra) -> None:
    link.synced_values = {**(link.synced_values or {}), DELETION: {
        "state": state, "at": utcnow().isoformat(timespec="seconds"), **extra}}


def _unmark(link: Link) -> None:
    if DELETION in (link.synced_values or {}):
        link.synced_values = {k: v for k, v in link.synced_values.items() if k != DELETION}


_HOST_TABLES = {CUSTOMER: Customer, CONTACT: Contact, DOCUMENT: Document}


def _hosts_gone(session: Session, links: list[Link]) -> set[tuple[str, int]]:
    """Of ``links``, (entity, host id) of those whose host record no longer exists (one query per kind present)."""
    gone: set[tuple[str, int]] = set()
    for entity, table in _HOST_TABLES.items():
        ids = {ln.host_id for ln in links if ln.entity == entity}
        if ids:
            there = set(session.execute(select(table.id).where(table.id.in_(ids))).scalars())
            gone |= {(entity, i) for i in ids - there}
    return gone


def held_ids(session: Session) -> dict[str, set[int]]:
    """The held links' ConnectWise records (ConnectWise entity → ids): what a pass past the guard reads."""
    out: dict[str, set[int]] = {}
    for link in held_links(session):
        out.setdefault(ENTITY_OF[link.entity], set()).add(link.cw_id)
    return out


def dismiss_held(session: Session, actor: str) -> int:
    """Dismiss every deletion the guard holds back: their links stay as they are and no later pass raises them
    again (unless the record changes again); the hints that announced them are no longer waiting, and the alert goes.
    How many were dismissed (flushes; the caller commits)."""
    links = held_links(session)
    for link in links:
        _mark(link, DISMISSED, by=actor[:200])
    if links:
        session.execute(update(InboundHint).where(
            tuple_(InboundHint.entity, InboundHint.cw_id).in_([(ENTITY_OF[ln.entity], ln.cw_id) for ln in links]))
            .values(pending=False))
        words = Counter(KIND_WORDS.get(ln.entity, ln.entity) for ln in links)
        session.add(ConfigChange(actor=actor, area="live updates", summary="Dismissed the deletions held back by the "
                                 "mass-delete guard: " + ", ".join(f"{n} {w}" for w, n in sorted(words.items()))))
    live = get_live(session)
    live.alert, live.alert_at, live.alert_run_id = "", None, None
    session.flush()
    return len(links)


@dataclass(frozen=True)
class _AsRead:
    """A link as a pass read it when planning: what says a rep did not link its record elsewhere or clear it since."""

    id: int
    entity: str
    host_id: int
    cw_id: int
    linked_at: dt.datetime
    status: str

    @classmethod
    def of(cls, link: Link) -> _AsRead:
        return cls(link.id, link.entity, link.host_id, link.cw_id, link.linked_at, link.status)


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


# Said once in the run's message when ConnectWise's state list could not be read (Reconciler.states).
STATES_UNREAD = ("ConnectWise's state list could not be read ({reason}), so states were compared as spelled: a state "
                 "ChannelOnline writes otherwise than ConnectWise (“Nova Scotia” for “NS”) may be noted as changed in "
                 "ConnectWise until the list can be read again.")


@dataclass
class Tally:
    records: int = 0  # results: what the run's progress counts (done / total)
    breaks: int = 0
    notes: list[str] = field(default_factory=list)
    idle: int = 0  # records read that got no result: not linked here, inactive, or already marked deleted
    held: Held | None = None  # deletions the mass-delete guard held back (the rest of the pass was applied)
    waiting: set[tuple[str, int]] = field(default_factory=set)  # held back by earlier passes, met again

    @property
    def held_records(self) -> set[tuple[str, int]]:
        """The ConnectWise records whose deletion waits (this pass's and earlier ones'): their hints stay pending."""
        return (self.held.records if self.held is not None else set()) | self.waiting

    states_unread: str = ""  # why ConnectWise's state list could not be read (states then compared as spelled)

    def say(self, text: str) -> str:
        """A run's message, with what the guard held back first and, once, that states were compared as spelled."""
        said = f"{self.held.message} {self.held.fix} {text}" if self.held is not None else text
        if self.states_unread:
            said = f"{said} {STATES_UNREAD.format(reason=self.states_unread.rstrip('.'))}".strip()
        return said


class Reconciler:
    """Applies what comes back for records read from ConnectWise, for one run."""

    def __init__(self, ctx: SyncContext, *, force: bool = False):
        self.ctx, self.session, self.recorder, self.force = ctx, ctx.session, ctx.recorder, force
        self.live = get_live(self.session)
        self._statuses: list[dict] | None = None
        self._states: StateList | None = None
        self.states_unread = ""  # why ConnectWise's state list could not be read (the run compares as spelled)
        self._resolution: str | None = None  # what the results of customers left to the next run say (_read_again)

    def _cache(self) -> DbReferenceCache:
        s = self.ctx.settings
        return DbReferenceCache(self.session.get_bind(), tenant=tenant_of(s))

    def states(self) -> StateList:
        """ConnectWise's state list (cached like the statuses), read once per run when first needed."""
        if self._states is None:
            try:
                self._states = StateList(self._cache().rows(state_list.CACHE_KEY,
                                                            lambda: state_list.fetch_rows(self.ctx.client)))
            except ConnectWiseError as e:
                # Not a reason to apply nothing (as the import, importer.CompanyImporter.states): states are compared
                # as spelled, and the run's message says so once (Tally.say).
                log.warning("ConnectWise's state list could not be read; states compared as spelled: %s", e)
                self.states_unread = str(e)
                self._states = StateList(())
        return self._states

    def statuses(self) -> list[dict]:
        """Opportunity statuses with their flags, shared with the quote export's cache."""
        if self._statuses is None:
            self._statuses = self._cache().rows(CACHE_KEY, lambda: fetch_statuses(self.ctx.client))
        return self._statuses

    def run(self, found: Found) -> Tally:
        """Plan, guard, apply and record everything in ``found``; the deletions the guard holds back are not applied
        (recorded once as failed, named in ``Tally.held``; those an earlier pass held are left as they wait, in
        ``Tally.waiting``, and those an admin dismissed are left alone), everything else is."""
        live = self.live
        customers = CustomerPlanner(self.session, found, cw_master=live.customer_master == CW_MASTER,
                                    states=self.states, sites=stale_site.has_site(self.ctx.client),
                                    cw_ahead=self.ctx.client.server_clock.ahead()).plan()
        documents = OpportunityPlanner(self.session, found, self.statuses() if found.asked["opportunity"] else [],
                                       self.ctx.settings, live.own_member,
                                       names=lambda ids: member_names(self.ctx.client, ids)).plan()
        planned = [b for p in customers for b in p.breaks] + [p.brk for p in documents if p.brk]
        read_as = {id(b.link): _AsRead.of(b.link) for b in planned}  # (before the guard's commit expires them)
        # Deletions met before: held back by an earlier pass (reported then; applied only past the guard), or
        # dismissed by an admin (never applied, never raised again).
        known = {id(b.link): deletion_state(b.link) for b in planned}
        earlier = [b for b in planned if known[id(b.link)] == HELD and not self.force]
        dismissed = [b for b in planned if known[id(b.link)] == DISMISSED]
        # A contact moved to another company is no deletion: the guard neither counts nor holds it back.
        held = self.guard([b for b in planned if not known[id(b.link)] and not b.moved])
        kept = {id(b.link) for b in earlier + dismissed + (held.breaks if held is not None else [])}
        if kept:  # those links stay as they are; the rest of each plan is applied
            for p in customers:
                p.breaks = [b for b in p.breaks if id(b.link) not in kept]
            for p in documents:
                if p.brk is not None and id(p.brk.link) in kept:
                    p.brk = None
        breaks = [b for b in planned if id(b.link) not in kept]
        # A document whose opportunity is gone and whose link says so already gets no result: not counted.
        results = [p for p in documents if p.outcome is not None or p.brk is not None]
        outcomes = sum(len(p.outcomes) + len(p.breaks) for p in customers) + len(results) + \
            (len(held.breaks) if held is not None else 0)
        self.recorder.set_total(self.recorder.total + outcomes)
        moved: list[tuple[Break, _AsRead]] = []
        if held is not None:  # reported once, here: the links remember it (later passes leave them waiting)
            moved = self._hold(held, read_as)
            for b in held.breaks:
                self.recorder.record(entity=b.link.entity, direction="import", action="failed", host_id=b.link.host_id,
                                     cw_id=b.link.cw_id, label=b.label,
                                     message=f"{b.label}: deletion held back, not marked deleted. {held.message}",
                                     resolution=held.fix)
            if moved:
                resolution = self._read_again()
                for b, was in moved:
                    self.recorder.record(entity=was.entity, direction="import", action="skipped", host_id=was.host_id,
                                         cw_id=was.cw_id, label=b.label,
                                         message=self.MOVED_MEANWHILE.format(label=b.label), resolution=resolution)
        self._planned()
        for plan in customers:
            self.recorder.stop_if_requested()
            self._customer(plan)
        for plan in documents:
            self.recorder.stop_if_requested()
            self._document(plan)
        self._forget_marks(found, planned)
        waiting = {(ENTITY_OF[b.link.entity], b.link.cw_id) for b in earlier}
        got = {(o["entity"], o["cw_id"]) for p in customers for o in p.outcomes} | \
            {(b.link.entity, b.link.cw_id) for b in breaks} | {(DOCUMENT, p.opportunity_id) for p in results} | \
            {(b.link.entity, b.link.cw_id) for b in earlier + (held.breaks if held is not None else [])} | \
            {(was.entity, was.cw_id) for _, was in moved}
        read = {(KIND_OF[e], i) for e, ids in found.asked.items() for i in ids}
        return Tally(records=outcomes, breaks=len(breaks), idle=len(read - got), held=held, waiting=waiting,
                     states_unread=self.states_unread)

    # Said of a deletion the guard held back whose link a rep changed before the pass marked it (Reconciler._hold).
    MOVED_MEANWHILE = ("{label}: deletion not held back by this pass: its link changed in ChannelOnline while the pass "
                       "was reading ConnectWise (linked to another company or cleared on the customer's page, or marked "
                       "by an export), so this deletion is no longer its link's. The next pass reads the record again "
                       "and applies what ConnectWise holds then.")

    def _hold(self, held: Held, read_as: dict[int, _AsRead]) -> list[tuple[Break, _AsRead]]:
        """Mark the links whose deletion the guard holds back, locked (one statement, in the order every colcw
        writer of links locks them: by id) and read again: a rep linking a customer to another company or clearing
        its link since the pass read it (sync/customers/links.py) changed what the mark would be put on, and marking it
        would hold the new company's link for the old one's deletion (or fail the pass on a link deleted). Those are
        left as the rep made them and taken out of ``held.breaks``; their records get a pending hint, so the
        follow-up run reads them again. Commits (and the locks go). Which breaks moved, with what the pass had read of
        their links."""
        now = lock_link_ids(self.session, [read_as[id(b.link)].id for b in held.breaks])
        kept: list[Break] = []
        moved: list[tuple[Break, _AsRead]] = []
        for b in held.breaks:
            was = read_as[id(b.link)]
            link = now.get(was.id)
            if link is None or _AsRead.of(link) != was:
                moved.append((b, was))
                continue
            _mark(link, HELD, run=self.ctx.run_id)  # (on the agreement as it is now: a dismissal's kept)
            kept.append(b)  # (its link is the row just locked: one object per row in the session)
        held.breaks = kept
        if moved:
            record_hints(self.session, [Hint(ENTITY_OF[was.entity], was.cw_id, "deleted") for _, was in moved])
        self.session.commit()
        return moved

    def _forget_marks(self, found: Found, planned: list[Break]) -> None:
        """A held or dismissed deletion whose record was read back present (restored in ConnectWise: its record
        changed again) is no deletion any more: its mark goes, so a later deletion of it is a new one. So does a held
        one whose host record was deleted meanwhile (no pass plans anything for it, so Apply anyway could never mark
        it, and the alert would stay for good). And the alert goes once no deletion is held back any more (applied
        past the guard, or dismissed)."""
        broken = {id(b.link) for b in planned}
        present = {(KIND_OF[e], i) for e in ("company", "contact", "opportunity") for i in found.records(e)}
        marked = marked_links(self.session)
        gone = _hosts_gone(self.session, [ln for ln in marked if id(ln) not in broken and deletion_state(ln) == HELD])
        changed = False
        for link in marked:
            if id(link) not in broken and ((link.entity, link.cw_id) in present or (link.entity, link.host_id) in gone):
                _unmark(link)
                changed = True
        live = get_live(self.session)
        if live.alert and not held_links(self.session):
            live.alert, live.alert_at, live.alert_run_id = "", None, None
            changed = True
        if changed:
            self.session.commit()

    # --- the guard ----------------------------------------------------------------------------

    def guard(self, breaks: list[Break]) -> Held | None:
        """The deletions to hold back (every link of a kind over the limit), or None; raises the alert for them.
        ``breaks`` are the deletions new to this pass (not those an earlier pass held back or an admin dismissed)."""
        counts = Counter(b.link.entity for b in breaks)
        over, kinds = [], set()
        since = utcnow() - GUARD_WINDOW
        for entity, n in sorted(counts.items()):
            linked = self.session.execute(select(func.count()).where(Link.entity == entity,
                                                                     Link.status == "ok")).scalar_one()
            # The links broken in the window, contacts moved to another company aside (no deletions: their links
            # remember where they went, shared/moved_contact.py).
            recent = sum(1 for agreement in self.session.execute(select(Link.synced_values).where(
                Link.entity == entity, Link.status == "missing_in_cw", Link.synced_at >= since)).scalars()
                if moved_to(agreement) is None)
            if over_limit(self.live.mass_delete_limit, n, recent, linked + recent):
                allowed = allowed_breaks(self.live.mass_delete_limit, linked + recent)
                earlier = f", {recent} of them marked in the last ten minutes" if recent else ""
                over.append(f"{n + recent} of {linked + recent} {KIND_WORDS.get(entity, entity)} links (at most "
                            f"{allowed} allowed{earlier})")
                kinds.add(entity)
        if not over or self.force:
            return None
        held = [b for b in breaks if b.link.entity in kinds]
        message = ("Deletions held back by the mass-delete guard: this pass would mark " + " and ".join(over) +
                   f" as deleted in ConnectWise (limit {self.live.mass_delete_limit}). {not_marked(len(held))}; every "
                   "other change of the pass was applied, and later passes keep applying changes while these deletions "
                   "wait (held, not reported again).")
        fix = ("Check in ConnectWise that these records really were deleted (and that the connection points at the "
               "right company). Then, on the Connection page, use Apply anyway to mark them deleted, or Dismiss to keep "
               "their links as they are (a dismissed deletion is not raised again). The limit is on the jobs page.")
        self.live.alert, self.live.alert_at, self.live.alert_run_id = f"{message} {fix}", utcnow(), self.ctx.run_id
        self.session.commit()
        return Held(kinds, held, message, fix)

    # --- applying -----------------------------------------------------------------------------

    def _record(self, outcome: dict) -> None:
        self.recorder.record(direction="import", **outcome)

    def _planned(self) -> None:
        """Every plan is made and none applied yet (nothing to do: the tests' seam for what a person does meanwhile)."""

    # Said of a customer whose plan was not applied because a rep changed what it was planned from (Reconciler._customer).
    CHANGED_MEANWHILE = ("{label}: not applied by this pass: the customer changed in ChannelOnline while the pass was "
                         "reading ConnectWise (a note dismissed, or the customer exported). The next pass reads it again "
                         "and applies what ConnectWise holds then.")
    # Its resolution: a live update queued for it (hints.follow_up), one already waiting, or none after a few in a row.
    READ_AGAIN_NOW = "Nothing to do: a live update queued now reads it again."
    READ_AGAIN_LATER = ("Nothing to do: the next callback or safety-net pass takes it (it kept changing while "
                        f"{MAX_FOLLOW_UPS} live updates in a row read it).")
    READ_AGAIN_NEXT = "Nothing to do: the next pass takes it."

    def _still_as_read(self, plan: CustomerPlan) -> bool:
        """Lock the customer's links and its contacts' (all of them, in one statement by id, as a rep's relink, clear
        or dismissal locks them: ``shared.link_locks``; the plan may write a link it did not read, a contact's marked
        deleted) and whether each the plan was made from still holds the agreement planning read: a rep dismissing a
        note meanwhile (link_batch.dismiss_notes) moved it, and applying the plan would write the old agreement back and
        the dismissed note with it. The locks hold until the customer's transaction ends, so no dismissal slips in
        between."""
        locked = lock_customer_links(self.session, plan.customer.id, [c.id for c in plan.customer.contacts],
                                     also=plan.read)
        if not plan.read:
            return True
        now = {ln.id: ln.synced_values for ln in locked.values() if ln.id in plan.read}
        return now == plan.read

    def _changed_meanwhile(self, plan: CustomerPlan, said: str = CHANGED_MEANWHILE) -> None:
        """The plan is dropped: its records get a pending hint, so the next pass (a live update, or the safety net
        taking the hints) reads them again, and each gets a result saying so."""
        hints = [Hint(ENTITY_OF[o["entity"]], o["cw_id"], "updated") for o in plan.outcomes
                 if o.get("cw_id") is not None and o["entity"] in ENTITY_OF]
        if plan.company_link is not None:
            hints.append(Hint("company", plan.company_link.cw_id, "updated"))
        hints += [Hint(ENTITY_OF[b.link.entity], b.link.cw_id, "updated") for b in plan.breaks]
        record_hints(self.session, hints)
        self.session.commit()  # (and the locks go)
        resolution = self._read_again()
        for o in [*plan.outcomes, *({"entity": b.link.entity, "host_id": b.link.host_id, "cw_id": b.link.cw_id,
                                     "label": b.label} for b in plan.breaks)]:
            self._record({**o, "action": "skipped", "message": said.format(label=o["label"]),
                          "resolution": resolution})

    def _read_again(self) -> str:
        """Queue a live-update run for the records left to the next (their hints pending), once a run, so they are
        applied soon rather than at the next safety-net pass (:func:`.hints.follow_up`: it waits for this run's lock,
        then takes every hint pending; one already waiting takes them instead); what their results say of it. After
        a few such runs in a row the records wait for the next callback or pass."""
        if self._resolution is None:
            if int(self.ctx.params.get(FOLLOW_UP) or 0) >= MAX_FOLLOW_UPS:
                self._resolution = self.READ_AGAIN_LATER
            else:
                run = follow_up(self.session.get_bind(), self.ctx.queue, self.ctx.kinds, self.ctx.params)
                self._resolution = self.READ_AGAIN_NOW if run is not None else self.READ_AGAIN_NEXT
        return self._resolution

    # Said of a customer whose plan was not applied because an export of it was under way (Reconciler._customer).
    EXPORTING_MEANWHILE = ("{label}: not applied by this pass: the customer was being exported to ConnectWise. The next "
                           "pass reads it again and applies what ConnectWise holds then.")

    def _customer(self, plan: CustomerPlan) -> None:
        if not plan.writes:
            for o in plan.outcomes:
                self._record(o)
            return
        # One at a time with an export of the customer (its export lock, only tried, held in the customer's
        # transaction): an export reads the customer, then its links' agreement, ConnectWise's company, and writes
        # what differs; a pass applying ConnectWise's change in between made the export read the customer as it was
        # before and the agreement as it is after, so it took the customer's old value for an edit of its own and sent
        # it back over the change the pass had just brought in (and wrote its stale agreement over the pass's). The
        # plan is left to the next pass, as one a rep changed meanwhile is.
        try:
            with tried_in_transaction(self.session, export_lock_key(plan.customer.id), "exporting"):
                self._apply(plan)
        except Busy:
            self.session.rollback()
            self._changed_meanwhile(plan, self.EXPORTING_MEANWHILE)

    def _apply(self, plan: CustomerPlan) -> None:
        if not self._still_as_read(plan):
            self._changed_meanwhile(plan)
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
                link.synced_values, link.cw_last_updated = base, last[:30]
                link.fingerprint = fingerprint(agreed_values(base))
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
                _unmark(b.link)  # (held back before: applied past the guard)
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
        # (A note of a conflict ConnectWise's value settled, dismissed while the pass read ConnectWise, is never
        # written again: the plan only notes a ConnectWise value the link's agreement does not hold, and while such a
        # note shows the agreement holds its value; Link to Company ID to another company clears the notes with the
        # old agreement: sync/customers/links.py ``_clear_notes``.)
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
            _unmark(plan.link)  # (held back before: applied past the guard)
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
            # ... and its export by the name the export found (the first rename since that export keeps it).
            known = self.session.execute(select(DocumentExport.opportunity_name, DocumentExport.exported_at)
                                         .where(DocumentExport.document_id == plan.document_id)).first()
            if known is not None and known.exported_at is not None and \
                    exported_as(plan.link.synced_values, known.exported_at) is None:
                plan.link.synced_values = {**(plan.link.synced_values or {}), EXPORTED_AS: {
                    "name": known.opportunity_name, "at": known.exported_at.isoformat()}}
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
        elif plan.renamed is not None and plan.status:
            # Its status stands, but the line under it names the opportunity: as ConnectWise does now.
            host.set_external_status(plan.document_id, SOURCE, changed_at=None, **plan.status)
        if plan.drift_changed:
            self.session.execute(delete(DocumentDrift).where(DocumentDrift.document_id == plan.document_id))
            if plan.drift:
                self.session.add(DocumentDrift(document_id=plan.document_id, opportunity_id=plan.opportunity_id,
                                               changes=plan.drift, run_id=self.ctx.run_id))
        host.commit()
        self._record(plan.outcome)
