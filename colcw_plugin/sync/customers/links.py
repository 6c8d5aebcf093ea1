"""A customer's ConnectWise identity as the user sees and repairs it: status, clear, re-link.

When the company (or a contact) a record is linked to was deleted in ConnectWise, colcw stops
and says so rather than creating a duplicate. These services are the way out: clear the link
(the next export matches by Company ID again, or creates the company), or link the customer to a
ConnectWise company by its Company ID. A company that is not plausibly the customer's is linked only once
confirmed (the next export overwrites it); a name typed instead of a Company ID finds the companies that
contain it. Linking and clearing are recorded as the record's latest result.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from sqlalchemy import Integer, and_, bindparam, case, delete, func, literal, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from host_stub.models import Contact, Customer

from ...cw import ConnectWiseClient
from ...cw import conditions as C
from ...models import (
    ACTIVE_RUN_STATUSES,
    CONTACT,
    CUSTOMER,
    CW_MASTER,
    Link,
    RecordDrift,
    SyncItem,
    SyncRun,
    edited_after,
    find_by_cw,
    get_link,
    set_link,
)
from ...setup.customer_matching import MAP_DIRECTION, normalize_name
from ...setup.live_updates import cw_is_master, read_live
from ..shared import fields as M
from ..shared import moved_contact as MV
from ..shared.advice import HOST_MASTER_DRIFT_FIX, current_fix
from ..shared.held_deletions import end_alert_unless_held
from ..shared.link_locks import lock_customer_links
from ..shared.locks import Busy, advisory_locks
from . import lookup
from .exclusive import (
    EXPORT_KIND,
    IMPORT_BUSY,
    IMPORT_KIND,
    AlreadyRunning,
    active_run,
    company_keys,
    covering_run,
    customers_locked,
)
from .link_batch import NOTE_DIRECTION, NOTE_ENTITY

SYNCED_ACTIONS = ("created", "updated", "unchanged")  # results of a sync that went through
UNDONE = ("failed", "not_attempted")  # a result that leaves the record as it was before, not in ConnectWise

LINK_DIRECTION = "link"  # a link a person made or cleared on the customer's page (a result without a run)
SCAN_DIRECTION = "scan"  # a link Map customers' scan made by Company ID = account number (a result without a run)
# results that link (or clear), no sync; a link made on Map customers is MAP_DIRECTION (setup.customer_matching)
_NOT_SYNCED = (LINK_DIRECTION, SCAN_DIRECTION, MAP_DIRECTION)


class RelinkError(ValueError):
    """The customer cannot be linked to that company; ``str()`` says why and what to do."""


@dataclass
class CustomerSyncStatus:
    """What the customer page's ConnectWise panel shows."""

    link: Link | None
    contacts: list[tuple[Contact, Link | None, SyncItem | None]]
    last: SyncItem | None  # the customer's latest export / import result
    changed: bool = False  # edited since its last sync: All Customers' "Changed since export"
    last_fix: str = ""  # what to do about ``last``, as it holds now (advice.current_fix)
    last_kind: str = ""  # the job kind of the run that recorded ``last`` ("" without a run): an import, live updates…
    # When a sync last went through for the customer or its contacts (since the link), read only while ``last`` is
    # a result that did not (a failure, a change not taken): a live update that took ConnectWise's changes into a
    # customer with changes of its own not exported leaves the link's time as it was (:func:`_went_through`).
    went_through: dt.datetime | None = None
    may_be_exporting: bool = False  # an export of it, or a bulk one that may select it, is queued, running or waiting
    has_dismissed: bool = False  # a note of what came back from ConnectWise was dismissed on its page
    # Where the customer's link was made when no sync made it: the direction of the result that recorded it (``link``:
    # its page, ``scan``: Map customers' scan, ``map``: by hand on Map customers), "" when a sync made it (or moved
    # it since). Read in the page's one statement, so the page still says where after a later result (a failed export).
    linked_how: str = ""

    @property
    def last_synced(self) -> dt.datetime | None:
        """When a sync last went through for the customer: its link's time, or its latest result's when that
        is a sync that wrote nothing (an unchanged import or export leaves the link as it was). None while
        the latest is a link made by hand, or the link was made by hand and nothing went through since (an export
        that failed after it): :attr:`linked_by_hand` says when it was linked."""
        if self.link is None:
            return None
        last = self.last
        if last is not None and last.direction in _NOT_SYNCED:
            return None
        if last is not None and last.action in SYNCED_ACTIONS:
            return max(last.at, self.link.synced_at)
        if self.went_through is not None:
            return max(self.went_through, self.link.synced_at)
        if self.link.synced_at < self.link.linked_at:
            return None  # linked by hand (its sync time set before its link time), nothing synced since
        return self.link.synced_at

    @property
    def linked_by_hand(self) -> dt.datetime | None:
        """When the customer was linked on its page, while nothing was synced since (else None)."""
        if self.link is None or self.last_synced is not None:
            return None
        if self.last is not None and self.last.direction in _NOT_SYNCED:
            return self.last.at
        return self.link.linked_at

    @property
    def linked_by_scan(self) -> bool:
        """The link :attr:`linked_by_hand` dates was made by Map customers' scan (Company ID = account number)."""
        return self.linked_by_hand is not None and self._made_by() == SCAN_DIRECTION

    @property
    def linked_on_map(self) -> bool:
        """The link :attr:`linked_by_hand` dates was made by a person on Map customers."""
        return self.linked_by_hand is not None and self._made_by() == MAP_DIRECTION

    def _made_by(self) -> str:
        if self.last is not None and self.last.direction in _NOT_SYNCED:
            return self.last.direction
        return self.linked_how


