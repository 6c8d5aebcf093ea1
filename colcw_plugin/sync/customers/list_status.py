"""Each customer's ConnectWise state for All Customers: one query for a page of rows, and the same
rule as a SQL clause so the page can be filtered by it.

* **failed**: its latest export or import failed or was not attempted (ConnectWise kept failing: busy,
  down, the connection dropped), one of its contacts' latest result left it failed or not attempted while the
  customer is linked ("Contacts: 3 created, 1 failed"; a later pass of live updates that found the company
  unchanged does not hide it: the contact is still not in ConnectWise), or the company it is linked to was
  deleted in ConnectWise (the reason is what went wrong, with its fix);
* **not linked**: never exported or imported (or its link was cleared);
* **changed**: the customer or one of its contacts was edited after its last sync;
* **synced**: otherwise.

A linked customer that was never synced since it was linked (on Map customers, on its page, by Keep mine in the
import popup: its link's sync time is before its link time, and no sync went through since) reads "Linked, not synced
yet", whichever of changed or synced it is, as its page says "linked …; not synced since" (:func:`not_synced_expression`):
never "Changed since export" nor "Synced". A customer not linked says what its export would do: link the company whose
Company ID is its account number, or create it (true either way; the list asks ConnectWise nothing).

The rule is written once, as a SQL ``CASE`` over correlated subqueries (:func:`state_expression`),
and used both for the status column and for the filter, so what a row shows is what the filter
selects.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased

from host_stub.models import Contact, Customer

from ...models import CONTACT, CUSTOMER, Link, RecordState, RowState, SyncItem
from ...setup.customer_matching import MAP_DIRECTION
from .links import LINK_DIRECTION, SCAN_DIRECTION, SYNCED_ACTIONS

LABELS = {RecordState.NOT_LINKED: "Not linked", RecordState.SYNCED: "Synced",
          RecordState.CHANGED: "Changed since export", RecordState.FAILED: "Failed"}
NOT_SYNCED_LABEL = "Linked, not synced yet"  # a linked customer no sync went through for since it was linked


def _latest_item(column):
    """The customer's latest sync result's ``column`` (correlated to the outer Customer row)."""
    return (select(column).where(SyncItem.entity == CUSTOMER, SyncItem.host_id == Customer.id)
            .order_by(SyncItem.id.desc()).limit(1).correlate(Customer).scalar_subquery())


UNDONE = ("failed", "not_attempted")  # a result that leaves the record as it was before, not in ConnectWise


def _contact_undone(column: str):
    """The ``column`` of the first of the customer's contacts whose own latest result left it failed or not attempted
    (correlated to the outer Customer row; each contact's latest result through the results' (entity, host_id, id)
    index, so it does not grow with the sync history).

    The contact's own latest result, not the contacts' results in the run of the customer's latest one: a later run
    that read the company alone (a live update or safety-net pass that found it unchanged, an import) says nothing
    of a contact still not in ConnectWise. An export that creates or updates it, or its link cleared, is its latest
    result then; a contact deleted from the customer is no longer among its contacts."""
    item = aliased(SyncItem)
    latest = aliased(SyncItem)
    latest_id = (select(func.max(latest.id)).where(latest.entity == CONTACT, latest.host_id == Contact.id)
                 .correlate(Contact).scalar_subquery())
    return (select(getattr(item, column)).select_from(Contact)
            .join(item, item.id == latest_id)
            .where(Contact.customer_id == Customer.id, item.action.in_(UNDONE))
            .order_by(item.id).limit(1).correlate(Customer).scalar_subquery())


def state_expression() -> ColumnElement[str]:
    """The customer's :class:`RecordState` value as SQL, correlated to ``Customer``."""
    link = (select(Link.id).where(Link.entity == CUSTOMER, Link.host_id == Customer.id)
            .correlate(Customer).scalar_subquery())
    link_status = (select(Link.status).where(Link.entity == CUSTOMER, Link.host_id == Customer.id)
                   .correlate(Customer).scalar_subquery())
    synced_at = (select(Link.synced_at).where(Link.entity == CUSTOMER, Link.host_id == Customer.id)
                 .correlate(Customer).scalar_subquery())
    contact_edited = (select(func.max(Contact.updated_at)).where(Contact.customer_id == Customer.id)
                      .correlate(Customer).scalar_subquery())
    return RecordState.case(
        or_(_latest_item(SyncItem.action).in_(UNDONE), link_status == "missing_in_cw",
            and_(link.is_not(None), _contact_undone("id").is_not(None))), link.is_(None),
        or_(Customer.updated_at > synced_at, and_(contact_edited.is_not(None), contact_edited > synced_at)))


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
    """The clause selecting customers in state ``value`` (None for an unknown value: no filter)."""
    state = RecordState.parse(value)
    return None if state is None else state_expression() == state.value


# Built once: the list runs it on every view, and a statement's cache key costs more to compute than
# the statement costs to run.
_ROW_STATES = select(
    Customer.id, state_expression(), _latest_item(SyncItem.action), _latest_item(SyncItem.message),
    _latest_item(SyncItem.resolution), _contact_undone("message"), _contact_undone("resolution"),
    (select(Link.cw_identifier).where(Link.entity == CUSTOMER, Link.host_id == Customer.id)
     .correlate(Customer).scalar_subquery()), Customer.account_number, not_synced_expression()).where(Customer.id.in_(bindparam("ids", expanding=True)))


def row_states(session: Session, customer_ids: list[int]) -> dict[int, RowState]:
    """The state of each customer in ``customer_ids``, in one query."""
    if not customer_ids:
        return {}
    out = {}
    for (cid, value, action, message, resolution, contact_message, contact_resolution,
         identifier, account, not_synced) in session.execute(_ROW_STATES, {"ids": list(customer_ids)}):
        state = RecordState(value)
        if state is RecordState.FAILED and action in UNDONE:
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
            reason = (f"Linked to ConnectWise company {identifier}, not synced since: it holds values of its own that "
                      "differ from ConnectWise's, which Export to ConnectWise sends.")
        elif state is RecordState.CHANGED:
            reason = f"Edited since it was last synced with company {identifier}: export it again to update it."
        elif not_synced:
            reason = f"Linked to ConnectWise company {identifier}, not synced since; not edited since it was linked."
        else:
            reason = f"Linked to ConnectWise company {identifier}."
        label = NOT_SYNCED_LABEL if not_synced and state in (RecordState.CHANGED, RecordState.SYNCED) else LABELS[state]
        out[cid] = RowState(state, label, reason)
    return out
