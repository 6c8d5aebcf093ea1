"""Which companies of an import page neither side touched since the last sync (a helper of :mod:`.importer`).

A nightly import meets mostly companies nobody changed. Such a company needs no mapping and no
comparison: its link keeps the ``lastUpdated`` ConnectWise shows now, and the host's rows are no
newer than the links. Two queries for the page say so for every company at once (plain rows, no
synced values, no host field values); the importer passes those companies over with one "unchanged"
outcome each and reads and compares only the others.

A company counts as untouched only when everything below holds; anything unusual (a link that is
not "ok", a ConnectWise id linked twice, drift the customer page still shows, a contact added,
removed or moved) sends it down the full path, which decides as ever.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session, aliased

from host_stub.bulk import among
from host_stub.models import Contact, Customer

from ...models import CONTACT, CUSTOMER, Link, RecordDrift
from ..shared import fields as M

# A record's lastUpdated must be this much older than the sync that wrote its link for the link to
# vouch for it: lastUpdated has whole seconds, and ConnectWise's clock is not ours (as the incremental
# import's look-back, importer.WATERMARK_OVERLAP).
SETTLED = dt.timedelta(minutes=2)


def settled(stamp: str, synced_at: dt.datetime | None, link_stamp: str, host_updated: dt.datetime | None) -> bool:
    """The link keeps the record's lastUpdated (``stamp``), the record had it well before the link was
    written, and the host row has not changed since."""
    if not stamp or synced_at is None or host_updated is None or link_stamp != stamp or host_updated > synced_at:
        return False
    try:
        changed = dt.datetime.fromisoformat(stamp).replace(tzinfo=None)
    except ValueError:
        return False
    return changed < synced_at - SETTLED


@dataclass(frozen=True)
class Untouched:
    """A company of the page that neither side touched: its customer and how many contacts it has."""

    host_id: int
    contacts: int


def _twins(entity: str, link):
    """How many links point at the same ConnectWise record as ``link`` (1 when it is the only one)."""
    other = aliased(Link)
    return select(func.count()).where(other.entity == entity, other.cw_id == link.cw_id).scalar_subquery()


# The two queries, built once (their compiled form is cached): the companies' links with their customers,
# and those customers' contacts with their links. Each row's partner is looked up by its key (a lateral
# LIMIT 1: an index probe per row), so a page reads what it needs whatever the size of the tables, where a
# join let the planner read every customer or contact and hash them, page after page.
_company, _contact = aliased(Link), aliased(Link)
_customer = select(Customer.updated_at).where(Customer.id == _company.host_id).limit(1).lateral()
_COMPANIES = (
    select(_company.cw_id, _company.host_id, _company.status, _company.synced_at, _company.cw_last_updated,
           _company.cw_identifier, _customer.c.updated_at,
           select(RecordDrift.id).where(RecordDrift.customer_id == _company.host_id,
                                        RecordDrift.kind != "new_contact").exists().label("drifted"),
           _twins(CUSTOMER, _company).label("twins"))
    .join(_customer, true())
    .where(_company.entity == CUSTOMER))
_contact_link = (select(_contact.cw_id, _contact.status, _contact.synced_at, _contact.cw_last_updated,
                        _twins(CONTACT, _contact).label("twins"))
                 .where(_contact.entity == CONTACT, _contact.host_id == Contact.id).limit(1).lateral())
_CONTACTS = (
    select(Contact.customer_id, Contact.updated_at, _contact_link.c.cw_id, _contact_link.c.status,
           _contact_link.c.synced_at, _contact_link.c.cw_last_updated, _contact_link.c.twins)
    .outerjoin(_contact_link, true()))


def untouched(session: Session, records: Iterable[dict], contacts: dict[int, list[dict]]) -> dict[int, Untouched]:
    """The companies of ``records`` (with their ConnectWise ``contacts``, by company id) that neither side
    changed since the last sync wrote their links, by ConnectWise id (two queries)."""
    records = [r for r in records if not r.get("deletedFlag")]
    ids = [r["id"] for r in records]
    if not ids:
        return {}
    rows = session.execute(_COMPANIES.where(among(session, _company.cw_id, ids))).all()
    links = {row.cw_id: row for row in rows}
    held: dict[int, list] = defaultdict(list)  # host customer id -> its contacts with their links
    hosts = sorted({row.host_id for row in rows})
    if hosts:
        for row in session.execute(_CONTACTS.where(among(session, Contact.customer_id, hosts))):
            held[row.customer_id].append(row)
    out: dict[int, Untouched] = {}
    for record in records:
        link = links.get(record["id"])
        if link is None or link.twins != 1 or link.status != "ok" or link.drifted \
                or link.cw_identifier != str(record.get("identifier") or "") \
                or not settled(M.last_updated(record), link.synced_at, link.cw_last_updated, link.updated_at):
            continue
        theirs = contacts.get(record["id"], [])
        if _contacts_untouched(theirs, held.get(link.host_id, [])):
            out[record["id"]] = Untouched(link.host_id, sum(1 for c in theirs if not c.get("inactiveFlag")))
    return out


def _contacts_untouched(theirs: list[dict], ours: list) -> bool:
    """Each active ConnectWise contact is linked to one of the customer's contacts, both unchanged since;
    each of the customer's linked contacts is still in ConnectWise (or already reported missing)."""
    by_cw = {row.cw_id: row for row in ours if row.cw_id is not None}
    for c in theirs:
        if c.get("inactiveFlag"):
            continue
        row = by_cw.get(c["id"])
        if row is None or row.twins != 1 or row.status != "ok" \
                or not settled(M.last_updated(c), row.synced_at, row.cw_last_updated, row.updated_at):
            return False
    present = {c["id"] for c in theirs}
    return all(cw_id in present or row.status == "missing_in_cw" for cw_id, row in by_cw.items())
