"""Import ConnectWise companies and their contacts into host customers (§5.3, §5.4).

One company by its Company ID (the Import From ConnectWise popup), all companies, or the ones
changed since the last successful full or incremental import (``lastUpdated``, from that import's start by
ConnectWise's clock less an overlap: :func:`last_import_start`; a company also counts as changed when one of its
contacts changed).

Companies are read a page of 1,000 at a time and their contacts in bulk, never a request per
record: for all companies, the contacts paged at 1,000 too, in company order, each company page taking
the contacts up to its last company (a merge of the two ordered streams); for a selection,
``company/id in (...)`` chunks. Each page is processed and dropped, so memory does not grow with the
tenant. Host data is written through the host's service API (a unit of work on the run's
session), so a company, its contacts and their links land in one transaction. Identity follows the link table; an unlinked company is
matched once by Company ID = account number, never by name. A linked customer deleted in the host
is not re-created by a bulk import: it is reported, and importing that one company by its
Company ID re-creates and re-links it. So is a linked contact deleted in the host (:class:`.company_import.PageData`
``deleted_contacts``: the links of a page pointing at no host contact, one query), reported once: the first import
after the delete marks its link missing_in_host, and later ones leave it out without a word.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, closing
from itertools import chain

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from host_stub.bulk import among, insert_rows, refresh_statistics
from host_stub.models import Contact, Customer

from ...cw import ConnectWiseError
from ...cw import conditions as C
from ...models import CONTACT, CUSTOMER, Link, RecordDrift, SyncRun, stored_time
from ...setup.connection import tenant_of
from ...setup.customer_matching import LikelyDuplicates
from ...setup.field_mapping import COMPANY
from ...setup.field_mapping import CONTACT as CONTACT_TABLE
from ...setup.live_updates import cw_is_master
from ..jobs.kinds import SyncContext
from ..shared import fields as M
from ..shared.collector import bulk_allocations, collect_cycles
from ..shared.locks import Busy, Stopped, all_tried_in_transaction
from ..shared.prefetch import call_ahead, read_ahead
from ..shared.reference_cache import DbReferenceCache
from ..shared.states import CACHE_KEY as STATES_KEY
from ..shared.states import StateList, fetch_rows
from . import exclusive
from .company_import import (
    IMPORT_ACTOR,
    CompanyImport,
    HostCustomer,
    PageData,
    company_label,
    not_saved,
    with_contacts,
)
from .link_batch import LinkRow, PageWrites, by_cw, by_host, notes_of
from .lookup import by_company_id
from .settled import Untouched, untouched

log = logging.getLogger(__name__)

# Links inserted by a run from which the tables' planner statistics are refreshed: once as soon as it has
# inserted that many (its first page of new companies), and again at its end.
BULK_LOAD = 1_000

PAGE = 1000
# Said once in the run's message when ConnectWise's state list could not be read (CompanyImporter.states).
STATES_UNREAD = ("ConnectWise's state list could not be read ({reason}), so states were compared as spelled: a state "
                 "ChannelOnline writes otherwise than ConnectWise (“Nova Scotia” for “NS”) may be "
                 "noted as changed in ConnectWise. Import again once the list can be read to clear those notes.")
# Pages read and waiting beside the one being read and the one being saved (shared/prefetch.py read_ahead): none.
# The next page is read while this one is saved, and no further: each page held is 1,000 companies and their
# contacts decoded (about 7 MB), and with one more waiting a run held three where the whole of a 2,500-company
# run fits in them, so the peak memory of a long import was higher than a short one's by that page.
READ_AHEAD = 0
CONTACT_PAGES_AT_ONCE = 2  # a bulk import's contacts' pages requested side by side (see _all)
# The columns the import compares (the mapped ones) and the ids they hang on: read as plain rows.
CUSTOMER_COLUMNS = (Customer.id, *(getattr(Customer, r.host_attr) for r in COMPANY.rules if r.host_attr))
CONTACT_COLUMNS = (Contact.id, Contact.customer_id, *(getattr(Contact, r.host_attr) for r in CONTACT_TABLE.rules
                                                      if r.host_attr))
# Look back a bit further than the last start (taken by ConnectWise's clock: colcw_plugin/cw/server_clock.py): its
# web servers' clock, which the Date of its answers tells, and the one that stamps its records may differ a little.
WATERMARK_OVERLAP = dt.timedelta(minutes=2)



def last_import_start(session: Session) -> dt.datetime | None:
    """When the last succeeded (or partial) import of all or changed companies started: by ConnectWise's clock as
    its answers told it (:attr:`SyncRun.cw_started_at`, written as the import ended), else (a run stored before colcw
    kept it) by the worker's."""
    rows = session.execute(
        select(SyncRun.started_at, SyncRun.cw_started_at, SyncRun.params)
        .where(SyncRun.kind == "customer_import", SyncRun.status.in_(("succeeded", "partial")),
               SyncRun.started_at.is_not(None))
        .order_by(SyncRun.started_at.desc()).limit(500))
    for started, cw_started, params in rows:
        if (params or {}).get("mode") in ("all", "changed"):
            return cw_started or started
    return None