def _status_statement():
    """The customer page's one statement (built once: its cache key is computed once, not per page view)."""
    customer_id = bindparam("customer_id", type_=Integer)
    keys = union_all(
        select(literal(CUSTOMER).label("entity"), customer_id.label("host_id")),
        select(literal(CONTACT).label("entity"), Contact.id.label("host_id")).where(Contact.customer_id == customer_id),
    ).subquery("keys")
    last_id = (select(func.max(SyncItem.id)).where(SyncItem.entity == keys.c.entity, SyncItem.host_id == keys.c.host_id)
               .correlate(keys).scalar_subquery())
    latest = select(keys.c.entity, keys.c.host_id, last_id.label("last_id")).subquery("latest")
    # Whether the panel reads more (only then: a page of a customer with neither costs no statement for them): an
    # export under way that may select the customer (its own, or a bulk one: which, the panel's own read says), and
    # a note of the customer's dismissed (one index probe each).
    run, note = aliased(SyncRun), aliased(SyncItem)  # (not the latest result's run and item joined below)
    exporting = (select(func.count()).where(
        run.kind == EXPORT_KIND, run.status.in_(ACTIVE_RUN_STATUSES),
        or_(run.params["customer_id"].as_integer() == customer_id, run.params["customer_id"].as_integer().is_(None)))
        .correlate(None).scalar_subquery())
    dismissed = (select(func.max(note.id)).where(note.entity == NOTE_ENTITY, note.host_id == customer_id)
                 .correlate(None).scalar_subquery())
    # Where the customer's link was made, read only while nothing was synced since it was (its sync time before its
    # link time): the customer's latest "linked" result without a run, when it is not older than the link (a sync
    # that moved the link since made it). The results since a link not synced are few: a short walk of the index.
    made = aliased(SyncItem)
    made_how = case((and_(latest.c.entity == CUSTOMER, Link.synced_at < Link.linked_at),
                     select(case((made.at >= Link.linked_at, made.direction), else_=""))
                     .where(made.entity == CUSTOMER, made.host_id == customer_id, made.run_id.is_(None),
                            made.action == "linked")
                     .order_by(made.id.desc()).limit(1).correlate(Link).scalar_subquery()), else_=None)
    return (select(latest.c.entity, latest.c.host_id, Link, SyncItem, SyncRun.kind, exporting.label("exporting"),
                   dismissed.label("dismissed"), made_how.label("made_how")).select_from(latest)
            .outerjoin(Link, and_(Link.entity == latest.c.entity, Link.host_id == latest.c.host_id))
            .outerjoin(SyncItem, SyncItem.id == latest.c.last_id)
            .outerjoin(SyncRun, SyncRun.id == SyncItem.run_id))


_STATUS = _status_statement()


def status(session: Session, customer: Customer) -> CustomerSyncStatus:
    """The customer's link, its contacts' links and each one's latest result, in one statement.

    The keys (the customer, then each of its contacts) are joined to their link and to their latest
    sync item, found by a correlated ``max(id)`` on the (entity, host_id, id) index: one index probe
    per key, however long the sync history grows.
    """
    rows = session.execute(_STATUS, {"customer_id": customer.id}).all()
    found = {(entity, host_id): (link, item) for entity, host_id, link, item, *_ in rows}
    kinds = {(entity, host_id): kind or "" for entity, host_id, _, _, kind, *_ in rows}  # each result's run's kind
    exporting, dismissed = (bool(rows[0].exporting), rows[0].dismissed is not None) if rows else (False, False)
    last_kind = kinds.get((CUSTOMER, customer.id), "")
    link, last = found.get((CUSTOMER, customer.id), (None, None))
    contacts = [(contact, *found.get((CONTACT, contact.id), (None, None))) for contact in customer.contacts]
    # A run that touched only contacts (a live update taking a contact added or changed in ConnectWise) is the
    # customer's latest result too: the panel showed the export before it as the latest. An export's own contact
    # results belong to its customer's result (same run), and a contact's link cleared by hand is no sync.
    later = [(item, kinds.get((CONTACT, contact.id), "")) for contact, _, item in contacts
             if item is not None and item.run_id is not None
             and (last is None or (item.id > last.id and item.run_id != last.run_id))]
    if later:
        last, last_kind = max(later, key=lambda pair: pair[0].id)
    fix = last.resolution if last is not None else ""
    if fix == HOST_MASTER_DRIFT_FIX:  # advice that depends on the master: read it only then
        fix = current_fix(fix, read_live(session).customer_master == CW_MASTER)
    went = None
    if link is not None and last is not None and last.direction not in _NOT_SYNCED and last.action not in SYNCED_ACTIONS:
        went = _went_through(session, customer, link, last)
    how = next((r.made_how for r in rows if r.entity == CUSTOMER), None)
    return CustomerSyncStatus(link, contacts, last, edited_since_sync(customer, link), fix, last_kind, went,
                              exporting, dismissed, how or "")


def _went_through(session: Session, customer: Customer, link: Link, last: SyncItem) -> dt.datetime | None:
    """When a sync (a run's result) last went through for the customer or one of its contacts since it was linked, in
    a run other than ``last``'s (a run that went through nothing for the customer is no sync of it, whatever it read
    of a contact).
    The link's ``synced_at`` is the time until which the host agrees with ConnectWise: a live update that took
    ConnectWise's changes into a customer holding changes of its own leaves it (they are still to export), so after
    a later result that went through nothing, "last synced" would go back to before that live update."""
    keys = or_(and_(SyncItem.entity == CUSTOMER, SyncItem.host_id == customer.id),
               and_(SyncItem.entity == CONTACT, SyncItem.host_id.in_([c.id for c in customer.contacts])))
    return session.execute(select(func.max(SyncItem.at)).where(
        keys, SyncItem.run_id.is_not(None), SyncItem.run_id != (last.run_id or 0),
        SyncItem.action.in_(SYNCED_ACTIONS), SyncItem.at >= link.linked_at)).scalar()


def edited_since_sync(customer: Customer, link: Link | None) -> bool:
    """The customer or one of its contacts was edited after its link was last synced: the rule of
    :func:`.list_status.state_expression`'s "changed", on the rows the page holds (no statement of its own)."""
    return link is not None and edited_after(customer, link.synced_at)


LINK_WAIT_SECONDS = 10.0  # how long a rep's Link to Company ID or Clear link waits for an export of the customer


class ImportUnderWay(AlreadyRunning):
    """A rep's link change waited in vain for an import of a company it involves (``company``: how it is named)."""

    def __init__(self, run: SyncRun | None, company: str):
        super().__init__(run)
        self.company = company


