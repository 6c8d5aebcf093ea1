"""A customer's ConnectWise identity as the user sees and repairs it: status, clear, re-link.

When the company (or a contact) a record is linked to was deleted in ConnectWise, colcw stops
and says so rather than creating a duplicate. These services are the way out: clear the link
(the next export matches by Company ID again, or creates the company), or link the customer to a
ConnectWise company by its Company ID.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Integer, and_, bindparam, delete, func, literal, select, union_all
from sqlalchemy.orm import Session

from host_stub.models import Contact, Customer

from ...cw import ConnectWiseClient
from ...cw import conditions as C
from ...models import CONTACT, CUSTOMER, Link, SyncItem, find_by_cw, set_link
from ..shared import fields as M
from . import lookup


class RelinkError(ValueError):
    """The customer cannot be linked to that company; ``str()`` says why and what to do."""


@dataclass
class CustomerSyncStatus:
    """What the customer page's ConnectWise panel shows."""

    link: Link | None
    contacts: list[tuple[Contact, Link | None, SyncItem | None]]
    last: SyncItem | None  # the customer's latest export / import result
    changed: bool = False  # edited since its last sync: All Customers' "Changed since export"


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
    return (select(latest.c.entity, latest.c.host_id, Link, SyncItem).select_from(latest)
            .outerjoin(Link, and_(Link.entity == latest.c.entity, Link.host_id == latest.c.host_id))
            .outerjoin(SyncItem, SyncItem.id == latest.c.last_id))


_STATUS = _status_statement()


def status(session: Session, customer: Customer) -> CustomerSyncStatus:
    """The customer's link, its contacts' links and each one's latest result, in one statement.

    The keys (the customer, then each of its contacts) are joined to their link and to their latest
    sync item, found by a correlated ``max(id)`` on the (entity, host_id, id) index: one index probe
    per key, however long the sync history grows.
    """
    rows = session.execute(_STATUS, {"customer_id": customer.id}).all()
    found = {(entity, host_id): (link, item) for entity, host_id, link, item in rows}
    link, last = found.get((CUSTOMER, customer.id), (None, None))
    contacts = [(contact, *found.get((CONTACT, contact.id), (None, None))) for contact in customer.contacts]
    return CustomerSyncStatus(link, contacts, last, edited_since_sync(customer, link))


def edited_since_sync(customer: Customer, link: Link | None) -> bool:
    """The customer or one of its contacts was edited after its link was last synced: the rule of
    :func:`.list_status.state_expression`'s "changed", on the rows the page holds (no statement of its own)."""
    if link is None or link.synced_at is None:
        return False
    return (customer.updated_at is not None and customer.updated_at > link.synced_at) or any(
        c.updated_at is not None and c.updated_at > link.synced_at for c in customer.contacts)


def clear_link(session: Session, customer: Customer, contact_id: int | None = None) -> str:
    """Forget the customer's link (and its contacts'), or one contact's link. Flushes, does not commit."""
    if contact_id is not None:
        if contact_id not in {c.id for c in customer.contacts}:
            raise RelinkError("That contact does not belong to this customer.")
        session.execute(delete(Link).where(Link.entity == CONTACT, Link.host_id == contact_id))
        return "The contact's ConnectWise link was cleared: the next export links it again or creates it."
    session.execute(delete(Link).where(Link.entity == CUSTOMER, Link.host_id == customer.id))
    _clear_contacts(session, customer)
    return ("The ConnectWise link was cleared: the next export matches the company by Company ID "
            f"{customer.account_number} or creates it.")


def _clear_contacts(session: Session, customer: Customer) -> None:
    ids = [c.id for c in customer.contacts]
    if ids:
        session.execute(delete(Link).where(Link.entity == CONTACT, Link.host_id.in_(ids)))


def _meant(session: Session, client: ConnectWiseClient, text: str, shown: int = 5) -> str:
    """What to do after no company had the Company ID ``text``: the Company IDs of companies whose name or
    Company ID contains it, when there are some (:func:`.lookup.companies_like`)."""
    found = lookup.companies_like(session, client, text)
    if not found.choices:
        return " Check it in ConnectWise and try again."
    named = "; ".join(f"{c.name} ({c.identifier})" for c in found.choices[:shown])
    more = ", and more: type more of the name to see fewer" if found.more or len(found.choices) > shown else ""
    return (f" Companies whose name or Company ID contains it: {named}{more}. Enter the Company ID (in brackets) of "
            "the one you meant.")


def relink(session: Session, client: ConnectWiseClient, customer: Customer, identifier: str) -> str:
    """Link the customer to the ConnectWise company with this Company ID. Flushes, does not commit.

    Its contacts' links are cleared: they belonged to the old company, and the next export
    matches them again by e-mail within the new one.
    """
    identifier = identifier.strip()
    if not identifier:
        raise RelinkError("Enter the ConnectWise Company ID to link this customer to.")
    rows = client.companies.list(conditions=C.eq("identifier", identifier), fields=M.COMPANY_FIELDS, page_size=10)
    live = [r for r in rows if not r.get("deletedFlag")]
    if not live:
        detail = " (it was deleted)" if rows else ""
        raise RelinkError(f"No ConnectWise company has the Company ID '{identifier}'{detail}."
                          + _meant(session, client, identifier))
    record = next((r for r in live if r.get("identifier") == identifier), live[0])
    others = [row for row in find_by_cw(session, CUSTOMER, record["id"]) if row.host_id != customer.id]
    if others:
        other = session.get(Customer, others[0].host_id)
        named = f"{other.name} ({other.account_number})" if other is not None else f"id {others[0].host_id}"
        raise RelinkError(f"ConnectWise company {record['identifier']} is already linked to another ChannelOnline "
                          f"customer, {named}. Clear that customer's link first.")
    set_link(session, CUSTOMER, customer.id, record["id"], cw_identifier=str(record.get("identifier", "")),
             cw_last_updated=M.last_updated(record))
    _clear_contacts(session, customer)
    return f"Linked to ConnectWise company {record['identifier']} ({record.get('name')}). Export to update it."
