"""Each customer's ConnectWise state for All Customers: one query for a page of rows, and the same
rule as a SQL clause so the page can be filtered by it.

* **failed**: its latest export or import failed or was not attempted (ConnectWise kept failing: busy,
  down, the connection dropped), or one of its contacts' latest result left it failed or not attempted while the
  customer is linked ("Contacts: 3 created, 1 failed"; a later pass of live updates that found the company
  unchanged does not hide it: the contact is still not in ConnectWise) (the reason is what went wrong, with its fix);
  a result that only says a link is broken (below) is not a failure;
* **broken link** (shown "Broken link"; failed to the list hooks' shared :class:`RecordState`): the company it is
  linked to was deleted in ConnectWise, or one of its contacts' ConnectWise contact was deleted or moved to another
  company there: nothing failed, the link needs the rep (the reason says what happened, with its fix, as the
  customer page does);
* **not linked**: never exported or imported (or its link was cleared);
* **changed**: the customer or one of its contacts was edited after its last sync;
* **synced**: otherwise.

What a row shows (:data:`SHOWN`, its label) refines that state, in this order (:data:`PRIORITY`, the first that holds):
failed, broken link, not linked, **not synced** ("Linked, not synced yet": linked and never synced since it was linked, on Map
customers, on its page, by Keep mine in the import popup; its page says "linked …; not synced since",
:func:`not_synced_expression`), changed, **ConnectWise differs** (ChannelOnline the master: a live update found values
changed in ConnectWise and did not take them, and those notes are still open on the customer's page, not dismissed:
"last synced" moved, but the two sides are not the same), synced. A customer not linked says what its export would do:
link the company whose Company ID is its account number, or create it (the list asks ConnectWise nothing); one whose
last export stopped at a look-alike company is failed, and says that refusal and its fix (Link, or confirm a new
company from its page).

The rule is written once (:data:`PRIORITY` and the conditions of :func:`shown_expression`), as a SQL ``CASE`` over
correlated subqueries, and used both for the status column and for the filter, so what a row shows is what the filter
option of that label selects. The customer page's panel decides the same way on what it has read
(:func:`shown_on_page`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, bindparam, case, exists, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from host_stub.models import Contact, Customer

from ...models import CONTACT, CUSTOMER, Link, RecordDrift, RecordState, RowState, SyncItem
from ...setup.customer_matching import MAP_DIRECTION
from ...setup.live_updates import cw_is_master
from ..shared import notes as N
from ..shared.advice import deleted_company_fix
from .link_batch import NOTE_SHOWN
from .links import LINK_DIRECTION, SCAN_DIRECTION, SYNCED_ACTIONS, UNDONE, CustomerSyncStatus

# What a row shows, and what the filter's option of that label selects: the one list of states, in the order the
# filter offers them. Each value is its filter's query parameter (the RecordState values stay valid).
FAILED, BROKEN, NOT_LINKED, NOT_SYNCED, CHANGED, DIFFERS, SYNCED = (
    "failed", "broken_link", "not_linked", "not_synced", "changed", "cw_differs", "synced")
SHOWN = {NOT_LINKED: "Not linked", NOT_SYNCED: "Linked, not synced yet", CHANGED: "Changed since export",
         DIFFERS: "Synced — ConnectWise differs (not taken)", SYNCED: "Synced", FAILED: "Failed",
         BROKEN: "Broken link"}
# Which wins when several hold (synced when none does).
PRIORITY = (FAILED, BROKEN, NOT_LINKED, NOT_SYNCED, CHANGED, DIFFERS)
# The colour of each (the tag's tone): a state the rep should look at is a warning.
TONES = {NOT_LINKED: "muted", NOT_SYNCED: "warn", CHANGED: "warn", DIFFERS: "warn", SYNCED: "ok", FAILED: "error",
         BROKEN: "warn"}
# The filter's labels, by RecordState (the list hooks' shared shape) and by shown state (this list's options).
LABELS = {RecordState.NOT_LINKED: SHOWN[NOT_LINKED], RecordState.SYNCED: SHOWN[SYNCED],
          RecordState.CHANGED: SHOWN[CHANGED], RecordState.FAILED: SHOWN[FAILED]}
NOT_SYNCED_LABEL = SHOWN[NOT_SYNCED]  # a linked customer no sync went through for since it was linked
FILTER_OPTIONS = [(value, SHOWN[value]) for value in (NOT_LINKED, NOT_SYNCED, SYNCED, DIFFERS, CHANGED, BROKEN,
                                                       FAILED)]


@dataclass(frozen=True)
class CustomerRowState(RowState):
    """A customer's row: its :class:`RecordState` (``state``), and what it shows (``shown``, a key of :data:`SHOWN`)."""

    shown: str = SYNCED

    @property
    def tone(self) -> str:
        return TONES[self.shown]


