"""Export host customers and their contacts to ConnectWise companies and contacts (§5.3, §5.4).

Identity: the link table is the truth. An unlinked customer is matched once, by account number =
Company ID (never by name); failing that, a company is created, unless ConnectWise has a look-alike of it (a
company linked to no customer with the same name or phone number, as Map Customers' likely duplicates: see
:mod:`.export_reads`). Then the customer is not created: it fails naming the look-alike and the fix (link them, or
confirm the new company), unless the person exporting it from its page confirmed creating a new company despite
exactly those look-alikes (``params["confirmed"]``, :func:`new_company_token`); a bulk or scheduled export, or a
Retry, never carries a confirmation. A linked company that was
deleted in ConnectWise is reported and left alone until the user re-links or clears the link:
a duplicate is never created behind their back. Contacts of a linked company are matched
the first time by an exact e-mail address within that company only.

ConnectWise is read in bulk, a chunk of customers at a time (linked companies by id, candidate
companies by identifier, all their contacts by company id), so the cost is a few requests per
chunk plus one write per record that changed. An unchanged record is not written; a changed one
gets a PATCH holding only the changed fields. A chunk whose reads fail in a way one customer's data may cause (a
condition that cannot be built for it, a value ConnectWise refuses) is read again customer by customer: only the
customer at fault fails, named, with what to do (:func:`.export_reads.read_failure`); the others are exported.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from host_stub.models import Customer

from ...cw import ConnectWiseError, create_once, unacknowledged
from ...cw import conditions as C
from ...models import CUSTOMER, fingerprint
from ...setup.field_mapping import COMPANY
from ...setup.live_updates import cw_is_master
from ...setup.reps import UnmappedRep, member_for
from ..jobs.kinds import SyncContext
from ..shared import countries, own_writes, stale_site
from ..shared import default_contact as D
from ..shared import fields as M
from ..shared.advice import deleted_company_fix
from ..shared.collector import bulk_allocations
from ..shared.locks import Busy, Stopped
from ..shared.prefetch import Ahead, call_ahead, writes_at_once
from ..shared.states import StateList
from . import exclusive
from .contact_export import ContactExporter, Outcome, changed_fields, refused_fields, resolution_for
from .export_pool import side_by_side
from .export_reads import (
    Chunk,
    LookAlike,
    caused_by_records,
    export_scope,
    load_comm_types,
    read_chunk,
    read_failure,
)
from .export_writes import ExportWrites
from .link_batch import drifted_customers

log = logging.getLogger(__name__)

CHUNK = 200
COMPANY_LABELS = COMPANY.labels


# In the message of a customer not created because ConnectWise has a look-alike (the customer page's export then asks).
LOOKS_ALIKE = "so no company was created for it"


def customer_label(customer: Customer) -> str:
    return f"{customer.name} ({customer.account_number})"


def site_created(code: str) -> str:
    """The result's note of a site the export created for the customer's Location Code (also told to the rep who
    clicked Export, beside "Updated in ConnectWise")."""
    return f"created site {code} in ConnectWise; the company's site is now {code}"


def site_taken(code: str, site: str) -> str:
    """The result's note of the company's existing site an export took for the customer's Location Code, because it
    has the customer's address, instead of creating a second site there (also told to the rep who clicked Export)."""
    return f"Location Code {code} is the company's site {site}, which has the customer's address, so no site {code} " \
        "was created in ConnectWise"


def site_said(message: str, code: str) -> str:
    """What a customer's result ``message`` says of its Location Code ``code``'s site (:func:`site_created`, or
    :func:`site_taken` with the move onto it), as the rep's Export click repeats it; "" when it says neither."""
    if not code:
        return ""
    if site_created(code) in message:
        return site_created(code)
    found = re.search(re.escape(f"Location Code {code} is the company's site ") + r".*? was created in ConnectWise"
                      r"(?:; the company's site is now .*?)?(?=; |\.$)", message)
    return found.group(0) if found else ""


def new_company_token(look_alikes: Sequence[LookAlike]) -> str:
    """What a person confirms to create a new company although ConnectWise has these look-alikes (these only: one
    appearing since asks again)."""
    return "new:" + ",".join(str(i) for i in sorted(a.cw_id for a in look_alikes))