def _pages(records: Iterable[dict], size: int = PAGE) -> Iterator[list[dict]]:
    page: list[dict] = []
    for r in records:
        page.append(r)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


class _BeingExported(Exception):
    """Some of a page's customers were being exported (their export locks held): ``cw_ids``, the companies that
    involve them (:meth:`CompanyImporter._take_exports`)."""

    def __init__(self, cw_ids: set[int]):
        super().__init__(f"{len(cw_ids)} companies' customers being exported")
        self.cw_ids = cw_ids


class ContactStream:
    """Contacts ordered by company id, handed out company page by company page (a merge join: the
    companies come by ascending id too). Holds one page of contacts at most."""

    def __init__(self, contacts: Iterator[dict]):
        self._contacts = contacts
        self._next: dict | None = None

    def up_to(self, last_company_id: int) -> dict[int, list[dict]]:
        """The contacts of companies up to ``last_company_id`` not handed out yet, by company id."""
        out: dict[int, list[dict]] = defaultdict(list)
        while True:
            contact = self._next if self._next is not None else next(self._contacts, None)
            self._next = None
            if contact is None:
                return out
            company_id = (contact.get("company") or {}).get("id")
            if company_id is not None and company_id > last_company_id:
                self._next = contact
                return out
            out[company_id].append(contact)


