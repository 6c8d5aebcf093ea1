"""What a customer export reads before it writes: the customers a run selects, and what ConnectWise and the
links hold for them (a helper of :mod:`.exporter`).

ConnectWise is read in bulk, a chunk of customers at a time: linked companies by id, their contacts by
company id and first-match candidates by identifier, the three asked for together, then the candidates'
contacts; the links and the create intents of the chunk come from the database in a few queries. The
reference lists (states, communication types) are read once per pass of a run, by the exporter, asked for
beside the first chunk's reads.

Against a tenant that holds no company at all (one count says so at the start of a bulk pass),
there is nothing to match by identifier, so the per-chunk identifier look-ups are not sent; the
exporter looks up by identifier after all if a create is refused (see :mod:`.exporter`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.models import Customer

from ...cw import ConnectWiseClient
from ...models import CONTACT, CUSTOMER
from ..jobs.ranges import resolve
from ..shared import fields as M
from ..shared.prefetch import call_ahead
from .contact_export import Intent, intents_for
from .link_batch import LinkRow, by_cw, by_host


def export_scope(session: Session, params: dict) -> list[int]:
    """The host customer ids a run's params select (see the job params contract)."""
    if params.get("customer_id") is not None:
        return [int(params["customer_id"])]
    if params.get("customer_ids") is not None:
        return sorted({int(i) for i in params["customer_ids"]})
    if params.get("range"):
        r = params["range"]
        span = resolve(r.get("preset", ""), r.get("start"), r.get("end"))
        column = Customer.created_at if r.get("field") == "created" else Customer.updated_at
        stmt = select(Customer.id).where(column >= span.start, column < span.end)
        return list(session.execute(stmt.order_by(Customer.id)).scalars())
    if params.get("all"):
        return list(session.execute(select(Customer.id).order_by(Customer.id)).scalars())
    raise ValueError("Choose what to export: one customer, a date range or all customers.")


def customer_labels(session: Session, ids: list[int]) -> dict[int, str]:
    """Customers' names for their run log entries ("Acme Dental (ACME01)")."""
    rows = session.execute(select(Customer.id, Customer.name, Customer.account_number).where(Customer.id.in_(ids)))
    return {i: f"{name} ({number})" for i, name, number in rows}


def load_comm_types(client: ConnectWiseClient) -> dict[str, dict]:
    """ConnectWise's communication types by lower-cased name (``{id, name}``, a CommunicationTypeReference).

    A CommunicationType record names itself in ``description`` (it has no ``name``; only the
    reference a contact's row carries has one)."""
    out: dict[str, dict] = {}
    for row in client.iterate("company/communicationTypes", fields=["id", "description"]):
        name = str(row.get("description") or "").strip()
        if name:
            out.setdefault(name.casefold(), {"id": row["id"], "name": name})
    return out


@dataclass
class Chunk:
    """What ConnectWise holds for one chunk of customers, read in bulk."""

    customer_links: dict[int, LinkRow]
    contact_links: dict[int, LinkRow]
    companies: dict[int, dict]  # linked companies by id
    by_identifier: dict[str, dict]  # first-match candidates by lower-cased identifier
    contacts: dict[int, list[dict]] = field(default_factory=dict)  # by company id
    contact_owner: dict[int, int] = field(default_factory=dict)  # cw contact id -> linked host contact id
    company_owner: dict[int, int] = field(default_factory=dict)  # cw company id -> linked host customer id
    contact_intents: dict[int, Intent] = field(default_factory=dict)  # host contact id -> create left unconfirmed
    identifiers_read: bool = True  # False: the tenant held no company, so candidates were not looked up


def read_chunk(session: Session, client: ConnectWiseClient, customers: list[Customer], *,
               tenant_empty: bool = False) -> Chunk:
    """The chunk's links, intents and ConnectWise records (``tenant_empty``: no identifier look-ups)."""
    cust_links = by_host(session, CUSTOMER, [c.id for c in customers])
    contact_ids = [k.id for c in customers for k in c.contacts]
    contact_links = by_host(session, CONTACT, contact_ids)
    linked_ids = [row.cw_id for row in cust_links.values()]
    unlinked = [c.account_number for c in customers if c.id not in cust_links and c.account_number]
    # Links are read under the customers' locks: a company another export created since the count is linked
    # by now, and read here by id like any linked company. The linked companies, their contacts and the
    # candidates by identifier are asked for together (the contacts of a company found deleted are dropped):
    # against a real tenant each is a round trip, and a rep exporting a linked customer waits for one.
    linked_contacts = call_ahead(lambda: _contacts_of(client, linked_ids), name="colcw-export-contacts") \
        if linked_ids else None
    candidates = call_ahead(lambda: list(client.companies.iterate_in("identifier", unlinked, fields=M.COMPANY_FIELDS)),
                            name="colcw-export-candidates") if unlinked and not tenant_empty else None
    try:
        companies = {r["id"]: r for r in client.companies.iterate_in("id", linked_ids, fields=M.COMPANY_FIELDS)} \
            if linked_ids else {}
        by_identifier: dict[str, dict] = {}
        for r in candidates.result() if candidates else ():
            by_identifier.setdefault(str(r.get("identifier", "")).casefold(), r)
        of_linked = linked_contacts.result() if linked_contacts else {}
    finally:  # an error in one read: the others end before it is raised
        for ahead in (linked_contacts, candidates):
            if ahead is not None:
                ahead.wait()
    live = {i for i, r in companies.items() if not r.get("deletedFlag")}
    contacts = {i: rows for i, rows in of_linked.items() if i in live}
    # A candidate's contacts come after it is found (a customer's first export, to a company that exists).
    found = [r["id"] for r in by_identifier.values() if not r.get("deletedFlag") and r["id"] not in of_linked]
    for i, rows in _contacts_of(client, found).items():
        contacts.setdefault(i, rows)
    contact_owner = {cw: row.host_id for cw, row in
                     by_cw(session, CONTACT, [r["id"] for rs in contacts.values() for r in rs]).items()}
    company_owner = {cw: row.host_id for cw, row in
                     by_cw(session, CUSTOMER, [r["id"] for r in by_identifier.values()]).items()}
    return Chunk(cust_links, contact_links, companies, by_identifier, contacts, contact_owner,
                 company_owner, intents_for(session, contact_ids), identifiers_read=not tenant_empty)


def _contacts_of(client: ConnectWiseClient, company_ids: list[int]) -> dict[int, list[dict]]:
    """The contacts of these companies, by company id (none asked for when there are none)."""
    out: dict[int, list[dict]] = defaultdict(list)
    if company_ids:
        for r in client.contacts.iterate_in("company/id", company_ids, fields=M.CONTACT_FIELDS):
            out[(r.get("company") or {}).get("id")].append(r)
    return dict(out)