_linking = threading.local()  # this thread's linking_customers: the locks it holds, until when it may wait


@contextmanager
def linking_customers(session: Session, customer_ids: Iterable[int], companies: Iterable[int] = (),
                      wait_seconds: float | None = None) -> Iterator[None]:
    """Hold the customers' export locks (:func:`.exclusive.customers_locked`, the one every export of a customer holds
    while it reads and writes its links) and the import locks of the ConnectWise companies involved
    (:func:`.exclusive.companies_locked`, held by every import of a company while it reads and writes the links to it:
    ``companies``, the companies the customers are linked to now, and those :func:`hold_companies` adds, such as the
    company a relink finds) while a rep links or clears them; the caller commits inside. An export, or an import of
    the company a link pointed at, reads the links, then writes them back by id: a relink or clear saved in between
    was overwritten (the link pointed at the old company again, its contacts linked into it, the old company's values
    imported over the customer) or half undone. So they take turns: this waits ``wait_seconds`` (None:
    :data:`LINK_WAIT_SECONDS`) in all, then raises :class:`.exclusive.AlreadyRunning` with the export under way (None:
    not known), or :class:`ImportUnderWay` with the import. The session's connection is given back first (its snapshot
    would predate their writes; and a rep's wait holds no connection)."""
    ids = sorted(set(customer_ids))
    wait = LINK_WAIT_SECONDS if wait_seconds is None else wait_seconds
    session.rollback()
    with ExitStack() as stack:
        try:
            stack.enter_context(customers_locked(session, ids, wait_seconds=wait))
        except Busy:
            session.rollback()
            raise AlreadyRunning(covering_run(session, ids[0]) if len(ids) == 1 else None) from None
        # (under the customers' locks only an import can link one of them meanwhile, and then it has finished)
        linked = list(session.execute(select(Link.cw_id).where(Link.entity == CUSTOMER, Link.host_id.in_(ids)))
                      .scalars())
        session.rollback()
        outer = getattr(_linking, "held", None)
        _linking.held, _linking.until = stack, time.monotonic() + wait
        stack.callback(setattr, _linking, "held", outer)
        hold_companies(session, [*companies, *linked])
        yield


def linking_customer(session: Session, customer_id: int, wait_seconds: float | None = None):
    """:func:`linking_customers` for one customer (Link to Company ID, Clear link, the Import popup's link)."""
    return linking_customers(session, [customer_id], wait_seconds=wait_seconds)


def hold_companies(session: Session, cw_ids: Iterable[int]) -> None:
    """Within :func:`linking_customers`, also hold the import locks of these ConnectWise companies until it ends,
    waiting at most what is left of its wait; :class:`ImportUnderWay` past it. Outside it, nothing (no link is
    changed there by a person)."""
    stack = getattr(_linking, "held", None)
    ids = sorted({int(i) for i in cw_ids if i is not None})
    if stack is None or not ids:
        return

    def take(wait: float) -> None:
        stack.enter_context(advisory_locks(session.get_bind(), company_keys(ids), IMPORT_BUSY, wait,
                                           with_enclosing=True))
    try:
        take(0)  # (free: nothing to give back)
        return
    except Busy:
        session.rollback()  # a wait holds no connection of the session's
    try:
        take(max(0.0, _linking.until - time.monotonic()))
    except Busy:
        session.rollback()
        run = active_run(session, IMPORT_KIND, lambda params: True)
        named = session.execute(select(Link.cw_identifier).where(Link.entity == CUSTOMER, Link.cw_id.in_(ids))
                                .limit(1)).scalar()
        raise ImportUnderWay(run, f"ConnectWise company {named}" if named else "the ConnectWise company") from None


def clear_link(session: Session, customer: Customer, contact_id: int | None = None, *, actor: str = "") -> str:
    """Forget the customer's link (and its contacts'), or one contact's link. Flushes, does not commit.

    The clearing is recorded as the record's latest result (:func:`_note`), so the page no longer shows the
    last export's result, which was about the link just cleared, as if it were current. The notes of what live updates
    found through the link cleared go with it (:func:`_clear_notes`: the customer's and its contacts', or the
    contact's), and so does a deletion the mass-delete guard held back for it (its alert too, when it was the last).
    The customer's links are locked first, all in one statement by id (:func:`_lock_links`)."""
    if contact_id is not None:
        contact = next((c for c in customer.contacts if c.id == contact_id), None)
        if contact is None:
            raise RelinkError("That contact does not belong to this customer.")
    _lock_links(session, customer)
    if contact_id is not None:
        old = get_link(session, CONTACT, contact_id)
        moved = MV.moved_to(old.synced_values) if old is not None and old.status == "missing_in_cw" else None
        if moved is not None:  # (the page offers no Clear link for it: a form posted anyway)
            raise RelinkError(MV.clear_refused(contact.name, moved))
        session.execute(delete(Link).where(Link.entity == CONTACT, Link.host_id == contact_id))
        message = (f"The ConnectWise link of {contact.name} ({customer.name}) was cleared: the next export links it "
                   "to the company's contact that is the same person (the same e-mail, or the same name when one has "
                   "none), or creates it.")
        if old is not None:
            cleared = _clear_notes(session, customer, f"the contact's link to ConnectWise contact id {old.cw_id} was "
                                   "cleared, which the note was about", actor, contact_id=contact_id)
            message += _cleared_words(cleared, "through that link")
            _note(session, "cleared", CONTACT, contact_id, old.cw_id, contact.name, message, actor)
            end_alert_unless_held(session)
        return message
    old = get_link(session, CUSTOMER, customer.id)
    session.execute(delete(Link).where(Link.entity == CUSTOMER, Link.host_id == customer.id))
    before = f"company {old.cw_identifier} (id {old.cw_id})" if old is not None \
        else "the company it was linked to before"
    kept = _clear_contacts(session, customer, actor, before)
    label = f"{customer.name} ({customer.account_number})"
    if old is not None and old.status == "missing_in_cw" and \
            (old.cw_identifier or "").casefold() == (customer.account_number or "").casefold():
        message = (f"The ConnectWise link of {label} was cleared. ConnectWise keeps the deleted company's Company ID "
                   f"{customer.account_number}, so an export cannot create a new company with it: change the "
                   "customer's account number, then export, or restore the company in ConnectWise and link to it "
                   "again.")
    else:
        message = (f"The ConnectWise link of {label} was cleared: the next export links the company whose Company ID "
                   f"is {customer.account_number}, or creates it.")
    if old is not None:
        cleared = _clear_notes(session, customer, f"the customer's link to ConnectWise {before} was cleared, which "
                               "the note was about", actor)
        message += _cleared_words(cleared, f"in {before}")
    if kept:
        message += f" {kept}"
    if old is not None:
        _note(session, "cleared", CUSTOMER, customer.id, old.cw_id, label, message, actor)
    end_alert_unless_held(session)
    return message