def decide(holds: Mapping[str, object]) -> str:
    """The state shown, from whether each state of :data:`PRIORITY` holds (Python truth values)."""
    return next((value for value in PRIORITY if holds[value]), SYNCED)


def _latest_item(column):
    """The customer's latest sync result's ``column`` (correlated to the outer Customer row)."""
    return (select(column).where(SyncItem.entity == CUSTOMER, SyncItem.host_id == Customer.id)
            .order_by(SyncItem.id.desc()).limit(1).correlate(Customer).scalar_subquery())


def _contact_undone(column: str):
    """The ``column`` of the first of the customer's contacts whose own latest result left it failed or not attempted
    (correlated to the outer Customer row; each contact's latest result through the results' (entity, host_id, id)
    index, so it does not grow with the sync history).

    The contact's own latest result, not the contacts' results in the run of the customer's latest one: a later run
    that read the company alone (a live update or safety-net pass that found it unchanged, an import) says nothing
    of a contact still not in ConnectWise. An export that creates or updates it, or its link cleared, is its latest
    result then (the customer's link cleared or pointed at another company records one for a contact an export into
    the old company left out: :func:`.links._clear_contacts`); a contact deleted from the customer is no longer among
    its contacts."""
    item = aliased(SyncItem)
    latest = aliased(SyncItem)
    latest_id = (select(func.max(latest.id)).where(latest.entity == CONTACT, latest.host_id == Contact.id)
                 .correlate(Contact).scalar_subquery())
    return (select(getattr(item, column)).select_from(Contact)
            .join(item, item.id == latest_id)
            .where(Contact.customer_id == Customer.id, item.action.in_(UNDONE), ~_contact_link_broken())
            .order_by(item.id).limit(1).correlate(Customer).scalar_subquery())


def _contact_link_broken() -> ColumnElement[bool]:
    """The contact's link is broken: its ConnectWise contact was deleted, or moved to another company, in ConnectWise
    (correlated to the outer Contact row). Its export's refusal is no failure of the export's: the link is what needs
    the rep (:data:`BROKEN`)."""
    return exists().where(Link.entity == CONTACT, Link.host_id == Contact.id,
                          Link.status == "missing_in_cw").correlate(Contact)


def _contact_broken(column: str):
    """The ``column`` of the latest result of the first of the customer's contacts whose link is broken (what live
    updates or an export said of it), correlated to the outer Customer row."""
    item = aliased(SyncItem)
    latest_id = (select(func.max(SyncItem.id)).where(SyncItem.entity == CONTACT, SyncItem.host_id == Contact.id)
                 .correlate(Contact).scalar_subquery())
    return (select(getattr(item, column)).select_from(Contact)
            .join(item, item.id == latest_id)
            .where(Contact.customer_id == Customer.id, _contact_link_broken())
            .order_by(Contact.id).limit(1).correlate(Customer).scalar_subquery())