class CompanyImporter:
    """Imports companies for one run (see the module docstring)."""

    def __init__(self, ctx: SyncContext):
        self.ctx = ctx
        self.session = ctx.session
        self.client = ctx.client
        self.recorder = ctx.recorder
        _, self.done_cw = self.recorder.completed_keys(CUSTOMER)
        self.pages = 0  # pages of companies this run has taken up (collect_cycles)
        self.linked = 0  # links this run inserted (as many host customers and contacts created or linked)
        self._planned_at = 0  # self.linked when the planner's statistics were last refreshed
        self.cw_master = cw_is_master(self.session)
        self._duplicates: LikelyDuplicates | None = None
        self._first_import: bool | None = None
        self._states: StateList | None = None
        self.states_unread = ""  # why ConnectWise's state list could not be read (the run then compares as spelled)
        # A bulk import's pages read and not yet taken up (_all's reading thread adds each as it hands it over), and
        # the host values of the next one's companies and contacts made while PostgreSQL stores this one (_made_ahead).
        self._upcoming: deque[tuple[list[dict], dict[int, list[dict]]]] = deque()
        self._ahead_of: list[dict] | None = None  # the page they were made for
        self._ahead: dict[int, tuple[dict, dict]] = {}  # company id -> (its record, its host values)
        self._ahead_contacts: dict[int, tuple[dict, int | None, dict]] = {}  # (record, default contact id, values)

    def states(self) -> StateList:
        """ConnectWise's state list, read when an import first compares a state spelled otherwise than
        ConnectWise's (:meth:`.company_import.CompanyImport._held`: ChannelOnline the master, a bulk import of an
        existing customer; ConnectWise the master, a linked customer compared with its link's agreement, as live
        updates compare it), then kept for the run; through the reference cache live updates share
        (sync/inbound/reconcile.py ``Reconciler.states``), so a run soon after one that read it reads nothing. An
        import into an empty host never reads it."""
        if self._states is None:
            s = self.ctx.settings
            cache = DbReferenceCache(self.session.get_bind(), tenant=tenant_of(s))
            try:
                self._states = StateList(cache.rows(STATES_KEY, lambda: fetch_rows(self.client)))
            except ConnectWiseError as e:
                # Not a reason to import nothing: the run goes on comparing states as spelled (a host "Nova Scotia"
                # then differs from ConnectWise's "NS"), and its message says so once (:meth:`run`).
                log.warning("ConnectWise's state list could not be read; states compared as spelled: %s", e)
                self.states_unread = str(e)
                self._states = StateList(())
        return self._states

    @property
    def first_import(self) -> bool:
        """No company was linked when the run's first page came (a tenant's first import): none of its pages can
        hold an untouched company, so none is checked for them (settled.untouched: one query a page saved).
        Asked at the first page that would check, not for a company imported on its own."""
        if self._first_import is None:
            self._first_import = self.session.execute(
                select(Link.id).where(Link.entity == CUSTOMER).limit(1)).first() is None
        return self._first_import

    @property
    def duplicates(self) -> LikelyDuplicates:
        """Host customers a new one could duplicate (read when the first company is about to be created)."""
        if self._duplicates is None:
            self._duplicates = LikelyDuplicates(self.session)
        return self._duplicates

    # --- scopes -------------------------------------------------------------------------------

    def run(self) -> str:
        with bulk_allocations():
            message = self._scope()
        if self.states_unread:
            message = " ".join(m for m in (message.rstrip(".") + "." if message else "", STATES_UNREAD.format(
                reason=self.states_unread.rstrip("."))) if m)
        if self.linked - self._planned_at >= BULK_LOAD:
            # Thousands of rows written since: the next import's reads plan with the tables' new size now, not
            # after autovacuum's next pass (a re-import read whole tables till then).
            self._refresh_statistics()
        if self.ctx.params.get("mode") in ("all", "changed"):
            self._keep_cw_start()
        return message

    def _keep_cw_start(self) -> None:
        """The run's start by ConnectWise's clock, as this run's answers told it (:func:`last_import_start`): written
        with the run's progress (its recorder writes its row), the start read as it stands (an earlier attempt's,
        when this one resumed the run)."""
        started = self.session.execute(select(SyncRun.started_at).where(SyncRun.id == self.ctx.run_id)).scalar()
        self.session.commit()  # (the read's transaction)
        if started is not None:
            self.recorder.flush(cw_started_at=self.client.server_clock.cw_time(started))

    def _refresh_statistics(self) -> None:
        """The planner's statistics of the tables an import reads by key (the host's customers and contacts, the
        links), brought up to date. Done once early in a run that loads many, as well as at its end: a first
        import starts on empty tables, and until their statistics are taken the planner takes them for the few
        rows they held (11 customer links where the first page had written 1,000), so each page's look-ups read
        every link of their kind, or the whole table, long after the index would do. At 40,000 companies the pages'
        look-ups took 2.4 s in all, 1.4 s with the statistics taken after the first page; once taken, the
        planner's picture grows with the tables."""
        try:
            self.ctx.host(self.session).refresh_statistics()
            refresh_statistics(self.session, {Link.__tablename__: ["entity", "cw_id", "host_id"]})
            self.session.commit()
        except SQLAlchemyError:  # the import itself is saved: only the planner waits for autovacuum
            self.session.rollback()
            log.warning("could not refresh the planner statistics after a bulk import", exc_info=True)
        self._planned_at = self.linked

    def _scope(self) -> str:
        params = self.ctx.params
        if params.get("company") not in (None, ""):
            return self.one(str(params["company"]))
        if params.get("company_ids") is not None:
            ids = sorted({int(i) for i in params["company_ids"]})
            self.recorder.set_total(len(ids), entity=CUSTOMER, ids=ids, key="cw", direction="import")
            _, self.done_cw = self.recorder.completed_keys(CUSTOMER)
            for page in _pages(self.client.companies.iterate_in("id", ids, fields=M.COMPANY_FIELDS)):
                self._page(page, explicit=False)
            return ""
        if params.get("mode") == "changed":
            return self._changed()
        if params.get("mode") == "all":
            self._all()
            return ""
        raise ValueError("Choose what to import: one company, all companies or the changed ones.")

    def one(self, ident: str) -> str:
        """Import one company by its Company ID (identifier) or numeric id."""
        self.recorder.set_total(1)
        ident = ident.strip()
        # Its contacts are asked for by the Company ID beside the company itself: a rep importing it from the
        # popup waits one round trip for both (read again by company id if the company is found another way).
        by_ident = C.eq("company/identifier", ident)
        ahead = call_ahead(lambda: list(self.client.contacts.iterate(conditions=by_ident, fields=M.CONTACT_FIELDS)),
                           name="colcw-import-contacts") if ident else None
        try:
            record = by_company_id(self.client, ident)
            contacts = None
            if record is not None and ahead is not None \
                    and str(record.get("identifier") or "").casefold() == ident.casefold():
                cid = record["id"]
                theirs = [] if record.get("deletedFlag") else ahead.result()
                contacts = {cid: [c for c in theirs if (c.get("company") or {}).get("id") == cid]}
        finally:  # not needed after all, or an error: it ends before the import goes on
            if ahead is not None:
                ahead.wait()
        if record is None:
            self.recorder.record(entity=CUSTOMER, direction="import", action="failed", label=ident,
                                 message=f"No ConnectWise company has the Company ID “{ident}”.",
                                 resolution="Check the Company ID in ConnectWise (the company's Company ID field) "
                                            "and try again.")
            return ""
        self._page([record], explicit=True, contacts=contacts)
        return ""

    def _changed(self) -> str:
        since = self._since()
        if since is None:
            self._all()
            return "No earlier import: imported all companies"
        changed = C.gt("lastUpdated", since)
        # A contact edit does not touch its company's lastUpdated: pick those companies up too. The changed
        # contacts, the count and the first page of changed companies are asked for together (the pages are read
        # ahead, as in _all): a scheduled run that finds a few changes waits one round trip for them, not three.
        via = call_ahead(lambda: {(r.get("company") or {}).get("id") for r in
                                  self.client.contacts.iterate(conditions=changed, fields=["id", "company/id"])},
                         name="colcw-import-changed-contacts")
        count = call_ahead(lambda: self.client.companies.count(changed), name="colcw-import-changed-count")
        try:
            pages = read_ahead(self.client.companies.iterate_pages(conditions=changed, fields=M.COMPANY_FIELDS,
                                                                   page_size=PAGE), depth=READ_AHEAD,
                               name="colcw-import-read-ahead")
            with closing(pages):
                total, via_contacts = count.result(), via.result() - {None}
                self.recorder.set_total(total + len(via_contacts))
                for page in pages:
                    via_contacts.difference_update(r["id"] for r in page)
                    self._page(page, explicit=False)
        finally:  # an error in one of them: the others end before it is raised
            via.wait()
            count.wait()
        self.recorder.set_total(total + len(via_contacts))
        for page in _pages(self.client.companies.iterate_in("id", sorted(via_contacts), fields=M.COMPANY_FIELDS)):
            self._page(page, explicit=False)
        return f"Companies changed since {stored_time(since)}"

    def _all(self) -> None:
        """Every company, a page at a time (forward-only, by id), with the contacts paged alongside."""
        self.recorder.set_total(self.client.companies.count())
        # The contacts' pages are read beside the companies', two at a time (CONTACT_PAGES_AT_ONCE): there are
        # two and a half times as many, ConnectWise answers a page of contacts in about the time of a page of
        # companies, and read one after another they were what the import waited for. Three requests are out
        # at a time, within the client's bound; the contacts held are as many pages as with one page read ahead.
        contact_pages = self.client.contacts.iterate_pages(fields=M.CONTACT_FIELDS, order_by="company/id asc",
                                                           page_size=PAGE, at_once=CONTACT_PAGES_AT_ONCE)
        contacts = ContactStream(chain.from_iterable(contact_pages))

        def pages() -> Iterator[tuple[list[dict], dict[int, list[dict]]]]:
            for page in self.client.companies.iterate_pages(fields=M.COMPANY_FIELDS, page_size=PAGE):
                item = page, contacts.up_to(max((r["id"] for r in page), default=0))
                self._upcoming.append(item)  # (whole: the page saved before it may make its host values: _made_ahead)
                yield item

        # The next page (with its contacts) is read while this one is saved: only the reading threads use the client.
        try:
            with closing(contact_pages), closing(read_ahead(pages(), depth=READ_AHEAD,
                                                                        name="colcw-import-read-ahead")) as read:
                for page, its_contacts in read:
                    while self._upcoming and self._upcoming.popleft()[0] is not page:
                        pass
                    self._page(page, explicit=False, contacts=its_contacts)
        finally:
            self._upcoming.clear()
            self._forget_ahead()

    # --- host values made ahead ------------------------------------------------------------------

    def _make_ahead(self) -> None:
        """The host values of the next page's companies and contacts (:func:`..shared.fields.company_host_values`,
        ``contact_host_values``: what ConnectWise's records map to, nothing of the host's), made now if the reading
        thread has handed that page over already, never waiting for it. Called while PostgreSQL stores this page's
        links and commits (:meth:`_save_page`), where the main thread waited: about 13 ms of its Python a page then
        runs beside PostgreSQL's work. Each value is taken once (:meth:`company_values`); one made for another record
        object or default contact, or taken already (a page saved again one by one), is made again."""
        try:
            page, contacts = self._upcoming[0]
        except IndexError:
            return
        if page is self._ahead_of:
            return
        self._forget_ahead()
        self._ahead_of = page
        company_values, contact_values = M.company_host_values, M.contact_host_values
        ahead, ahead_contacts = self._ahead, self._ahead_contacts
        for r in page:
            if r.get("deletedFlag"):
                continue
            ahead[r["id"]] = (r, company_values(r))
            default_id = (r.get("defaultContact") or {}).get("id")
            for c in contacts.get(r["id"], ()):
                if not c.get("inactiveFlag"):
                    ahead_contacts[c["id"]] = (c, default_id, contact_values(c, default_id))

    def _forget_ahead(self) -> None:
        self._ahead_of = None
        self._ahead.clear()
        self._ahead_contacts.clear()

    def company_values(self, record: dict) -> dict:
        """The company's host values (:func:`..shared.fields.company_host_values`), made ahead or now: the caller's
        own dict."""
        made = self._ahead.pop(record["id"], None) if self._ahead else None
        return made[1] if made is not None and made[0] is record else M.company_host_values(record)

    def contact_values(self, contact: dict, default_id: int | None) -> dict:
        """The contact's host values (:func:`..shared.fields.contact_host_values`), made ahead or now: the caller's
        own dict."""
        made = self._ahead_contacts.pop(contact["id"], None) if self._ahead_contacts else None
        if made is not None and made[0] is contact and made[1] == default_id:
            return made[2]
        return M.contact_host_values(contact, default_id)

    def _since(self) -> dt.datetime | None:
        given = self.ctx.params.get("since")
        if given:
            return dt.datetime.fromisoformat(str(given)).replace(tzinfo=None)
        started = last_import_start(self.session)
        return started - WATERMARK_OVERLAP if started else None

    # --- a page -------------------------------------------------------------------------------

    def _page(self, records: list[dict], *, explicit: bool, contacts: dict[int, list[dict]] | None = None) -> None:
        """One page of companies; ``contacts`` (by company id) when already read, else read here. A run an admin
        asked to stop stops before it: the pages before are saved whole (customers, contacts and links in one
        commit) and recorded."""
        self.pages += 1
        collect_cycles(self.pages)  # every few pages, the cycles the pages before left (the one before is dropped)
        self.recorder.stop_if_requested()
        records = [r for r in records if r["id"] not in self.done_cw]
        if contacts is None:
            live = [r["id"] for r in records if not r.get("deletedFlag")]
            contacts = defaultdict(list)
            for c in self.client.contacts.iterate_in("company/id", live, fields=M.CONTACT_FIELDS):
                contacts[(c.get("company") or {}).get("id")].append(c)
        # Companies neither side touched since the last sync: one outcome each, nothing else read or written,
        # and no lock: whatever another import commits for one of them meanwhile, this run wrote nothing of it.
        if not explicit and records and not self.first_import:
            quiet = untouched(self.session, records, contacts, cw_ahead=self.client.server_clock.ahead())
            self.session.rollback()  # end the read transaction
            self._unchanged([(record, quiet[record["id"]]) for record in records if record["id"] in quiet])
            records = [r for r in records if r["id"] not in quiet]
        if not records:
            return
        # One import of a company at a time, across processes: read what the host holds under its lock.
        try:
            with exclusive.companies_locked(self.session, [r["id"] for r in records], wait_seconds=0):
                self._page_locked(records, explicit=explicit, contacts=contacts)
                return
        except Busy:
            self.session.rollback()
        # Another import holds some of them: wait for it, and say so on the run's pages meanwhile.
        self.recorder.note_wait(exclusive.import_waiting_text(records))
        try:
            with ExitStack() as stack:
                try:
                    stack.enter_context(exclusive.companies_locked(self.session, [r["id"] for r in records],
                                                                   should_stop=self.recorder.stop_requested))
                finally:
                    self.recorder.note_wait("")
                self._page_locked(records, explicit=explicit, contacts=contacts)
                return
        except Busy:
            self.session.rollback()
        except Stopped:  # an admin asked the run to stop while it waited: the pages before are saved and recorded
            self.session.rollback()
            raise self.recorder.stopped_waiting() from None
        # Still held past the wait: the others one by one; a held one waits for a later pass of the run.
        for r in records:
            try:
                with exclusive.companies_locked(self.session, [r["id"]], wait_seconds=0):
                    self._page_locked([r], explicit=explicit, contacts=contacts)
            except Busy:
                self.session.rollback()
                label = company_label(r)
                self.recorder.defer(entity=CUSTOMER, key=r["id"], label=label,
                                    error=exclusive.HeldElsewhere(f"another import of {label} is still running"))

    def _page_locked(self, records: list[dict], *, explicit: bool, contacts: dict[int, list[dict]]) -> None:
        try:
            outcomes = self._save_turn(records, contacts, explicit)
        except SQLAlchemyError as e:
            # The page's save failed as a whole (another process wrote one of its customers meanwhile):
            # save its companies one by one, so only the one that clashes fails.
            self.session.rollback()
            self._duplicates = None
            if len(records) == 1:
                outcomes = [not_saved(records[0], type(e).__name__)]
            else:
                outcomes = []
                for record in records:
                    try:
                        outcomes += self._save_turn([record], contacts, explicit)
                    except SQLAlchemyError as one:
                        self.session.rollback()
                        outcomes.append(not_saved(record, type(one).__name__))
        for outcome in outcomes:
            contacts = outcome.pop("contacts", 0)  # contacts this result stands for
            self.recorder.record(direction="import", **outcome)
            self.recorder.tally(CONTACT, outcome["action"], contacts)

    def _save_turn(self, records: list[dict], contacts: dict[int, list[dict]], explicit: bool) -> list[dict]:
        """Read and save the page's companies whose customers no export holds (:meth:`_read_page` takes their export
        locks); those whose customer is being exported wait for a later pass of the run (:meth:`_exported_meanwhile`).
        The outcomes of those saved."""
        while records:
            try:
                with ExitStack() as turn:
                    return self._save_page(records, self._read_page(records, contacts, turn), explicit)
            except _BeingExported as e:
                self.session.rollback()
                self._exported_meanwhile([r for r in records if r["id"] in e.cw_ids])
                records = [r for r in records if r["id"] not in e.cw_ids]
        return []

    # What a company whose customer was being exported waits with (its later pass reads it again).
    EXPORTING_MEANWHILE = "{company}'s ChannelOnline customer was being exported to ConnectWise"

    def _exported_meanwhile(self, records: list[dict]) -> None:
        """These companies' customers were being exported: each waits for a later pass of the run, as a company
        another import holds does."""
        for r in records:
            label = company_label(r)
            self.recorder.defer(entity=CUSTOMER, key=r["id"], label=label,
                                error=exclusive.HeldElsewhere(self.EXPORTING_MEANWHILE.format(company=label)))

    def _take_exports(self, records: list[dict], links: dict[int, LinkRow], by_account: dict[str, int],
                      turn: ExitStack) -> None:
        """Take the export locks of the customers the page's companies are linked to or matched with by account
        number (tried, in the page's transaction: held until it commits or rolls back), before the customers and
        their links' agreement are read; :class:`_BeingExported` with the companies whose customer an export holds.

        An export reads the customer, then its links' agreement and ConnectWise's company, and writes what differs:
        an import writing ConnectWise's values and the new agreement in between made the export take the customer's
        old values for edits made in ChannelOnline and send them back over ConnectWise's (ConnectWise the master),
        and write its stale agreement over the import's; and an import reading a customer an export was linking
        (to a company it had just created, or found by Company ID) linked or created it again. So they take turns,
        as a live-update pass and an export do: the import only tries (it holds the companies' import locks, which a
        relink takes after the customer's export lock: waiting here could close a circle), and a company whose
        customer is being exported waits for a later pass of the run. One statement for the page."""
        customers: dict[int, set[int]] = defaultdict(set)  # customer id -> the page's companies that involve it
        for r in records:
            link = links.get(r["id"])
            if link is not None:
                customers[link.host_id].add(r["id"])
            matched = by_account.get(str(r.get("identifier") or ""))
            if matched is not None:
                customers[matched].add(r["id"])
        if not customers:
            return
        try:
            turn.enter_context(all_tried_in_transaction(self.session, exclusive.customer_keys(customers),
                                                        "being exported"))
            return
        except Busy:
            pass
        busy: set[int] = set()  # which ones (only when some are held): each tried on its own
        for customer_id, companies in customers.items():
            try:
                turn.enter_context(all_tried_in_transaction(self.session, exclusive.customer_keys([customer_id]),
                                                            "being exported"))
            except Busy:
                busy |= companies
        raise _BeingExported(busy)

    def _unchanged(self, companies: list[tuple[dict, Untouched]]) -> None:
        """Untouched companies' outcomes: one result each, which stands for its contacts too."""
        if not companies:
            return
        results = []
        contacts = 0
        for record, company in companies:
            label = company_label(record)
            results.append((company.host_id, record["id"], label, f"{label}: unchanged{with_contacts(company.contacts)}."))
            contacts += company.contacts
        self.recorder.record_all(entity=CUSTOMER, direction="import", action="unchanged", records=results)
        self.recorder.tally(CONTACT, "unchanged", contacts)

    def _read_page(self, records: list[dict], contacts: dict[int, list[dict]], turn: ExitStack) -> PageData:
        """What ConnectWise and the host hold for these companies, in a few queries for the page; the export locks
        of its customers held in ``turn`` (:meth:`_take_exports`)."""
        page_ids = {r["id"] for r in records}
        links = by_cw(self.session, CUSTOMER, [r["id"] for r in records])
        idents = [str(r.get("identifier") or "") for r in records if r["id"] not in links]
        by_account = dict(self.session.execute(select(Customer.account_number, Customer.id)
                                               .where(among(self.session, Customer.account_number, idents))).all()) if idents else {}
        self._take_exports(records, links, by_account, turn)
        contact_links = by_cw(self.session, CONTACT, [c["id"] for r in records for c in contacts.get(r["id"], ())])
        host_ids = {row.host_id for row in links.values()} | set(by_account.values())
        hosts = self._snapshots(host_ids)
        host_links = by_host(self.session, CUSTOMER, by_account.values())
        # A customer matched by account number whose link (read under its export lock) points at one of the page's
        # companies read as linked to none: an export of it linked it between the two reads. The company is its.
        for row in host_links.values():
            if row.cw_id in page_ids and row.cw_id not in links:
                links[row.cw_id] = row
        # Most host contacts' links were just read by ConnectWise id: read only the others'.
        host_contact_links = {row.host_id: row for row in contact_links.values()}
        host_contact_links.update(by_host(self.session, CONTACT, [k for h in hosts.values() for k in h.contacts
                                                                  if k not in host_contact_links]))
        host_contact_links = {k: host_contact_links[k] for h in hosts.values() for k in h.contacts
                              if k in host_contact_links}
        self._lock_links(links, contact_links, host_links, host_contact_links)
        return PageData(contacts, links, contact_links, by_account, hosts, host_links, host_contact_links,
                        notes=notes_of(self.session, hosts),
                        deleted_contacts=self._deleted_contacts(contact_links, hosts))

    def _deleted_contacts(self, contact_links: dict[int, LinkRow], hosts: dict[int, HostCustomer]) -> frozenset[int]:
        """The host contacts the page's contact links point at that ChannelOnline no longer holds (deleted there):
        one query, only when a link points outside the page's customers' contacts."""
        held = {k for h in hosts.values() for k in h.contacts}
        elsewhere = {row.host_id for row in contact_links.values() if row.host_id not in held}
        if not elsewhere:
            return frozenset()
        found = set(self.session.execute(select(Contact.id).where(among(self.session, Contact.id, sorted(elsewhere))))
                    .scalars())
        return frozenset(elsewhere - found)

    def _lock_links(self, *groups: dict) -> None:
        """Lock the links the page read (``groups``: LinkRows by key) before anything of the page is written, in one
        statement by id, as a live-update pass, a relink, a clear and a dismissal of notes lock a customer's links
        (shared/link_locks.py), and read again into those rows (their agreement and state): the page decides on them
        as they are once locked. The page wrote its customers first, forgot their notes, then wrote their links one
        by one, so one of them holding a link the page wanted next, and waiting for the customer or a note the page
        held, deadlocked with it (PostgreSQL aborted one: the company "could not be saved", or the rep's dismissal
        failed). One statement for the page."""
        rows = [row for group in groups for row in group.values() if row.id is not None]
        if not rows:
            return
        now = {r.id: r for r in self.session.execute(
            select(Link.id, Link.cw_id, Link.cw_identifier, Link.fingerprint, Link.cw_last_updated, Link.status,
                   Link.synced_values, Link.synced_at)
            .where(among(self.session, Link.id, sorted({row.id for row in rows}))).order_by(Link.id).with_for_update())}
        for row in rows:
            fresh = now.get(row.id)
            if fresh is not None and fresh.cw_id == row.cw_id:  # (a link re-pointed meanwhile: as read, as before)
                row.cw_id, row.cw_identifier, row.fingerprint = fresh.cw_id, fresh.cw_identifier, fresh.fingerprint
                row.cw_last_updated, row.status, row.synced_values, row.synced_at = \
                    fresh.cw_last_updated, fresh.status, fresh.synced_values, fresh.synced_at

    def _save_page(self, records: list[dict], page: PageData, explicit: bool) -> list[dict]:
        """Decide for each company, save the page's customers and contacts through the host's bulk path,
        write the links, commit once; the outcomes, in record order (recorded once committed)."""
        host = self.ctx.host(self.session)
        writes = PageWrites(self.session)
        jobs = [CompanyImport(self, record, page, explicit, writes) for record in records]
        for job in jobs:
            job.prepare()
        pending = [job for job in jobs if job.write is not None]
        if pending:
            for job, saved in zip(pending, host.save_customers([j.write for j in pending], actor=IMPORT_ACTOR),
                                  strict=True):
                job.finish(saved)
        writes.flush()  # (its links' COPY ends while the next page's host values are made: _make_ahead)
        # The customer pages' notes, as live updates write them (ConnectWise's values a bulk import did not take with
        # ChannelOnline the master, the fields changed on both sides), after the flush forgot the earlier notes they
        # replace (one statement, only when any).
        drift = [row for job in jobs for row in job.drift]
        if drift:
            insert_rows(self.session, RecordDrift.__table__, drift, ids=False)
        self._make_ahead()
        host.commit()
        self.linked += writes.inserted
        if not self._planned_at and self.linked >= BULK_LOAD:
            self._refresh_statistics()  # the rest of the run's pages are planned for the tables' real size
        return [outcome for job in jobs for outcome in job.outcomes]

    def _snapshots(self, host_ids: Iterable[int]) -> dict[int, HostCustomer]:
        """The customers and their contacts (plain values, two queries)."""
        ids = sorted(host_ids)
        if not ids:
            return {}
        out = {c.id: HostCustomer(M.customer_values(c), {}, edited_at=c.updated_at)
               for c in self.session.execute(select(*CUSTOMER_COLUMNS, Customer.updated_at)
                                             .where(among(self.session, Customer.id, ids)))}
        for k in self.session.execute(select(*CONTACT_COLUMNS, Contact.updated_at)
                                      .where(among(self.session, Contact.customer_id, ids)).order_by(Contact.id)):
            host = out[k.customer_id]
            host.contacts[k.id] = M.contact_values(k)
            if k.updated_at is not None and (host.edited_at is None or k.updated_at > host.edited_at):
                host.edited_at = k.updated_at
        return out


def run_import(ctx: SyncContext) -> str:
    """The ``customer_import`` job: import the companies the params select."""
    return CompanyImporter(ctx).run()