def _lock_links(session: Session, customer: Customer) -> dict[tuple[str, int], Link]:
    """Lock the customer's link and its contacts' links before writing any of them: in one statement, in id order, as
    a live-update pass applying the customer and a dismissal of its notes lock them (``shared.link_locks``). Written
    one after the other (the customer's, then its contacts'), a pass or a dismissal holding a contact's link older
    than the customer's waited for this save while it waited for them, and PostgreSQL aborted one of the two."""
    return lock_customer_links(session, customer.id, [c.id for c in customer.contacts])


def _note(session: Session, action: str, entity: str, host_id: int, cw_id: int | None, label: str, message: str,
          actor: str) -> None:
    """Record a change of link made by a person as the record's latest result (no run: direction ``link``)."""
    by = f" (by {actor})" if actor else ""
    session.add(SyncItem(run_id=None, entity=entity, direction=LINK_DIRECTION, host_id=host_id, cw_id=cw_id,
                         label=label[:300], action=action,
                         message=message + by))


_SAME_PERSON = ("the next export links it to the company's contact that is the same person (the same e-mail, or the "
                "same name when one has none), or creates it.")


def _clear_contacts(session: Session, customer: Customer, actor: str, before: str | None) -> str:
    """Clear the customer's contacts' links, each recorded as the contact's latest result, now that the customer's link
    to ``before`` (in words; None: linked again to the same company) is cleared or pointed at another company. A
    contact with no link whose latest result left it out of ConnectWise (an export into ``before`` failed or did not
    attempt it) gets one too, saying that result was about that company: it no longer keeps the customer failed on All
    Customers and its page (the next export tries it in the company linked then).

    A contact ConnectWise moved to another company keeps its link, marked moved (:mod:`..shared.moved_contact`), as
    one contact's Clear link refuses it: without it the next export would create the person again under this
    customer's company (a second ConnectWise contact of them). Returns the words saying so ("" when none is kept)."""
    ids = [c.id for c in customer.contacts]
    if not ids:
        return ""
    links = list(session.execute(select(Link).where(Link.entity == CONTACT, Link.host_id.in_(ids))).scalars())
    kept = {ln.host_id: moved for ln in links
            if ln.status == "missing_in_cw" and (moved := MV.moved_to(ln.synced_values)) is not None}
    cleared = {ln.host_id: ln.cw_id for ln in links if ln.host_id not in kept}
    if cleared:
        session.execute(delete(Link).where(Link.entity == CONTACT, Link.host_id.in_(sorted(cleared))))
    ids = [i for i in ids if i not in kept]
    unlinked = [i for i in ids if i not in cleared]
    undone = {}
    if unlinked and before is not None:
        latest = (select(func.max(SyncItem.id)).where(SyncItem.entity == CONTACT, SyncItem.host_id.in_(unlinked))
                  .group_by(SyncItem.host_id))
        undone = {item.host_id: item for item in session.execute(
            select(SyncItem).where(SyncItem.id.in_(latest), SyncItem.action.in_(UNDONE))).scalars()}
    for contact in customer.contacts:
        if contact.id in cleared:
            _note(session, "cleared", CONTACT, contact.id, cleared[contact.id], contact.name,
                  f"The ConnectWise link of {contact.name} was cleared with its company's: {_SAME_PERSON}", actor)
        elif contact.id in undone:
            item = undone[contact.id]
            how = "failed" if item.action == "failed" else "was not attempted"
            _note(session, "cleared", CONTACT, contact.id, item.cw_id, contact.name,
                  f"{contact.name}'s last result, which {how}, was about ConnectWise {before}, which {customer.name} is "
                  f"no longer linked to: {_SAME_PERSON}", actor)
    return " ".join(_kept_moved(c.name, kept[c.id]) for c in customer.contacts if c.id in kept)


def _kept_moved(name: str, moved: dict) -> str:
    """Why a moved contact's link stays when its customer's link is cleared or pointed elsewhere."""
    return (f"The ConnectWise link of {name} was kept: ConnectWise has this person under {MV.where(moved)}, where they "
            "were moved, so exports of this customer will not create them again (a second ConnectWise contact of the "
            "same person). If they work there now, delete them from this customer in ChannelOnline; if the move was a "
            "mistake, move them back in ConnectWise (the next live update restores the link).")


@dataclass(frozen=True)
class Mismatch:
    """The company the Company ID typed names is not this customer's: what linking would do, to confirm first."""

    cw_id: int
    identifier: str
    name: str
    question: str


@dataclass(frozen=True)
class Relinked:
    """What a re-link did: linked (``message``), or asks first (``confirm``), or offers the companies whose name or
    Company ID contains the text typed (``found``, with ``message`` saying no company has it as its Company ID)."""

    message: str = ""
    confirm: Mismatch | None = None
    found: lookup.Found | None = None
    linked_cw_id: int | None = None  # with ``found``: the company this customer is linked to now (no Link on it)

    @property
    def linked(self) -> bool:
        return self.confirm is None and self.found is None