def _conditions() -> dict[str, ColumnElement[bool]]:
    """Failed, not linked and changed as SQL, correlated to ``Customer``."""
    link = (select(Link.id).where(Link.entity == CUSTOMER, Link.host_id == Customer.id)
            .correlate(Customer).scalar_subquery())
    link_status = (select(Link.status).where(Link.entity == CUSTOMER, Link.host_id == Customer.id)
                   .correlate(Customer).scalar_subquery())
    synced_at = (select(Link.synced_at).where(Link.entity == CUSTOMER, Link.host_id == Customer.id)
                 .correlate(Customer).scalar_subquery())
    contact_edited = (select(func.max(Contact.updated_at)).where(Contact.customer_id == Customer.id)
                      .correlate(Customer).scalar_subquery())
    contact_broken = exists().where(Contact.customer_id == Customer.id, _contact_link_broken()).correlate(Customer)
    return {FAILED: or_(and_(_latest_item(SyncItem.action).in_(UNDONE), or_(link_status.is_(None),
                                                                            link_status != "missing_in_cw")),
                        and_(link.is_not(None), _contact_undone("id").is_not(None))),
            BROKEN: or_(link_status == "missing_in_cw", and_(link.is_not(None), contact_broken)),
            NOT_LINKED: link.is_(None),
            CHANGED: or_(Customer.updated_at > synced_at, and_(contact_edited.is_not(None), contact_edited > synced_at))}


def state_expression() -> ColumnElement[str]:
    """The customer's :class:`RecordState` value as SQL, correlated to ``Customer``."""
    holds = _conditions()  # (a broken link is failed to the list hooks' shared states)
    return RecordState.case(or_(holds[FAILED], holds[BROKEN]), holds[NOT_LINKED], holds[CHANGED])


# A note of the customer page's saying ConnectWise holds another value than ChannelOnline (a change not taken, a
# conflict ChannelOnline's value kept, a contact added in ConnectWise not created): the page's "ConnectWise and
# ChannelOnline differ" rows. A dismissed note is deleted; a conflict ConnectWise's value settled left both agreeing.
OPEN_NOTE = and_(RecordDrift.kept != "connectwise", NOTE_SHOWN)


def differs_expression() -> ColumnElement[bool]:
    """ConnectWise differs, as the customer's page notes it (:data:`OPEN_NOTE`), as SQL correlated to ``Customer``
    (one probe of the notes' customer_id index)."""
    return exists().where(RecordDrift.customer_id == Customer.id, OPEN_NOTE).correlate(Customer)


def shown_expression() -> ColumnElement[str]:
    """The state the row shows (a key of :data:`SHOWN`) as SQL, correlated to ``Customer``: :data:`PRIORITY`'s order."""
    holds = {**_conditions(), NOT_SYNCED: not_synced_expression(), DIFFERS: differs_expression()}
    return case(*((holds[value], literal(value)) for value in PRIORITY), else_=literal(SYNCED))


# The open notes' fix, by kind: a field's value not taken, or a contact added in ConnectWise not created here.
_DIFFERS_FIELDS = ("ConnectWise holds values live updates did not take (below): export it to put ChannelOnline's "
                   "values back, or keep ChannelOnline's value to dismiss each note.")
_DIFFERS_CONTACTS = ("ConnectWise holds contacts live updates did not create here (below): add each in ChannelOnline, "
                     "or import the company to take them, or dismiss the note.")
_DIFFERS_INACTIVE = ("ConnectWise has contacts of it made inactive there (below): delete each in ChannelOnline if they "
                     "left, or make them active again in ConnectWise.")


