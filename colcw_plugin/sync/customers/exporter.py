"""Export host customers and their contacts to ConnectWise companies and contacts (§5.3, §5.4).

Identity: the link table is the truth. An unlinked customer is matched once, by account number =
Company ID (never by name); failing that, a company is created. A linked company that was
deleted in ConnectWise is reported and left alone until the user re-links or clears the link:
a duplicate is never created behind their back. Contacts of a linked company are matched
the first time by an exact e-mail address within that company only.

ConnectWise is read in bulk, a chunk of customers at a time (linked companies by id, candidate
companies by identifier, all their contacts by company id), so the cost is a few requests per
chunk plus one write per record that changed. An unchanged record is not written; a changed one
gets a PATCH holding only the changed fields.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from host_stub.models import Customer

from ...cw import ConnectWiseClient, ConnectWiseError, create_once
from ...cw import conditions as C
from ...models import CONTACT, CUSTOMER, fingerprint
from ...setup.field_mapping import COMPANY
from ...setup.live_updates import cw_is_master
from ...setup.reps import UnmappedRep, member_for
from ..jobs.kinds import SyncContext
from ..jobs.ranges import resolve
from ..shared import fields as M
from ..shared.locks import Busy
from ..shared.states import StateList
from . import exclusive
from .contact_export import ContactExporter, Intent, Outcome, intents_for, resolution_for
from .link_batch import LinkBatch, LinkRow, by_cw, by_host, clear_drift

log = logging.getLogger(__name__)

CHUNK = 200
COMPANY_LABELS = {r.host_attr: r.host for r in COMPANY.rules if r.host_attr}


def customer_label(customer: Customer) -> str:
    return f"{customer.name} ({customer.account_number})"


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


class CustomerExporter:
    """Exports customers for one run (see the module docstring)."""

    def __init__(self, ctx: SyncContext):
        self.ctx = ctx
        self.session = ctx.session
        self.client = ctx.client
        self.recorder = ctx.recorder
        self.states: StateList | None = None
        self.comm_types: dict[str, dict] = {}
        self.member: dict | None = None
        self.cw_master = cw_is_master(self.session)

    # --- the run ------------------------------------------------------------------------------

    def run(self, ids: Sequence[int]) -> str:
        self.recorder.set_total(len(ids), entity=CUSTOMER, ids=ids)
        done, _ = self.recorder.completed_keys(CUSTOMER)
        todo = [i for i in ids if i not in done]
        try:
            mapping = member_for(self.session, self.ctx.settings, self.ctx.actor)
        except UnmappedRep as e:
            return self._unmapped(todo, e)
        self.member = {"member_id": mapping.member_id, "location_id": mapping.location_id}
        if not todo:
            return ""
        self.states = StateList.load(self.client)
        self.comm_types = load_comm_types(self.client)
        for start in range(0, len(todo), CHUNK):
            self._chunk(todo[start:start + CHUNK])
        return ""

    def _unmapped(self, ids: Sequence[int], error: UnmappedRep) -> str:
        message = "Customer export did not occur: " + str(error).removeprefix("Export did not occur: ")
        labels = dict(self.session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids))).all()) \
            if ids else {}
        for cid in ids:
            self.recorder.record(entity=CUSTOMER, direction="export", action="failed", host_id=cid,
                                 label=labels.get(cid, f"customer {cid}"), message=message,
                                 resolution=error.resolution)
        return message

    def _chunk(self, ids: list[int]) -> None:
        # One export of a customer at a time, across processes: read and write under its lock.
        try:
            with exclusive.customers_locked(self.session, ids, wait_seconds=0):
                self._chunk_locked(ids)
                return
        except Busy:
            self.session.rollback()
        # Another export holds some of them: wait for it, and say so on the run's pages meanwhile.
        self.recorder.note_wait(exclusive.waiting_text(self.session, ids))
        try:
            with ExitStack() as stack:
                try:
                    stack.enter_context(exclusive.customers_locked(self.session, ids))
                finally:
                    self.recorder.note_wait("")
                self._chunk_locked(ids)
                return
        except Busy:
            self.session.rollback()
        # Still held past the wait: the others one by one; a held one waits for a later pass of the run.
        for cid in ids:
            try:
                with exclusive.customers_locked(self.session, [cid], wait_seconds=0):
                    self._chunk_locked([cid])
            except Busy:
                self.session.rollback()
                name = self.session.execute(select(Customer.name).where(Customer.id == cid)).scalar() or \
                    f"customer {cid}"
                self.recorder.defer(entity=CUSTOMER, key=cid, label=name, from_connectwise=False,
                                    error=exclusive.HeldElsewhere(f"another export of {name} is still running"))

    def _chunk_locked(self, ids: list[int]) -> None:
        customers = list(self.session.execute(
            select(Customer).where(Customer.id.in_(ids)).options(selectinload(Customer.contacts))
            .order_by(Customer.id)).scalars())
        for gone in sorted(set(ids) - {c.id for c in customers}):
            self.recorder.record(entity=CUSTOMER, direction="export", action="skipped", host_id=gone,
                                 label=f"customer {gone}", message="The customer no longer exists in ChannelOnline.")
        chunk = self._read(customers)
        for customer in customers:
            outcomes = self._export_guarded(customer, chunk)
            self.session.commit()
            if outcomes is None:
                continue  # waits for ConnectWise: tried again later in the run
            for o in outcomes:
                self.recorder.record(entity=o.entity, direction="export", action=o.action, host_id=o.host_id,
                                     cw_id=o.cw_id, label=o.label, message=o.message, resolution=o.resolution,
                                     advance=o.entity == CUSTOMER)

    def _read(self, customers: list[Customer]) -> Chunk:
        cust_links = by_host(self.session, CUSTOMER, [c.id for c in customers])
        contact_links = by_host(self.session, CONTACT, [k.id for c in customers for k in c.contacts])
        linked_ids = [row.cw_id for row in cust_links.values()]
        companies = {r["id"]: r for r in self.client.companies.iterate_in("id", linked_ids, fields=M.COMPANY_FIELDS)}
        unlinked = [c.account_number for c in customers if c.id not in cust_links and c.account_number]
        by_identifier: dict[str, dict] = {}
        for r in self.client.companies.iterate_in("identifier", unlinked, fields=M.COMPANY_FIELDS):
            by_identifier.setdefault(str(r.get("identifier", "")).casefold(), r)
        company_ids = [i for i, r in companies.items() if not r.get("deletedFlag")]
        company_ids += [r["id"] for r in by_identifier.values() if not r.get("deletedFlag")]
        contacts: dict[int, list[dict]] = defaultdict(list)
        for r in self.client.contacts.iterate_in("company/id", company_ids, fields=M.CONTACT_FIELDS):
            contacts[(r.get("company") or {}).get("id")].append(r)
        contact_owner = {cw: row.host_id for cw, row in
                         by_cw(self.session, CONTACT, [r["id"] for rs in contacts.values() for r in rs]).items()}
        company_owner = {cw: row.host_id for cw, row in
                         by_cw(self.session, CUSTOMER, [r["id"] for r in by_identifier.values()]).items()}
        return Chunk(cust_links, contact_links, companies, by_identifier, dict(contacts), contact_owner,
                     company_owner, intents_for(self.session, [k.id for c in customers for k in c.contacts]))

    def _export_guarded(self, customer: Customer, chunk: Chunk) -> list[Outcome] | None:
        """The customer's outcomes; None when ConnectWise failed transiently (the record waits: the run
        tries it again later, and stops record by record when several in a row fail so)."""
        label = customer_label(customer)
        try:
            return self._export(customer, chunk)
        except ConnectWiseError as e:
            # Keep the links already written: they record what ConnectWise really holds now.
            self.session.commit()
            if e.transient:
                self.recorder.defer(entity=CUSTOMER, key=customer.id, label=label, error=e)
                return None
            return [Outcome(CUSTOMER, "failed", customer.id, None, label, f"{label}: {e}",
                             resolution_for(e))]

    # --- one customer -------------------------------------------------------------------------

    def _export(self, customer: Customer, chunk: Chunk) -> list[Outcome]:  # noqa: C901 - one linear story
        assert self.states is not None
        label = customer_label(customer)
        values = M.customer_values(customer)
        problems = M.customer_problems(values, self.states)
        if problems:
            return [Outcome(CUSTOMER, "failed", customer.id, None, label, *M.join(problems))]
        batch = LinkBatch(self.session)
        link = chunk.customer_links.get(customer.id)
        record: dict | None = None
        notes: list[str] = []
        if link is not None:
            record = chunk.companies.get(link.cw_id)
            if record is None or record.get("deletedFlag"):
                batch.mark(link, "missing_in_cw")
                return [Outcome(
                    CUSTOMER, "failed", customer.id, link.cw_id, label,
                    f"{label}: the ConnectWise company it is linked to (Company ID {link.cw_identifier or '?'}, "
                    f"id {link.cw_id}) was deleted in ConnectWise.",
                    "Re-link the customer to a ConnectWise company (Link to Company ID on the customer's page) or "
                    "clear the link to export it again as a new company.")]
        else:
            record = chunk.by_identifier.get(customer.account_number.casefold())
            if record is not None:
                problem = self._first_match_problem(customer, record, chunk)
                if problem:
                    return [Outcome(CUSTOMER, "failed", customer.id, record["id"], label, *problem)]
                notes.append(f"linked to the existing ConnectWise company {record['identifier']} "
                             "(same Company ID)")
        sent, agreed = values, values
        if self.cw_master and link is not None and record is not None:
            theirs = M.company_host_values(record)
            M.keep_default_site_name(theirs, values)
            sent, agreed, kept = M.keep_master_changes(values, theirs, link.synced_values)
            if kept:
                notes.append("kept ConnectWise's " + ", ".join(COMPANY_LABELS.get(k, k) for k in kept) +
                             " (ConnectWise is the master for customer data and changed them since the last sync)")
        wanted = M.company_payload(sent, self.states)
        if record is None:
            body = {k: v for k, v in wanted.items() if v is not None}
            if self.member and self.member.get("member_id"):
                body["territoryManager"] = {"id": self.member["member_id"]}
            record = create_once(lambda: self.client.companies.create(body),
                                 lambda: self._find_company(customer.account_number), what=f"company {label}")
            action = "created"
        else:
            diff = M.changes(M.company_current(record, wanted), wanted)
            action = "unchanged"
            if diff:
                record = self.client.companies.patch(record["id"], diff)
                action = "updated"
                notes.append("changed " + ", ".join(sorted(diff)))
        company_id = record["id"]
        # Link at once: whatever happens to the contacts, the company is never created twice.
        link = batch.put(link, CUSTOMER, customer.id, company_id, cw_identifier=str(record.get("identifier", "")),
                         fingerprint=fingerprint(values), cw_last_updated=M.last_updated(record), values=agreed)
        batch.flush()
        self.session.commit()
        # The site and the default contact go in one last PATCH, only when they change.
        pending: dict[str, Any] = {}
        site = self._site(record, sent, created=action == "created")
        if site is not None:
            pending["site"] = site
            notes.append("site set to " + values["location_code"])
        contact_outcomes, default_cw = self._contact_exporter().export(customer, company_id, chunk, batch)
        if default_cw and (record.get("defaultContact") or {}).get("id") != default_cw:
            pending["defaultContact"] = {"id": default_cw}
            notes.append("default contact set")
        if pending:
            record = self.client.companies.patch(company_id, pending)
            action = "updated" if action == "unchanged" else action
        if action != "unchanged":
            batch.put(link, CUSTOMER, customer.id, company_id, cw_identifier=str(record.get("identifier", "")),
                      fingerprint=fingerprint(values), cw_last_updated=M.last_updated(record), values=agreed)
        batch.flush()
        clear_drift(self.session, customer.id)
        # A new company says so first: "default contact set" alone reads as if nothing was created.
        notes = (["created in ConnectWise"] if action == "created" else []) + notes
        message = f"{label}: " + ("; ".join(notes) if notes else action) + "."
        return [Outcome(CUSTOMER, action, customer.id, company_id, label, message), *contact_outcomes]

    def _find_company(self, identifier: str) -> dict | None:
        """The company a create whose answer was lost made: ConnectWise keeps identifiers unique."""
        rows = self.client.companies.list(conditions=C.eq("identifier", identifier), fields=M.COMPANY_FIELDS,
                                          page_size=25)
        return next((r for r in rows if str(r.get("identifier", "")).casefold() == identifier.casefold()
                     and not r.get("deletedFlag")), None)

    def _contact_exporter(self) -> ContactExporter:
        assert self.states is not None
        return ContactExporter(self.session, self.client, self.states, self.comm_types, cw_master=self.cw_master)

    def _first_match_problem(self, customer: Customer, record: dict, chunk: Chunk) -> tuple[str, str] | None:
        ident = record.get("identifier", "")
        if record.get("deletedFlag"):
            return (f"{customer_label(customer)}: ConnectWise holds a deleted company with the Company ID {ident}, "
                    "so a new one cannot be created with it.",
                    "Restore the company in ConnectWise and export again, or give the customer another account "
                    "number.")
        owner = chunk.company_owner.get(record["id"])
        if owner is not None and owner != customer.id:
            return (f"{customer_label(customer)}: the ConnectWise company {ident} is already linked to another "
                    f"ChannelOnline customer (id {owner}).",
                    "Give this customer its own account number, or clear the other customer's link first.")
        return None

    def _site(self, record: dict, values: dict, *, created: bool) -> dict | None:
        """The site reference the location code names, when the company is not on it yet.

        The site is looked up among the company's sites by name and created when missing (a new
        company has only ConnectWise's default site, so it is not looked up).
        """
        code = values.get("location_code") or ""
        current = ((record.get("site") or {}).get("name") or "")
        if not code or code.casefold() == current.casefold():
            return None
        sites = self.client.company_sites(record["id"])
        found = None
        if not created:
            found = next((s for s in sites.list(conditions=C.eq("name", code), fields=["id", "name"], page_size=25)
                          if str(s.get("name", "")).casefold() == code.casefold()), None)
        if found is None:
            body: dict[str, Any] = {"name": code}
            for host_attr, cw in (("address1", "addressLine1"), ("address2", "addressLine2"), ("city", "city"),
                                  ("zip", "zip"), ("phone", "phoneNumber"), ("fax", "faxNumber")):
                if values.get(host_attr):
                    body[cw] = values[host_attr]
            state = self.states.identifier(values.get("state") or "") if self.states else ""
            if state:
                body["stateReference"] = {"identifier": state}
            if values.get("country"):
                body["country"] = {"name": values["country"]}
            found = create_once(lambda: sites.create(body), lambda: self._find_site(sites, code),
                                what=f"site {code} of company {record['id']}")
        return {"id": found["id"]}

    @staticmethod
    def _find_site(sites, name: str) -> dict | None:
        rows = sites.list(conditions=C.eq("name", name), fields=["id", "name"], page_size=25)
        return next((s for s in rows if str(s.get("name", "")).casefold() == name.casefold()), None)


def customer_labels(session: Session, ids: list[int]) -> dict[int, str]:
    """Customers' names for their run log entries ("Acme Dental (ACME01)")."""
    rows = session.execute(select(Customer.id, Customer.name, Customer.account_number).where(Customer.id.in_(ids)))
    return {i: f"{name} ({number})" for i, name, number in rows}


def run_export(ctx: SyncContext) -> str:
    """The ``customer_export`` job: export the customers the params select."""
    ids = export_scope(ctx.session, ctx.params)
    return CustomerExporter(ctx).run(ids)