def mismatch(customer: Customer, record: dict, holder: dict | None = None) -> Mismatch | None:
    """Why linking ``customer`` to ``record`` needs a confirmation, or None when the company is plausibly the
    customer's: its Company ID is the customer's account number (ignoring case), or its name matches the
    customer's as the Map Customers page matches likely duplicates (:func:`.customer_matching.normalize_name`).

    ``holder``: another ConnectWise company (deleted or not) that has the customer's account number as its Company
    ID. ConnectWise refuses a second company with it, so the export cannot give ``record`` that Company ID: always
    asked, and the question says so and what to do instead."""
    identifier, name = str(record.get("identifier") or ""), str(record.get("name") or "")
    if holder is None and (identifier.casefold() == (customer.account_number or "").casefold() or
                           normalize_name(name) == normalize_name(customer.name or "")):
        return None
    place = lookup.place(record)
    company = f"ConnectWise company {identifier} is “{name}”{f' ({place})' if place else ''}"
    if holder is not None:
        taken = str(holder.get("identifier") or customer.account_number)
        held = f"ConnectWise company {taken} (“{holder.get('name') or ''}”)"
        instead = (f"restore {taken} in ConnectWise and link this customer to it"
                   if holder.get("deletedFlag") else f"link this customer to {taken} instead")
        deleted = ", deleted there, which keeps its Company ID," if holder.get("deletedFlag") else ""
        named = normalize_name(name) == normalize_name(customer.name or "")
        question = (f"{company}{'' if named else f', not {customer.name} ({customer.account_number})'}. Its Company "
                    f"ID cannot be changed to {customer.account_number}: {held}{deleted} already has it, so the next "
                    f"export of {customer.name} would fail. If {held} is {customer.name}, {instead}; if this company "
                    f"is, change {customer.name}'s account number first (to one no ConnectWise company has), then "
                    "link it.")
        if not named:
            question += (f" Linking anyway makes the next export rename it to “{customer.name}” and send this "
                         "customer's fields over its own.")
        return Mismatch(int(record["id"]), identifier, name, question)
    others = [rule.cw for rule, _, _ in M.company_differences(M.customer_values(customer), record)
              if rule.host_attr not in ("name", "account_number")]
    rest = f", and replace its {_listed(others)} with this customer's" if others else ""
    question = (f"{company}, not "
                f"{customer.name} ({customer.account_number}). Linking makes the next export rename it to "
                f"“{customer.name}” and change its Company ID to {customer.account_number}{rest}. Link only if this "
                f"company really is {customer.name}.")
    return Mismatch(int(record["id"]), identifier, name, question)


def id_holder(client: ConnectWiseClient, customer: Customer, record: dict) -> dict | None:
    """Another ConnectWise company (a deleted one too: it keeps its Company ID) whose Company ID is the customer's
    account number, when ``record``'s is not: the export could not give ``record`` that Company ID. One request."""
    account = (customer.account_number or "").strip()
    if not account or str(record.get("identifier") or "").casefold() == account.casefold():
        return None
    rows = client.companies.list(conditions=C.eq("identifier", account),
                                 fields=["id", "identifier", "name", "deletedFlag"], page_size=10)
    others = [r for r in rows if r.get("id") != record.get("id")
              and str(r.get("identifier") or "").casefold() == account.casefold()]
    return next((r for r in others if not r.get("deletedFlag")), others[0] if others else None)


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _cw_values(record: dict, host: dict) -> dict:
    """The company's mapped values as the host names them, as live updates compare them (inbound ``_company``)."""
    theirs = M.company_host_values(record)
    M.keep_default_site_name(theirs, host)
    return theirs