def differs_words(kinds: Iterable[str]) -> str:
    """What to do about the customer's open notes (:data:`OPEN_NOTE`) of ``kinds`` (RecordDrift.kind): the
    panel's and All Customers' words for "Synced — ConnectWise differs (not taken)"."""
    kinds = set(kinds)
    return " ".join(w for w, holds in ((_DIFFERS_FIELDS, bool(kinds - {"new_contact", N.INACTIVE})),
                                       (_DIFFERS_CONTACTS, "new_contact" in kinds),
                                       (_DIFFERS_INACTIVE, N.INACTIVE in kinds)) if holds) or _DIFFERS_FIELDS


def differs_on_page(drift: Iterable[RecordDrift]) -> bool:
    """:data:`OPEN_NOTE` on the notes the customer's page read (they are the notes it shows)."""
    return any(note.kept != "connectwise" for note in drift)


def shown_on_page(status: CustomerSyncStatus, drift: Iterable[RecordDrift]) -> str:
    """The state All Customers shows for the customer, decided on what its page read (no statement of its own):
    :func:`decide` over the rules of :func:`shown_expression`, on the page's rows."""
    link, last = status.link, status.last
    own_last = last if last is not None and last.entity == CUSTOMER else None
    company_gone = link is not None and link.status == "missing_in_cw"
    failed = link is not None and any(item is not None and item.action in UNDONE and not (
        clink is not None and clink.status == "missing_in_cw") for _, clink, item in status.contacts)
    broken = company_gone or (link is not None and any(
        clink is not None and clink.status == "missing_in_cw" for _, clink, _ in status.contacts))
    return decide({FAILED: failed or (own_last is not None and own_last.action in UNDONE and not company_gone),
                   BROKEN: broken,
                   NOT_LINKED: link is None,
                   NOT_SYNCED: status.last_synced is None,
                   CHANGED: status.changed,
                   DIFFERS: differs_on_page(drift)})


def not_synced_expression() -> ColumnElement[bool]:
    """The customer is linked, and nothing was synced since it was linked, as SQL correlated to ``Customer``: the
    customer page's rule (:attr:`.links.CustomerSyncStatus.last_synced` is None), on what one row's statement
    reads: its latest result is a link made without a sync (its page, Map customers or its scan), or else it is not
    a sync that went through and the link's sync time is before its link time (a link made without a sync keeps
    it so until an export, import or live update moves it). (The page also looks for a contact's sync since the link
    behind a later failure: a statement of its own, which the list does without.)"""
    linked_at = (select(Link.linked_at).where(Link.entity == CUSTOMER, Link.host_id == Customer.id)
                 .correlate(Customer).scalar_subquery())
    synced_at = (select(Link.synced_at).where(Link.entity == CUSTOMER, Link.host_id == Customer.id)
                 .correlate(Customer).scalar_subquery())
    direction, action = _latest_item(SyncItem.direction), _latest_item(SyncItem.action)
    return and_(linked_at.is_not(None), or_(
        direction.in_((LINK_DIRECTION, SCAN_DIRECTION, MAP_DIRECTION)),
        and_(or_(action.is_(None), action.not_in(SYNCED_ACTIONS)), synced_at < linked_at)))


def state_filter(value: str) -> ColumnElement[bool] | None:
    """The clause selecting the customers that show the state ``value`` (a key of :data:`SHOWN`; None for an unknown
    value: no filter)."""
    return shown_expression() == value if value in SHOWN else None


# Built once: the list runs it on every view, and a statement's cache key costs more to compute than
# the statement costs to run.
_ROW_STATES = select(
    Customer.id, state_expression(), _latest_item(SyncItem.action), _latest_item(SyncItem.message),
    _latest_item(SyncItem.resolution), _contact_undone("message"), _contact_undone("resolution"),
    _contact_broken("message"), _contact_broken("resolution"),
    (select(Link.status).where(Link.entity == CUSTOMER, Link.host_id == Customer.id)
     .correlate(Customer).scalar_subquery()),
    (select(Link.cw_identifier).where(Link.entity == CUSTOMER, Link.host_id == Customer.id)
     .correlate(Customer).scalar_subquery()), Customer.account_number, shown_expression()).where(Customer.id.in_(bindparam("ids", expanding=True)))