def look_alike_refusal(customer: Customer, look_alikes: Sequence[LookAlike]) -> tuple[str, str]:
    """The message and fix of a customer not created because ConnectWise has look-alikes of it."""
    first = look_alikes[0]
    many = len(look_alikes) > 1
    named = ", ".join(a.named for a in look_alikes)
    message = (f"{customer_label(customer)}: ConnectWise already has {'companies' if many else 'company'} {named}, "
               f"linked to no ChannelOnline customer, {LOOKS_ALIKE} (it would likely be a duplicate).")
    fix = (f"If {first.identifier} is {customer.name}, link them: on {customer.name}'s page, ConnectWise panel → Link "
           f"to Company ID {first.identifier}, or on Admin → Map customers; then export it. If it is another "
           f"company, export {customer.name} from its page and confirm creating a new company.")
    return message, fix


class MatchAgain(ConnectWiseError):
    """Not an answer of ConnectWise: a company with the customer's Company ID appeared although the tenant held
    none when the pass began. Transient: the next pass looks it up by identifier and matches it."""

    transient = True


class CustomerExporter:
    """Exports customers for one run (see the module docstring)."""

    def __init__(self, ctx: SyncContext):
        self.ctx = ctx
        self.session = ctx.session
        self.client = ctx.client
        self.recorder = ctx.recorder
        self.states: StateList | None = None
        self.comm_types: dict[str, dict] = {}
        self._lists: tuple[Ahead[StateList], Ahead[dict[str, dict]]] | None = None  # asked for by _begin_asking
        self._bulk = False  # the pass exports more than one customer (it counts the tenant's companies)
        self.member: dict | None = None
        self.cw_master = cw_is_master(self.session)
        self.tenant_empty = False  # the tenant held no company when this pass began (bulk passes count them)
        self._pending: list[Outcome] = []  # outcomes written but not committed yet
        self._committed: list[Outcome] = []  # outcomes committed but not recorded yet
        self._drifted: set[int] = set()  # customers of the chunk with drift to forget
        self._workers = 1  # the chunk's workers (each sends its customer's contacts with its share of the client)
        # What the person exporting one customer from its page confirmed (new_company_token); never in bulk.
        self.confirmed = ctx.params.get("confirmed") if ctx.params.get("customer_id") is not None else None

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
        self._bulk = len(todo) > 1
        try:
            with bulk_allocations():
                for start in range(0, len(todo), CHUNK):
                    self.recorder.stop_if_requested()  # an admin asked it to stop: no other chunk starts
                    self._chunk(todo[start:start + CHUNK])
        finally:  # the pass ended before it needed them (an error): they end before it does
            for ahead in self._lists or ():
                ahead.wait()
        return ""

    def _begin_asking(self) -> None:
        """The pass's first requests, sent when its first chunk holds a customer ConnectWise is to be asked about (a
        pass whose customers are all refused by :meth:`_refuse_unexportable` sends none).

        The reference lists, once per pass, asked for beside the count and the chunk's reads (taken when the chunk
        has been read): a rep exporting a linked customer waits one round trip for its reads, not four. A bulk pass
        counts the companies once, before it writes any: a tenant holding none has nothing to match by identifier,
        so no chunk looks any up (a rep's single export does not count)."""
        if self._lists is not None:
            return
        self._lists = (call_ahead(lambda: StateList.load(self.client), name="colcw-export-states"),
                       call_ahead(lambda: load_comm_types(self.client), name="colcw-export-comm-types"))
        self.tenant_empty = self._bulk and self.client.companies.count() == 0

    def _refuse_unexportable(self, customers: list[Customer]) -> list[Customer]:
        """Of the chunk's ``customers`` (as the export read them), those ConnectWise is to be asked about. One whose
        own values stop its export whatever ConnectWise holds (a name longer than ConnectWise's 50 characters, no
        account number, no address: :func:`.fields.customer_problems` without the state list, the save form's
        warnings) is refused here, before any request about it, with the words :meth:`_export` would use: it needs
        none of the pass's reads, which a rep's export of it sent all the same (the state list, the company by
        Company ID and look-alike names) before refusing it. A state ConnectWise does not know is still found by
        :meth:`_export`, which has the list. The check rides on the chunk's own read of the customers: a read of
        its own cost one more SELECT per 1,000 customers per pass, a rep's one-customer export included."""
        kept: list[Customer] = []
        for customer in customers:
            problems = M.customer_problems(M.customer_values(customer), None)
            if not problems:
                kept.append(customer)
                continue
            message, resolution = M.join(problems)
            self.recorder.record(entity=CUSTOMER, direction="export", action="failed", host_id=customer.id,
                                 label=customer_label(customer), message=message, resolution=resolution)
        return kept

    def _reference_lists(self) -> None:
        """The states and communication types asked for at the start of the pass (their error raised here)."""
        if self.states is None:
            assert self._lists is not None, "_begin_asking() asks for them first"
            states, comm_types = self._lists
            self.states, self.comm_types = states.result(), comm_types.result()

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
                    stack.enter_context(exclusive.customers_locked(self.session, ids,
                                                                   should_stop=self.recorder.stop_requested))
                finally:
                    self.recorder.note_wait("")
                self._chunk_locked(ids)
                return
        except Busy:
            self.session.rollback()
        except Stopped:  # an admin asked the run to stop while it waited: the chunks before are recorded
            self.session.rollback()
            raise self.recorder.stopped_waiting() from None
        # Still held past the wait: the others one by one; a held one waits for a later pass of the run.
        for cid in ids:
            try:
                with exclusive.customers_locked(self.session, [cid], wait_seconds=0):
                    self._chunk_locked([cid])
            except Busy:
                self.session.rollback()
                name = self.session.execute(select(Customer.name).where(Customer.id == cid)).scalar() or \
                    f"customer {cid}"
                self.recorder.defer(entity=CUSTOMER, key=cid, label=name,
                                    error=exclusive.HeldElsewhere(f"another export of {name} is still running"))

    def _chunk_locked(self, ids: list[int]) -> None:
        customers = list(self.session.execute(
            select(Customer).where(Customer.id.in_(ids)).options(selectinload(Customer.contacts))
            .order_by(Customer.id)).scalars())
        # Read-only from here on: detached, the customers and contacts are not reloaded after each commit.
        for customer in customers:
            self.session.expunge(customer)
        for gone in sorted(set(ids) - {c.id for c in customers}):
            self.recorder.record(entity=CUSTOMER, direction="export", action="skipped", host_id=gone,
                                 label=f"customer {gone}", message="The customer no longer exists in ChannelOnline.")
        customers = self._refuse_unexportable(customers)
        if not customers:
            return
        self._begin_asking()
        try:
            chunk = read_chunk(self.session, self.client, customers, tenant_empty=self.tenant_empty)
        except Exception as e:
            if not caused_by_records(e):
                raise
            self._unreadable(customers, e)
            return
        self._reference_lists()
        self._drifted = drifted_customers(self.session, [c.id for c in customers])
        workers = self._workers = min(max(1, self.ctx.options.concurrency), len(customers))
        if workers > 1:
            self._commit()  # the reads' transaction ends: each worker writes on a session of its own
            side_by_side(self, customers, chunk, workers)
            return
        for customer in customers:
            if self.recorder.stop_requested():  # asked to stop: the customers before are committed and recorded
                self._commit()
                self.record_committed()
                self.recorder.stop_if_requested()
            result = self._export_guarded(customer, chunk)
            self.record_committed()
            self.settle(customer, result)
        self._commit()
        self.record_committed()

    def _unreadable(self, customers: list[Customer], error: Exception) -> None:
        """The chunk's reads failed in a way one customer's data may cause (:func:`.export_reads.caused_by_records`):
        each customer is read and exported on its own, so only the one at fault fails, named, with what to do (the
        chunk's reads had failed the run as a whole, every other customer left not attempted)."""
        if not customers:
            raise error
        if len(customers) > 1:
            log.warning("customer export run %s: a chunk's reads failed (%s: %s); reading its %d customers one by one",
                        self.ctx.run_id, type(error).__name__, error, len(customers))
            for customer in customers:
                self.recorder.stop_if_requested()  # asked to stop: the customers before are committed and recorded
                self._chunk_locked([customer.id])
            return
        customer = customers[0]
        log.warning("customer export run %s: customer %s could not be read", self.ctx.run_id, customer.id,
                    exc_info=error)
        self.settle(customer, [Outcome(CUSTOMER, "failed", customer.id, None, customer_label(customer),
                                       *read_failure(customer, error))])
        self._commit()
        self.record_committed()

    def for_session(self, session: Session) -> CustomerExporter:
        """This exporter for a worker thread: the same run, reference lists and chunk, its own session."""
        mine = copy.copy(self)
        mine.session = session
        mine._pending, mine._committed = [], []
        return mine

    def _commit(self) -> None:
        """Commit what was written since the last commit; the outcomes of the customers it finished are then
        recorded (:meth:`record_committed`): the run log never says a record is done before its links are
        committed (a resumed run skips those). A worker's session in autocommit has committed each write as it
        was sent (:func:`.export_writes.autocommit`)."""
        self.session.commit()
        self._committed += self._pending
        self._pending = []

    def record_committed(self) -> None:
        """Record the committed outcomes (the run's thread only: the recorder is not shared)."""
        for o in self._committed:
            self.recorder.record(entity=o.entity, direction="export", action=o.action, host_id=o.host_id,
                                 cw_id=o.cw_id, label=o.label, message=o.message, resolution=o.resolution,
                                 advance=o.entity == CUSTOMER)
        self._committed = []

    def settle(self, customer: Customer, result: list[Outcome] | ConnectWiseError) -> None:
        """A customer's outcomes wait for the next commit; a transient failure makes it wait for a later pass
        (the run stops record by record when several in a row fail so: :class:`~..jobs.recorder.Unreachable`)."""
        if isinstance(result, ConnectWiseError):
            self.recorder.defer(entity=CUSTOMER, key=customer.id, label=customer_label(customer), error=result,
                                from_connectwise=False if isinstance(result, MatchAgain) else None)
        else:
            self._pending += result

    def _export_guarded(self, customer: Customer, chunk: Chunk) -> list[Outcome] | ConnectWiseError:
        """The customer's outcomes, or the transient ConnectWise failure it waits on (tried again later)."""
        label = customer_label(customer)
        try:
            return self._export(customer, chunk)
        except ConnectWiseError as e:
            # Keep the links already written: they record what ConnectWise really holds now.
            self._commit()
            if e.transient:
                return e
            said = refused_fields(e, COMPANY, customer.name, label,  # (a refused Country: what to type instead)
                                  country_hint=lambda: countries.read_hint(self.client, customer.country)
                                  ) or (f"{label}: {e.detail}", resolution_for(e))
            return [Outcome(CUSTOMER, "failed", customer.id, None, label, *said)]

    # --- one customer -------------------------------------------------------------------------

    def _export(self, customer: Customer, chunk: Chunk) -> list[Outcome]:  # noqa: C901 - one linear story
        assert self.states is not None
        label = customer_label(customer)
        values = M.customer_values(customer)
        problems = M.customer_problems(values, self.states)
        if problems:
            return [Outcome(CUSTOMER, "failed", customer.id, None, label, *M.join(problems))]
        batch = ExportWrites(self.session)
        link = chunk.customer_links.get(customer.id)
        record: dict | None = None
        notes: list[str] = []
        if link is not None and self.confirmed:
            # The person confirmed a new company beside look-alikes, on a page drawn while the customer was not
            # linked; it was linked since (another tab, another person): that confirmation does not export it into the
            # company it is linked to now, which would be overwritten with the customer's values unasked.
            return [Outcome(
                CUSTOMER, "failed", customer.id, link.cw_id, label,
                f"{label} was linked to ConnectWise company {link.cw_identifier or link.cw_id} meanwhile (on its page "
                "or on Map customers, in another tab or by someone else), so the new company you confirmed was not "
                "created, and nothing was exported.",
                f"Open {customer.name}'s page: Export to ConnectWise updates {link.cw_identifier or 'that company'} with "
                "its values; to create a new company instead, clear its link first.")]
        # The run whose export created the company (None: not colcw, or not known): this run's earlier pass or
        # attempt, whose result was never recorded, says "created" now; and a company colcw created gets its Location
        # Code's site as a new company does (M.MADE).
        made: int | None = None
        if link is not None:
            made = M.made_in(link.synced_values)
            record = chunk.companies.get(link.cw_id)
            if record is None or record.get("deletedFlag"):
                batch.mark(link, "missing_in_cw")
                return [Outcome(
                    CUSTOMER, "failed", customer.id, link.cw_id, label,
                    f"{label}: the ConnectWise company it is linked to (Company ID {link.cw_identifier or '?'}, "
                    f"id {link.cw_id}) was deleted in ConnectWise.",
                    deleted_company_fix(link.cw_identifier, customer.account_number))]
        else:
            record = chunk.by_identifier.get(customer.account_number.casefold())
            if record is not None:
                problem = self._first_match_problem(customer, record, chunk)
                if problem:
                    return [Outcome(CUSTOMER, "failed", customer.id, record["id"], label, *problem)]
                # A company POST of colcw's for the customer went unacknowledged: this is the company it created.
                made = chunk.company_intents.get(customer.id)
                if made is None:
                    notes.append(f"linked to the existing ConnectWise company {record['identifier']} "
                                 "(same Company ID)")
                elif made != self.ctx.run_id:
                    notes.append(f"linked to the ConnectWise company {record['identifier']} an interrupted export "
                                 "had created")
            elif (alike := chunk.look_alikes.get(customer.id)) and self.confirmed != new_company_token(alike):
                return [Outcome(CUSTOMER, "failed", customer.id, alike[0].cw_id, label,
                                *look_alike_refusal(customer, alike))]
        # The company's site an earlier export took for the customer's Location Code (same address): it holds the
        # code (:func:`..shared.fields.keep_default_site_name`). Only the agreement with this company says so.
        choice = M.site_choice(link.synced_values) if link is not None else None
        before = link.synced_values if link is not None else None  # (the site a new code moves the company off)
        # Compared and agreed on in ConnectWise's terms ("Nova Scotia" is "NS"): a later edit in the host is then
        # a change of the host's, never one ConnectWise made (:func:`..shared.fields.as_held`).
        theirs = self._held_by(record, values, choice)
        held = M.as_held(values, theirs, self.states, COMPANY)
        sent, agreed = held, held
        if self.cw_master and link is not None and theirs is not None:
            base = link.synced_values and M.as_held(link.synced_values, theirs, self.states, COMPANY)
            # An agreed site the company never had is a site step an earlier export left unfinished: this one
            # finishes it, not "keeps ConnectWise's" site (:mod:`..shared.stale_site`).
            base = stale_site.healed(base, theirs, held, record, stale_site.has_site(self.client))
            sent, agreed, kept = M.keep_master_changes(held, theirs, base)
            if kept:
                notes.append("kept ConnectWise's " + ", ".join(COMPANY_LABELS.get(k, k) for k in kept) +
                             " (ConnectWise is the master for customer data and changed them since the last sync)")
        wanted = M.company_payload(sent, self.states)
        created_now = record is None
        if record is None:
            body = {k: v for k, v in wanted.items() if v is not None}
            if self.member and self.member.get("member_id"):
                body["territoryManager"] = {"id": self.member["member_id"]}
            try:
                record = self._create_company(customer, body, label, chunk)
            except ConnectWiseError as e:
                if unacknowledged(e):  # ConnectWise may hold it: a later pass finds it by Company ID, as this run's
                    batch.intend([{"entity": CUSTOMER, "host_id": customer.id, "cw_parent_id": 0,
                                   "match": {"identifier": customer.account_number, "run": self.ctx.run_id},
                                   "known_ids": []}])
                    batch.flush()
                raise
            action = "created"
            made = self.ctx.run_id
        else:
            diff = M.changes(M.company_current(record, wanted), wanted)
            action = "unchanged"
            if diff:
                record = self.client.companies.patch(record["id"], diff)
                action = "updated"
                notes.append("changed " + changed_fields(COMPANY, diff))
        company_id = record["id"]
        # Link at once: whatever happens to the contacts, the company is never created twice. It remembers the
        # version of the company this write produced: its callback is colcw's own (sync/shared/own_writes.py).
        was_linked = link is not None
        # What ConnectWise holds now: a Location Code whose site the company is not on yet is agreed as the site it
        # is on, so a step cut short below is no change of ConnectWise's, and the next pass or attempt finishes it.
        link = batch.put(link, CUSTOMER, customer.id, company_id, cw_identifier=str(record.get("identifier", "")),
                         fingerprint=fingerprint(values), cw_last_updated=M.last_updated(record),
                         values=own_writes.remember(self._agreement(agreed, record, values, choice, sent, made),
                                                    link.synced_values if link is not None else None, "company",
                                                    record if action != "unchanged" else None))
        if customer.id in chunk.company_intents:  # linked now: the link says what the lost POST made
            batch.settle(CUSTOMER, [customer.id])
        contacts = self._contact_exporter()
        # ConnectWise the master: a default contact ConnectWise changed since the last sync is the master's, not
        # overwritten (the three-way rule live updates and imports apply: shared/default_contact.py).
        cw_kept = self._default_kept(customer, record, chunk, before) if self.cw_master and was_linked else None
        plans = contacts.plan(customer, company_id, chunk, batch,
                              cw_default_kept=D.cw_default(record) if cw_kept is not None else None)
        # One write, committed before any contact POST: the company's link and the intents of its new contacts.
        batch.flush()
        self._commit()
        try:
            # The site and the default contact go in one last PATCH, only when they change.
            pending: dict[str, Any] = {}
            site, said, chosen = self._site(record, sent, created=created_now, made=made is not None, choice=choice,
                                            before=before)
            if site is not None:
                pending["site"] = site
            notes += said
            contact_outcomes, default_cw = contacts.write(company_id, chunk, batch, plans)
            # The contact marked default was sent with defaultFlag true. Whether ConnectWise then makes it the
            # company's default contact by itself is not documented (API-NOTES §3.1, §5.2; UNVERIFIED), so the
            # company's defaultContact is still set here, in the PATCH that carries the site.
            if default_cw and (record.get("defaultContact") or {}).get("id") != default_cw:
                if cw_kept is None:
                    pending["defaultContact"] = {"id": default_cw}
                    notes.append("default contact set")
                else:
                    notes.append(f"kept ConnectWise's default contact “{cw_kept}” (ConnectWise is the master for "
                                 "customer data and changed it since the last sync)")
            if pending:
                record = self.client.companies.patch(company_id, pending)
                action = "updated" if action == "unchanged" else action
            # The run that created the company is remembered while its passes may still report it; a site step left
            # by an earlier run is done now.
            agreement = own_writes.remember(
                self._agreement(agreed, record, values, chosen, sent, made if made == self.ctx.run_id else None),
                link.synced_values, "company", record if pending else None)
            # (a site taken or given up is agreed, written or not; so is the site a step cut short had left)
            if action != "unchanged" or chosen != choice or agreement != link.synced_values:
                batch.put(link, CUSTOMER, customer.id, company_id, cw_identifier=str(record.get("identifier", "")),
                          fingerprint=fingerprint(values), cw_last_updated=M.last_updated(record), values=agreement)
            if was_linked or customer.id in self._drifted:
                batch.forget_drift(customer.id)
        finally:
            # One more write: the contacts' links with their intents' deletion, the company link's update, the
            # forgotten drift; also when a transient failure stopped the customer half-way (what ConnectWise
            # holds now).
            batch.flush()
        # A company an earlier pass or attempt of this run created (its result never recorded) is this run's
        # creation too, whatever this pass had left to do.
        if made == self.ctx.run_id:
            action = "created"
        # A new company says so first: "default contact set" alone reads as if nothing was created.
        notes = (["created in ConnectWise"] if action == "created" else []) + notes
        message = f"{label}: " + ("; ".join(notes) if notes else action) + "."
        return [Outcome(CUSTOMER, action, customer.id, company_id, label, message), *contact_outcomes]

    @staticmethod
    def _default_kept(customer: Customer, record: dict, chunk: Chunk, agreement: dict | None) -> str | None:
        """ConnectWise's default contact the export keeps (its name), or None: the customer's is sent
        (:func:`..shared.default_contact.export_keeps`; the contacts' links as this export read them)."""
        links = {c.id: chunk.contact_links[c.id] for c in customer.contacts if c.id in chunk.contact_links}
        return D.export_keeps(D.cw_default(record),
                              {c.id: (D.person(c.first_name, c.last_name), bool(c.is_default))
                               for c in customer.contacts},
                              {hid: (ln.cw_id, ln.status, ln.synced_values) for hid, ln in links.items()}, agreement)

    @staticmethod
    def _held_by(record: dict | None, values: dict, choice: dict | None = None) -> dict | None:
        """What the ConnectWise company holds, as host values (None: no company yet); ``choice``: the site taken for
        the customer's Location Code (:data:`..shared.fields.SITE_CHOICE`), which holds that code."""
        if record is None:
            return None
        theirs = M.company_host_values(record)
        M.keep_default_site_name(theirs, values, {M.SITE_CHOICE: choice} if choice else None)
        return theirs

    def _agreement(self, agreed: dict, record: dict, values: dict, choice: dict | None, sent: dict,
                   made: int | None = None) -> dict:
        """What the link records as agreed with the company ``record`` (as ConnectWise holds it now): ``agreed`` as
        ConnectWise holds it, the site taken for the customer's Location Code, if any, and the run that created the
        company (:data:`..shared.fields.MADE`), if given.

        Only what ConnectWise holds is agreed: a Location Code ``sent`` whose site the company is not on yet (the
        site step comes after the company's own write, and a transient failure may cut it short) is agreed as the
        site the company is on. Recorded as agreed, the next pass took ConnectWise's "Main" for a change made there
        (kept under ConnectWise the master, then taken into the customer by live updates)."""
        held = self._held_by(record, values, choice)
        out = M.as_held(agreed, held, self.states, COMPANY)
        code = str(sent.get("location_code") or "")
        if code and held is not None and str(held.get("location_code") or "").casefold() != code.casefold():
            out["location_code"] = held.get("location_code")
        if choice:
            out[M.SITE_CHOICE] = choice
        if made is not None:
            out[M.MADE] = made
        return out

    def _create_company(self, customer: Customer, body: dict, label: str, chunk: Chunk) -> dict:
        try:
            return create_once(lambda: self.client.companies.create(body),
                               lambda: self._find_company(customer.account_number), what=f"company {label}")
        except ConnectWiseError as e:
            if e.transient or chunk.identifiers_read:
                raise
            # The tenant held no company when the pass began, so none was looked up by this identifier; one made
            # since (by a person, or an export that died before linking it) is matched in a later pass instead.
            if self._find_company(customer.account_number) is None:
                raise
            raise MatchAgain(f"ConnectWise already holds a company with the Company ID {customer.account_number}; "
                             "it is matched by Company ID in the next pass") from e

    def _find_company(self, identifier: str) -> dict | None:
        """The company a create whose answer was lost made: ConnectWise keeps identifiers unique."""
        rows = self.client.companies.list(conditions=C.eq("identifier", identifier), fields=M.COMPANY_FIELDS,
                                          page_size=25)
        return next((r for r in rows if str(r.get("identifier", "")).casefold() == identifier.casefold()
                     and not r.get("deletedFlag")), None)

    def _contact_exporter(self) -> ContactExporter:
        assert self.states is not None
        return ContactExporter(self.session, self.client, self.states, self.comm_types, cw_master=self.cw_master,
                               at_once=writes_at_once(self.client.settings.max_in_flight, self._workers),
                               run_id=self.ctx.run_id)

    def _first_match_problem(self, customer: Customer, record: dict, chunk: Chunk) -> tuple[str, str] | None:
        ident = record.get("identifier", "")
        if record.get("deletedFlag"):
            return (f"{customer_label(customer)}: ConnectWise holds a deleted company with the Company ID {ident}, "
                    "so a new one cannot be created with it.",
                    "Restore the company in ConnectWise and export again, or give the customer another account "
                    "number.")
        owner = chunk.company_owner.get(record["id"])
        if owner is not None and owner != customer.id:
            other = self.session.get(Customer, owner)  # (a rare refusal: named as a rep knows it, not by its id)
            named = customer_label(other) if other is not None else "one deleted since"
            return (f"{customer_label(customer)}: the ConnectWise company {ident} is already linked to another "
                    f"ChannelOnline customer, {named}.",
                    "Give this customer its own account number, or clear the other customer's link first.")
        return None

    def _site(self, record: dict, values: dict, *, created: bool, made: bool = False, choice: dict | None,
              before: dict | None = None) -> tuple[dict | None, list[str], dict | None]:
        """The site reference the location code names, when the company is not on it yet; what the result says of
        it; and the site taken for the code (:data:`..shared.fields.SITE_CHOICE`: kept, newly taken, or None).

        The site is looked up among the company's sites by name; failing that, the one site at the customer's
        address is taken for the code (ConnectWise's default "Main", made with the company at its address, or a
        site of the rep's): its name is left as it is, and the link remembers it, so the company on it holds the
        code from then on. Otherwise (no site there, or several) the site is created. A new company has only
        ConnectWise's default site, so it is not looked up: its code's site is created, as before. So is a company
        colcw created earlier whose site step was cut short (``made``): its code's site is looked up by name only (the
        one a failed try made is taken, not made twice), never taken by address ("Main" is ConnectWise's default).
        Nor is the site the customer's former code was agreed on (``before``: the link's agreement, ``M.moved_off``):
        a code changed from "Main" to "West Branch" gets a site West Branch, not Main again.
        """
        code = values.get("location_code") or ""
        current = ((record.get("site") or {}).get("name") or "")
        if not code or code.casefold() == current.casefold():
            return None, [], None
        if choice is not None and str(choice["code"]).casefold() == code.casefold() \
                and str(choice["site"]).casefold() == current.casefold():
            return None, [], choice  # the site taken before, the company still on it: nothing to read or write
        sites = self.client.company_sites(record["id"])
        rows: list[dict] = []
        found = None
        if not created:
            rows = list(sites.iterate(fields=["id", "name", "addressLine1", "addressLine2", "city", "stateReference",
                                              "zip", "country", "inactiveFlag"]))
            found = next((s for s in rows if str(s.get("name", "")).casefold() == code.casefold()), None)
        if found is not None:
            return {"id": found["id"]}, [site_created(code) if made else "site set to " + code], None
        there = [] if made else [s for s in rows if not s.get("inactiveFlag") and not M.moved_off(s, before, code)
                                 and M.site_has_address(s, values, self.states)]
        if len(there) == 1:
            taken = there[0]
            name = str(taken.get("name") or "")
            moved = taken.get("id") != (record.get("site") or {}).get("id")
            said = [site_taken(code, name) + (f"; the company's site is now {name}" if moved else "")]
            return ({"id": taken["id"]} if moved else None), said, {"code": code, "site": name, "id": taken["id"]}
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
        made = create_once(lambda: sites.create(body), lambda: self._find_site(sites, code),
                           what=f"site {code} of company {record['id']}")
        # A site ConnectWise did not hold is said to be created, not only "set" (a rep saw no sign of it).
        said = [site_created(code)]
        if there:  # several sites at the customer's address: which one is its code's is not colcw's guess
            named = ", ".join(str(s.get("name") or "") for s in there[:-1]) + " and " + str(there[-1].get("name") or "")
            said.append(f"{len(there)} of the company's sites ({named}) have the customer's address, so none of "
                        f"them was taken for Location Code {code}")
        return {"id": made["id"]}, said, None

    @staticmethod
    def _find_site(sites, name: str) -> dict | None:
        rows = sites.list(conditions=C.eq("name", name), fields=["id", "name"], page_size=25)
        return next((s for s in rows if str(s.get("name", "")).casefold() == name.casefold()), None)


def run_export(ctx: SyncContext) -> str:
    """The ``customer_export`` job: export the customers the params select."""
    ids = export_scope(ctx.session, ctx.params)
    return CustomerExporter(ctx).run(ids)