def relink(session: Session, client: ConnectWiseClient, customer: Customer, identifier: str, *,
           confirmed: int | None = None, actor: str = "", agree: bool = True) -> Relinked:
    """Link the customer to the ConnectWise company with this Company ID. Flushes, does not commit.

    A company that is not plausibly the customer's (:func:`mismatch`) is linked only when ``confirmed`` is its
    id: the next export overwrites it with the customer's fields. When no company has that Company ID, the
    companies whose name or Company ID contains it are offered (the rep typed a name).

    The agreed values are ConnectWise's as they are now: what the customer holds differently counts as changed in
    ChannelOnline (the next export sends it), and only what changes in ConnectWise afterwards comes back by live
    updates. Its contacts' links are cleared: they belonged to the old company, and the next export
    matches them again by e-mail within the new one. So are the notes of what live updates found in the old company
    (:func:`_clear_notes`), and nothing of the old agreement stays (the site taken for the Location Code, a held
    deletion: ``colcw:`` keys; the mass-delete guard's alert goes when that was the last deletion held). Linked again
    to the company it is linked to, nothing changes: its agreement, last sync, notes and latest result stand, and the
    answer says it was already linked (a link broken because the company was deleted, the company since restored in
    ConnectWise, is linked again, its agreement and notes kept). ``agree`` False (the import popup's Link and import,
    ConnectWise the master: :func:`link_for_import`): linked to another company, the link agrees on nothing, so the
    import that follows takes ConnectWise's values.
    """
    identifier = identifier.strip()
    if not identifier:
        raise RelinkError("Enter the ConnectWise Company ID to link this customer to.")
    rows = client.companies.list(conditions=C.eq("identifier", identifier), fields=M.COMPANY_FIELDS, page_size=10)
    live = [r for r in rows if not r.get("deletedFlag")]
    if not live:
        detail = " (it was deleted)" if rows else ""
        missing = f"No ConnectWise company has the Company ID “{identifier}”{detail}."
        found = lookup.companies_like(session, client, identifier)
        if found.choices:
            own = get_link(session, CUSTOMER, customer.id)
            return Relinked(message=missing, found=found, linked_cw_id=own.cw_id if own is not None else None)
        raise RelinkError(f"{missing} No company's name contains it either. Check it in ConnectWise and try again.")
    record = next((r for r in live if r.get("identifier") == identifier), live[0])
    # Under Link to Company ID's locks (linking_customers), the company found is held too: an import of it must not
    # link it to another customer, or write over this one, while this decides and saves.
    hold_companies(session, [record["id"]])
    others = [row for row in find_by_cw(session, CUSTOMER, record["id"]) if row.host_id != customer.id]
    if others:
        other = session.get(Customer, others[0].host_id)
        named = f"{other.name} ({other.account_number})" if other is not None else f"id {others[0].host_id}"
        raise RelinkError(f"ConnectWise company {record['identifier']} is already linked to another ChannelOnline "
                          f"customer, {named}. Clear that customer's link first.")
    current = get_link(session, CUSTOMER, customer.id)
    same = current is not None and current.cw_id == record["id"]
    # The company it is linked to already: nothing to confirm. Another: asked when it is not plausibly the
    # customer's, or when another company holds the customer's account number (the export could not rename it).
    holder = None if same else id_holder(client, customer, record)
    ask = None if same else mismatch(customer, record, holder)
    if ask is not None and confirmed != ask.cw_id:
        return Relinked(confirm=ask)
    label = f"{customer.name} ({customer.account_number})"
    if same and current.status == "ok":
        # Nothing to link: its agreement, last sync, notes, contacts' links and latest result stand as they were (a
        # "linked" result would make it "linked on this page, not synced since" and hide what its notes say).
        return Relinked(message=f"{label} is already linked to ConnectWise company {record['identifier']} "
                                f"({record.get('name')}): nothing was changed.")
    # The customer's links are locked before any is written, all in one statement by id, and what was decided above
    # from its link is decided again on the link as it is now: another rep's link or clear (another tab, a page
    # drawn before) may have been saved since it was read.
    now = _lock_links(session, customer).get((CUSTOMER, customer.id))
    if now is not None and now.cw_id == record["id"] and now.status == "ok":
        return Relinked(message=f"{label} is already linked to ConnectWise company {record['identifier']} "
                                f"({record.get('name')}): nothing was changed.")
    if same and (now is None or now.cw_id != record["id"]):
        # It was linked to this company (its link broken), and no longer is: asked as for any other company.
        holder = id_holder(client, customer, record)
        ask = mismatch(customer, record, holder)
        if ask is not None and confirmed != ask.cw_id:
            return Relinked(confirm=ask)
    current, same = now, now is not None and now.cw_id == record["id"]
    # Re-linked to the company it is linked to (its link broken: the company restored in ConnectWise), the agreement
    # stands; to another, it is ConnectWise's values now.
    host = M.customer_values(customer)
    values = None if same or not agree else _cw_values(record, host)
    synced_before = current.synced_at if same else None
    # The company it was linked to (the link is repointed below), named with its id too: its Company ID may be the
    # new one's now, changed in ConnectWise.
    before = f"company {current.cw_identifier} (id {current.cw_id})" if current is not None \
        else "the company it was linked to before"
    link = set_link(session, CUSTOMER, customer.id, record["id"], cw_identifier=str(record.get("identifier", "")),
                    cw_last_updated=M.last_updated(record), values=values)
    if synced_before is not None:
        link.synced_at = synced_before  # nothing was synced: its last sync stays what it was
    else:
        # Linked, not synced: its sync time is before its link time until an export, import or live update moves
        # it (the panel says "linked …, not synced since", not "last synced" at the link's time).
        link.synced_at = min(link.synced_at, link.linked_at - dt.timedelta(microseconds=1))
    if values is not None and values != {k: host.get(k) for k in values} and customer.updated_at is not None:
        # What both sides agree on is ConnectWise's: the customer's own values are changes not exported yet, as
        # All Customers and the panel say ("Changed since export") until the export sends them.
        link.synced_at = min(link.synced_at, customer.updated_at - dt.timedelta(microseconds=1))
    kept = _clear_contacts(session, customer, actor, None if same else before)
    # The notes of what live updates found were about the company it was linked to: they go with that link, and so
    # does a deletion held back for it (the agreement was replaced, the contacts' links cleared): the alert too when
    # that was the last.
    cleared = 0 if same else _clear_notes(
        session, customer, f"the customer was linked to ConnectWise company {record.get('identifier', '')} (id "
        f"{record['id']}) instead of {before}, which the note was about", actor)
    end_alert_unless_held(session)
    message = f"Linked {label} to ConnectWise company {record['identifier']} ({record.get('name')})."
    if holder is not None:
        message += (f" The next export cannot change its Company ID to {customer.account_number}: ConnectWise "
                    f"company {holder.get('identifier')} has it. Change {customer.name}'s account number before "
                    "exporting.")
    elif ask is not None:
        message += f" The next export renames it to {customer.name} and sends this customer's fields over its own."
    else:
        message += " Export to update it."
    message += _cleared_words(cleared, f"in {before}") + (f" {kept}" if kept else "")
    _note(session, "linked", CUSTOMER, customer.id, record["id"], label, message, actor)
    return Relinked(message=message)


def _clear_notes(session: Session, customer: Customer, why: str, actor: str, *, contact_id: int | None = None) -> int:
    """Forget the customer's notes of what live updates found (changes not taken, conflicts, contacts added in
    ConnectWise: :class:`~...models.RecordDrift`), which were about the company it was linked to, now that it is
    linked to another or its link is cleared (``why``, in words, ending "which the note was about"): no later pass
    reads that company for it, so nothing else would end them, and the panel and All Customers would go on showing
    them (with Keep ChannelOnline's value, which means nothing without the link). ``contact_id``: only that contact's
    notes, its own link cleared. Each note the page showed is recorded as a note of the customer's, as a dismissal is
    (who, when, what it said), not as its latest result. How many were recorded.
    The link was written first (its row lock held): a live-update pass applying this customer meanwhile has committed
    its notes, which go too, and one that planned from the old company's agreement drops its plan."""
    which = RecordDrift.customer_id == customer.id
    if contact_id is not None:
        which = and_(which, RecordDrift.entity == CONTACT, RecordDrift.host_id == contact_id)
    rows = list(session.execute(select(RecordDrift).where(which)
                                .order_by(RecordDrift.entity.desc(), RecordDrift.host_id, RecordDrift.field)).scalars())
    if not rows:
        return 0
    contacts = {c.id: c for c in customer.contacts}
    label = f"{customer.name} ({customer.account_number})"
    by = f" (by {actor})" if actor else ""
    shown = 0
    for row in rows:
        if row.entity == CONTACT and row.host_id not in contacts:
            continue  # about a contact since deleted in ChannelOnline: the page no longer showed it
        whose = f"{contacts[row.host_id].name} ({customer.name})" if row.entity == CONTACT else label
        had = f"{_said(row.cw_value)} in ConnectWise" + \
            (f", {_said(row.host_value)} in ChannelOnline" if row.kind != "new_contact" else "")
        said = f"{row.label} of {whose}: note cleared: {why} ({had} then)."
        session.add(SyncItem(run_id=None, entity=NOTE_ENTITY, direction=NOTE_DIRECTION, host_id=customer.id,
                             cw_id=row.cw_id, label=label[:300], action="cleared", message=said + by))
        shown += 1
    session.execute(delete(RecordDrift).where(which))
    return shown