def not_synced_words(cw_master: bool) -> str:
    """What a linked customer not synced since it was linked, holding values of its own that differ from
    ConnectWise's, comes to, by the master for customer data (the list's reason and the customer page's panel)."""
    if cw_master:
        return ("It holds values of its own that differ from ConnectWise's; ConnectWise is the master for customer "
                "data, so the next live update or safety-net pass replaces them with ConnectWise's.")
    return "It holds values of its own that differ from ConnectWise's, which Export to ConnectWise sends."


def _open_note_kinds(session: Session, customer_ids: list[int]) -> dict[int, set[str]]:
    """The kinds of each customer's open notes (:data:`OPEN_NOTE`)."""
    out: dict[int, set[str]] = {}
    for cid, kind in session.execute(select(RecordDrift.customer_id, RecordDrift.kind).where(
            RecordDrift.customer_id.in_(list(customer_ids)), OPEN_NOTE).distinct()):
        out.setdefault(cid, set()).add(kind)
    return out


def row_states(session: Session, customer_ids: list[int]) -> dict[int, RowState]:
    """The state of each customer in ``customer_ids``, in one query."""
    if not customer_ids:
        return {}
    out = {}
    cw_master: bool | None = None  # read for the first row that needs it
    kinds: dict[int, set[str]] | None = None  # likewise
    for (cid, value, action, message, resolution, contact_message, contact_resolution, broken_message,
         broken_resolution, link_status, identifier, account, shown) in session.execute(_ROW_STATES, {"ids": list(customer_ids)}):
        state = RecordState(value)
        not_synced = shown == NOT_SYNCED
        if shown == BROKEN and link_status == "missing_in_cw":  # the company's own link
            reason = (f"The linked ConnectWise company {identifier} was deleted in ConnectWise. "
                      f"{deleted_company_fix(identifier or '', account or '')}")
        elif shown == BROKEN:  # a contact deleted or moved in ConnectWise: what was said of it, with its fix
            reason = " ".join(p for p in (broken_message, broken_resolution) if p)
        elif state is RecordState.FAILED and action in UNDONE:
            reason = " ".join(p for p in (message, resolution) if p)
        elif state is RecordState.FAILED and contact_message:
            reason = " ".join(p for p in (contact_message, contact_resolution) if p)
        elif state is RecordState.FAILED:
            reason = f"The linked ConnectWise company {identifier} was deleted in ConnectWise."
        elif state is RecordState.NOT_LINKED and (account or "").strip():
            reason = (f"Not linked: Export to ConnectWise links the company whose Company ID is {account.strip()}, "
                      "or creates it.")
        elif state is RecordState.NOT_LINKED:
            reason = "Not linked: Export to ConnectWise links it by Company ID or creates it."
        elif state is RecordState.CHANGED and not_synced:
            if cw_master is None:
                cw_master = cw_is_master(session)
            words = not_synced_words(cw_master)
            reason = f"Linked to ConnectWise company {identifier}, not synced since: {words[:1].lower()}{words[1:]}"
        elif state is RecordState.CHANGED:
            reason = f"Edited since it was last synced with company {identifier}: export it again to update it."
        elif not_synced:
            reason = f"Linked to ConnectWise company {identifier}, not synced since; not edited since it was linked."
        elif shown == DIFFERS:
            if kinds is None:
                kinds = _open_note_kinds(session, customer_ids)
            reason = (f"Linked to ConnectWise company {identifier}. Live updates found changes in ConnectWise and did "
                      "not take them (ChannelOnline is the master), so the two differ (open the customer to see "
                      f"them). {differs_words(kinds.get(cid, ()))}")
        else:
            reason = f"Linked to ConnectWise company {identifier}."
        out[cid] = CustomerRowState(state, SHOWN[shown], reason, shown)
    return out