def _cleared_words(cleared: int, where: str) -> str:
    """What the flash (and the latest result) says of the notes :func:`_clear_notes` cleared ("" for none)."""
    if not cleared:
        return ""
    return (f" {cleared} note{'s' if cleared != 1 else ''} of what live updates found {where} "
            f"{'were' if cleared != 1 else 'was'} cleared (listed under the notes dismissed).")


def _said(text: str) -> str:
    return f"“{text}”" if text else "(blank)"


def link_for_import(session: Session, client: ConnectWiseClient, customer_id: int, identifier: str, cw_id: int, *,
                    actor: str = "", then_import: bool = False) -> str:
    """Link the existing customer ``customer_id`` to the company with the Company ID ``identifier`` (ConnectWise
    id ``cw_id``, as the Import From ConnectWise popup showed it), so that importing it updates that customer
    instead of creating a likely duplicate. Flushes, does not commit; raises :class:`RelinkError` saying why not
    (the customer is gone or linked to another company meanwhile, or the Company ID names another company now).

    ``then_import`` (the popup's Link and import) with ConnectWise the master: the link agrees on nothing, so the
    import takes ConnectWise's values into the customer, blanks too, as the popup's "After linking" column shows
    (:func:`.company_import.imported_values`, one rule for both). Agreeing on ConnectWise's values, the link made the
    customer's differing values read as its own edits not exported yet: the import kept every one ("already up to
    date"), so the column was false. Otherwise (Keep mine, or ChannelOnline the master) it agrees on ConnectWise's
    values, as Link to Company ID does."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise RelinkError("The ChannelOnline customer shown was deleted meanwhile, so nothing was linked or imported. "
                          "Import the company again.")
    label = f"{customer.name} ({customer.account_number})"
    current = get_link(session, CUSTOMER, customer.id)
    if current is not None and current.cw_id != cw_id:
        raise RelinkError(f"{label} was linked to ConnectWise company {current.cw_identifier} meanwhile, so it was "
                          f"not linked to {identifier} and nothing was imported. Import {identifier} again to choose.")
    answer = relink(session, client, customer, identifier, confirmed=cw_id, actor=actor,
                    agree=not (then_import and cw_is_master(session)))
    if not answer.linked:
        raise RelinkError(f"The Company ID {identifier} no longer names the company shown, so nothing was linked or "
                          "imported. Import it again.")
    return f"Linked {label} to ConnectWise company {identifier}."


@dataclass(frozen=True)
class LinkPreview:
    """What linking a company to a customer on Map Customers changes: the mapped fields whose values differ
    (field, the customer's value, the company's), and which side's values win under the master setting."""

    cw_id: int
    company: str  # "UNQ000 (Evergreen Dental Group)"
    customer: str  # "Evergreen Dental (DEMO00012)"
    changes: list[tuple[str, str, str]]
    cw_wins: bool  # ConnectWise is the master for customer data: its values replace the customer's


class _CompaniesReadOnce:
    """A client's companies whose reads by id are kept for the request (:class:`ReadOnce`)."""

    def __init__(self, companies) -> None:
        self._companies = companies
        self._read: dict[int, dict | None] = {}  # id asked for → its record (None: ConnectWise has no such company)
        self._fields: set[str] = set()  # the fields every kept record was read with

    def iterate_in(self, field_name: str, values, *, conditions=None, fields=None, **kwargs):
        values = list(values)
        wanted = set(fields or ())
        if (field_name == "id" and conditions is None and not kwargs and fields and values
                and all(v in self._read for v in values) and wanted <= self._fields):
            return iter([self._read[v] for v in dict.fromkeys(values) if self._read[v] is not None])
        records = list(self._companies.iterate_in(field_name, values, conditions=conditions, fields=fields,
                                                  **kwargs))
        if field_name == "id" and conditions is None and not kwargs and fields and wanted >= self._fields:
            if wanted != self._fields:  # read with more fields: kept instead of what was kept
                self._read, self._fields = {}, wanted
            self._read.update(dict.fromkeys(values))
            self._read.update({int(r["id"]): r for r in records})
        return iter(records)

    def __getattr__(self, name: str):
        return getattr(self._companies, name)


class ReadOnce:
    """The ConnectWise client for one Map customers save: companies read by id are not asked for again by id in the
    same request. The save's preview (:func:`link_previews`) reads the companies chosen, with every mapped field;
    the save itself then reads them by id again to refuse one deleted since the scan
    (:func:`.customer_matching.save_customer_mappings`): that is the answer the preview just had."""

    def __init__(self, client: ConnectWiseClient) -> None:
        self._client = client
        self.companies = _CompaniesReadOnce(client.companies)

    def __getattr__(self, name: str):
        return getattr(self._client, name)


def link_previews(session: Session, client: ConnectWiseClient, pairs: dict[int, int]) -> list[LinkPreview]:
    """For each company (ConnectWise id) → customer (host id) about to be linked, the mapped fields whose values
    differ (:func:`.fields.company_differences`, the sync's own definition); pairs that agree are left out. The
    companies are read in one request; one deleted or gone meanwhile is left out (saving the link says so). Given a
    :class:`ReadOnce` client, a save that follows reads them from that answer, not from ConnectWise again."""
    if not pairs:
        return []
    records = {int(r["id"]): r for r in client.companies.iterate_in("id", list(pairs), fields=M.COMPANY_FIELDS)
               if not r.get("deletedFlag")}
    customers = {c.id: c for c in session.execute(select(Customer).where(Customer.id.in_(list(pairs.values()))))
                 .scalars()}
    cw_wins = cw_is_master(session)
    out = []
    for cw_id, host_id in pairs.items():
        record, customer = records.get(cw_id), customers.get(host_id)
        if record is None or customer is None:
            continue
        changes = [(rule.host, M.shown_value(mine), M.shown_value(theirs))
                   for rule, mine, theirs in M.company_differences(M.customer_values(customer), record)]
        if changes:
            out.append(LinkPreview(cw_id, f"{record.get('identifier')} ({record.get('name')})",
                                   f"{customer.name} ({customer.account_number})", changes, cw_wins))
    return out


# --- the links Map customers' scan makes (Company ID = account number) -------------------------------------------

# The fields the scan reads anyway (customer_matching.scan) and, in the same pass, what comparing a company it links
# with its customer needs (every mapped field): the pages it reads are as many, only longer.
_COMPARED_FIELDS = [f for f in M.COMPANY_FIELDS if f != "_info"]


class _ScannedCompanies:
    """A client's companies as the scan reads them (:class:`ScanReads`)."""

    def __init__(self, companies, accounts: set[str]) -> None:
        self._companies, self._accounts = companies, accounts
        self.kept: dict[int, dict] = {}  # ConnectWise id → record, of the companies whose Company ID is an account

    def iterate(self, *, fields=None, **kwargs):
        wider = list(dict.fromkeys([*fields, *_COMPARED_FIELDS])) if fields else None
        for record in self._companies.iterate(fields=wider, **kwargs):
            if str(record.get("identifier") or "") in self._accounts and not record.get("deletedFlag"):
                self.kept[int(record["id"])] = record
            yield record

    def __getattr__(self, name: str):
        return getattr(self._companies, name)


class ScanReads:
    """The ConnectWise client for Map customers' scan (:func:`.customer_matching.scan`, one pass over every company):
    its pages also carry every mapped field, and the companies whose Company ID is the account number of a customer
    linked to none are kept, so what differs between a company the scan links and its customer is known without a
    request more (:func:`note_scan_links`)."""

    def __init__(self, client: ConnectWiseClient, session: Session) -> None:
        self._client = client
        linked = select(Link.host_id).where(Link.entity == CUSTOMER)
        self.linked_before = set(session.execute(linked).scalars())
        accounts = set(session.execute(select(Customer.account_number).where(Customer.id.not_in(linked))).scalars())
        self.companies = _ScannedCompanies(client.companies, {a for a in accounts if a})

    def __getattr__(self, name: str):
        return getattr(self._client, name)


@dataclass(frozen=True)
class ScanLinked:
    """A customer Map customers' scan linked by Company ID, and the mapped fields whose values differ (field, the
    customer's value, the company's), as shown beside each other."""

    customer_id: int
    customer: str  # "Sterling Dental (DEMO00017)"
    company: str  # "DEMO00017 (Sterling Dental Associates)"
    changes: list[tuple[str, str, str]]


def scan_master_words(cw_wins: bool, changes: bool = True) -> str:
    """What the master setting means for a customer the scan linked (as Map customers says it for its own links)."""
    if not changes:
        return "Both sides agree on every mapped field."
    if cw_wins:
        return ("ConnectWise is the master for customer data: the next live update or safety-net pass replaces "
                "ChannelOnline's values with ConnectWise's.")
    return ("ChannelOnline is the master for customer data: the customer keeps its values, and its next Export to "
            "ConnectWise writes them over ConnectWise's.")


def scan_agreement(host: dict, record: dict) -> dict:
    """What a link the scan makes agrees on: the company's mapped values (as live updates compare them) that the
    customer holds too, as the scan read them; a field the two held differently gets no agreement. A later pass then
    tells a change made on one side since the scan from one made on both (a conflict, noted), and a field that differed
    at the scan is one with no earlier agreement (noted too: sync/inbound/customers.py). Without it, every later
    difference read as a change of ConnectWise's alone: a rep's edit made after the scan was overwritten (ConnectWise
    the master) without a note."""
    theirs = _cw_values(record, host)
    return {k: v for k, v in theirs.items() if host.get(k) == v}


def note_scan_links(session: Session, reads: ScanReads, scanned_at: dt.datetime | None, *,
                    actor: str = "") -> list[ScanLinked]:
    """The customers the scan just linked (links made at ``scanned_at`` to customers linked to none before), each with
    what differs from its company, as the scan read it, and the values both held then as its link's agreement
    (:func:`scan_agreement`). Each is recorded as the customer's latest result (no run: direction ``scan``), so its page
    says it was linked by Company ID, not synced, until a sync goes through. Flushes, does not commit."""
    if scanned_at is None:
        return []
    rows = session.execute(select(Link, Customer).join(Customer, Customer.id == Link.host_id)
                           .where(Link.entity == CUSTOMER, Link.linked_at == scanned_at)
                           .order_by(Customer.name, Customer.id)).all()
    cw_wins = cw_is_master(session)
    by = f" (by {actor})" if actor else ""
    out = []
    for link, customer in rows:
        if customer.id in reads.linked_before:
            continue
        record = reads.companies.kept.get(link.cw_id)
        label = f"{customer.name} ({customer.account_number})"
        company = f"{link.cw_identifier} ({record.get('name')})" if record is not None else link.cw_identifier
        host = M.customer_values(customer)
        changes = [] if record is None else [
            (rule.host, M.shown_value(mine), M.shown_value(theirs))
            for rule, mine, theirs in M.company_differences(host, record)]
        if record is not None:
            link.synced_values = scan_agreement(host, record)
        out.append(ScanLinked(customer.id, label, company, changes))
        differ = "; ".join(f"{field} “{mine}” here, “{theirs}” in ConnectWise" for field, mine, theirs in changes)
        message = (f"Linked to ConnectWise company {company} by Map customers' scan: its Company ID is this "
                   "customer's account number.")
        if record is not None:
            message += (f" Fields that differ: {differ}. " if changes else " ") + scan_master_words(cw_wins,
                                                                                                   bool(changes))
        session.add(SyncItem(run_id=None, entity=CUSTOMER, direction=SCAN_DIRECTION, host_id=customer.id,
                             cw_id=link.cw_id, label=label[:300], action="linked", message=message + by,
                             at=scanned_at))
    session.flush()
    return out
