"""Choosing a document's opportunity: the customer's ConnectWise opportunities to pick from, linking a
document to one by id, and where an export will go, checked in ConnectWise before it runs.

* :func:`company_opportunities` lists a company's opportunities (open ones unless asked) with their
  status, stage, expected close and amount, in two requests whatever their number: the
  opportunities, then their products (amount = Σ price × quantity). The status list comes from the
  shared reference cache.
* :func:`link_document` links a document to a chosen opportunity by id (the export then goes there,
  see :mod:`.export`) and writes its name into the document's opportunity-name field.
* :func:`export_target` says where the next export goes and whether a person must confirm it first:
  into a closed, Won or Lost opportunity; or a new opportunity whose name differs from an existing
  one only by case (a slip that would otherwise make a second opportunity). A new opportunity whose
  chosen type, stage or status ConnectWise no longer accepts is refused there, as the export refuses it.
* :func:`line_problems_ahead` says which lines the export would refuse (:meth:`.catalog.Catalog.ensure`, the export's
  own rule, without creating anything): a handful of requests whatever the number of lines.
* :func:`active_export` is the document's export run that is queued or running, if any; :func:`bulk_export` a run
  exporting several documents, this one among them, that has not exported it yet; :func:`export_under_way` either,
  the one rule that turns Export now off, which :func:`submit_export_now` applies to the click itself, under a lock
  every web process shares.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.gateway import UnitOfWork, ValidationError
from host_stub.models import Document

from ...cw import ConnectWiseClient, NotFound
from ...cw import conditions as C
from ...models import (
    ACTIVE_RUN_STATUSES,
    DocumentExport,
    Settings,
    SyncItem,
    SyncRun,
    get_link,
    remove_link,
    set_link,
)
from ...setup.catalog_rules import CatalogRules
from ...setup.opportunity_defaults import NewOpportunityValues, required_problem
from ...text import possessive
from ..jobs.kinds import KindRegistry
from ..jobs.queue import JobQueue, Submitted, submit
from ..jobs.recorder import NOT_ATTEMPTED
from ..shared.locks import Busy
from ..shared.prefetch import Ahead, call_ahead
from . import KIND
from .catalog import Catalog
from .held import exported_items_of, line_inputs
from .job import selection_condition
from .locks import document_lock_tried
from .opportunities import OPPORTUNITY_FIELDS, OpportunitySetup, case_slips, exactly
from .problems import ExportRefused, customer_not_linked, other_company
from .run_setup import ExportSettings
from .state import document_link, get_state, opportunity_field_value
from .targets import OpportunityChoice, case_slip_warning, choice_of, closed_warning, confirm_token

PICKER_FIELDS = [*OPPORTUNITY_FIELDS, "stage"]
MAX_SHOWN = 200  # opportunities listed at once (a search narrows them)


class PickRefused(ValueError):
    """The document cannot be linked to that opportunity; ``str()`` says why and what to do."""


def _amounts(client: ConnectWiseClient, ids: list[int]) -> dict[int, Decimal]:
    """Σ price × quantity of each opportunity's products (one request per 1,000 products)."""
    totals: dict[int, Decimal] = dict.fromkeys(ids, Decimal(0))
    if ids:
        for p in client.products.iterate_in("opportunity/id", ids, fields=["opportunity/id", "price", "quantity"]):
            opp = (p.get("opportunity") or {}).get("id")
            if opp in totals:
                totals[opp] += Decimal(str(p.get("price") or 0)) * Decimal(str(p.get("quantity") or 0))
    return totals


def company_opportunities(client: ConnectWiseClient, setup: OpportunitySetup, company_id: int, *, search: str = "",
                          include_closed: bool = False) -> list[OpportunityChoice]:
    """The company's opportunities, open ones first by expected close (closed ones only when asked)."""
    flags = {s["id"]: s for s in setup.statuses()}
    wanted = C.eq("company/id", int(company_id))
    if not include_closed:
        open_ids = [sid for sid, s in flags.items() if not (s.get("closedFlag") or s.get("wonFlag") or s.get("lostFlag"))]
        if not open_ids:
            return []
        wanted = C.and_(wanted, C.in_("status/id", open_ids))
    if search.strip():
        wanted = C.and_(wanted, C.contains("name", search.strip()[:100]))
    rows = client.opportunities.list(conditions=wanted, fields=PICKER_FIELDS, order_by="expectedCloseDate asc",
                                     page_size=MAX_SHOWN)
    amounts = _amounts(client, [int(r["id"]) for r in rows])
    choices = [choice_of(r, flags, amounts) for r in rows]
    return sorted(choices, key=lambda c: (c.is_closed, c.expected_close or dt.date.max, c.name.lower()))


def get_opportunity(client: ConnectWiseClient, setup: OpportunitySetup, opportunity_id: int) -> OpportunityChoice:
    """One opportunity (with its amount), or :class:`PickRefused` when ConnectWise has no such opportunity."""
    try:
        row = client.opportunities.get(int(opportunity_id), fields=PICKER_FIELDS)
    except NotFound:
        raise PickRefused(f"Opportunity {opportunity_id} no longer exists in ConnectWise; choose another one.") from None
    return choice_of(row, {s["id"]: s for s in setup.statuses()}, _amounts(client, [int(row["id"])]))


# --- linking a document by id ---------------------------------------------------------------------


@contextmanager
def _not_exporting(session: Session, doc: Document) -> Iterator[DocumentExport | None]:
    """Hold the document's export lock while its opportunity is chosen or forgotten (in the session's transaction, which
    the choice commits), and give its export state as committed once the lock is held: an export that ended meanwhile
    has written it. Refused (:class:`PickRefused`) while an export of the document runs: the export writes the
    document's link and state as it puts the lines on its opportunity, so a choice made meanwhile would be overwritten,
    or, made on a state read before the export's last write, would point an exported document at an opportunity
    without its lines."""
    with ExitStack() as stack:
        try:
            stack.enter_context(document_lock_tried(session, doc.id))
        except Busy:
            raise PickRefused(f"{doc.number} is being exported to ConnectWise right now. Choose its opportunity again "
                              "once the export has finished (its result shows on this page).") from None
        yield get_state(session, doc.id, fresh=True)


def link_document(session: Session, host: UnitOfWork, client: ConnectWiseClient, setup: OpportunitySetup,
                  settings: Settings, doc: Document, opportunity_id: int) -> str:
    """Link ``doc`` to the opportunity by id and put its name in the opportunity-name field; commits.

    Only a document not exported yet can be pointed elsewhere (an exported one keeps its lines on its
    opportunity), and not while an export of it runs. Returns what was done, for the page.
    """
    with _not_exporting(session, doc) as state:
        return _link_document(session, host, client, setup, settings, doc, opportunity_id, state)


def _link_document(session: Session, host: UnitOfWork, client: ConnectWiseClient, setup: OpportunitySetup,
                   settings: Settings, doc: Document, opportunity_id: int, state: DocumentExport | None) -> str:
    if state is not None and state.exported_at is not None:
        raise PickRefused(f"{doc.number} is already exported to opportunity {state.opportunity_id} “"
                          f"{state.opportunity_name}” and stays linked to it. To export its lines to another "
                          "opportunity, create a new quote with the same lines (Quotes → New quote) and export that.")
    company = get_link(session, "customer", doc.customer_id)
    if company is None:
        raise PickRefused(customer_not_linked(doc.customer.name, doc.customer.account_number))
    choice = get_opportunity(client, setup, opportunity_id)
    if choice.company_id not in (None, company.cw_id):
        raise PickRefused(f"Opportunity {choice.id} “{choice.name}” belongs to another ConnectWise company; choose "
                          f"one of {possessive(doc.customer.name)} opportunities.")
    set_link(session, "document", doc.id, choice.id, cw_identifier=choice.name[:100])
    if state is None:
        state = DocumentExport(document_id=doc.id)
        session.add(state)
    if state.opportunity_id != choice.id:
        # Not the opportunity a failed first export created (if any): the export must not take it for the document's
        # own and send the document's contact and close date to a colleague's deal.
        state.created_opportunity = False
    state.opportunity_id, state.opportunity_name = choice.id, choice.name[:100]
    filled = ""
    if settings.opportunity_field_id:
        try:
            host.save_document({}, None, document_id=doc.id, custom_fields={settings.opportunity_field_id: choice.name})
        except ValidationError as e:
            raise PickRefused(" ".join(e.errors.values())) from None
        filled = " Its opportunity name field now says so."
    host.commit()
    return (f"{doc.number} is linked to opportunity {choice.id} “{choice.name}”: Export to ConnectWise adds its "
            f"lines there.{filled}")


def unlink_document(session: Session, doc: Document) -> str:
    """Forget a chosen opportunity of a document not exported yet (the export goes by name again), not while an
    export of it runs; commits."""
    with _not_exporting(session, doc) as state:
        return _unlink_document(session, doc, state)


def _unlink_document(session: Session, doc: Document, state: DocumentExport | None) -> str:
    if state is not None and state.exported_at is not None:
        raise PickRefused(f"{doc.number} is exported to opportunity {state.opportunity_id} and stays linked to it.")
    if doc.is_converted_quote:
        # Its sales order takes over the quote's opportunity (it exports there): unlinking the quote would send the
        # order to a new opportunity by name, and leave the one chosen for the deal behind.
        raise PickRefused(f"{doc.number} was converted to a sales order, which exports to the opportunity chosen "
                          "for it: it stays linked.")
    remove_link(session, "document", doc.id)
    if state is not None:
        state.opportunity_id, state.opportunity_name = None, ""
    session.commit()
    return f"{doc.number} is no longer linked to an opportunity: the export uses the opportunity name on the document."


# --- where the export goes ------------------------------------------------------------------------


@dataclass
class ExportTarget:
    """Where the next export of a document goes, as checked in ConnectWise just now."""

    opportunity: OpportunityChoice | None  # the one it goes to (None: a new one, or unknown)
    how: str  # "linked" | "quote" (a sales order's quote) | "name" | "new" | "unknown"
    detail: str  # one sentence for the checklist
    confirm: str | None = None  # when set, the export waits for a person to confirm this
    case_slips: list[OpportunityChoice] = field(default_factory=list)  # same name but for case
    refused: ExportRefused | None = None  # when set, the export would be refused: Export now waits for the fix
    # The customer not exported yet: the ConnectWise company with its Company ID (id, Company ID, name), which the
    # customer's export links rather than creating one (None: none, or the customer is linked).
    unlinked_company: tuple[int, str, str] | None = None

    @property
    def confirm_token(self) -> str:
        """What the confirmation checkbox posts, and Export now passes to its run: it stays valid only for this very
        target (:func:`.targets.confirm_token`)."""
        return confirm_token(self.how, self.opportunity.id if self.opportunity else None)


def export_target(session: Session, client: ConnectWiseClient, setup: OpportunitySetup, settings: Settings,
                  doc: Document, snapshot: dict) -> ExportTarget:
    """Where exporting ``doc`` goes, and what needs confirming (two requests at most, and, for a new opportunity, the
    lists of the values chosen for new opportunities, read fresh as the export reads them)."""
    link, inherited = document_link(session, doc)
    gone = ""  # a linked opportunity gone from ConnectWise: the export goes by the name, checked as such below
    if link is not None:
        try:
            choice = get_opportunity(client, setup, link.cw_id)
        except PickRefused:
            gone = (f"Linked opportunity {link.cw_id} is gone from ConnectWise: the export goes by the opportunity name "
                    "instead.")
            link = None
    if link is not None:
        how = "quote" if inherited else "linked"
        company = get_link(session, "customer", doc.customer_id)
        if company is not None and choice.company_id not in (None, company.cw_id):  # as the export refuses it
            refused = other_company(doc.number, choice.id, choice.name, choice.company_name)
            return ExportTarget(choice, how, refused.sentence, refused=refused)
        where = f"opportunity {choice.id} “{choice.name}”" + (" (the quote's)" if inherited else "")
        return ExportTarget(choice, how, f"Goes to {where}, {choice.state.lower()}.",
                            confirm=closed_warning(choice, doc))
    # (The export's own name: the document number when the field is empty and empty names are allowed.)
    name = opportunity_field_value(snapshot, settings) or (
        doc.number if settings.allow_empty_opportunity_name else "")
    if not name:
        return ExportTarget(None, "unknown", gone)
    company = get_link(session, "customer", doc.customer_id)
    unlinked = None if company is not None else _company_of_account(client, doc.customer.account_number)
    company_id = company.cw_id if company is not None else unlinked[0] if unlinked else None
    if company_id is None:
        # Not exported yet, and ConnectWise has no company with its account number: the customer's export creates
        # it, so the opportunity is a new one. What ConnectWise would refuse of a new opportunity (a type an admin
        # must change) is said now, not once the customer is exported.
        refused = _new_refused(session, setup, settings, doc)
        return ExportTarget(None, "new", " ".join(filter(None, (gone, refused and refused.sentence))), refused=refused)
    # (Not exported yet but ConnectWise has its company, which the customer's export links: the export goes by the
    # name among that company's opportunities, a Won one or one named alike but for case included.)
    target = _by_name(session, client, setup, settings, doc, name, company_id)
    target.unlinked_company = unlinked
    if gone:
        target.detail = f"{gone} {target.detail}"
    return target


def _by_name(session: Session, client: ConnectWiseClient, setup: OpportunitySetup, settings: Settings, doc: Document,
             name: str, company_id: int) -> ExportTarget:
    """Where an export that goes by the opportunity name ``name`` goes (the export's own rule: the exact name, else a
    new opportunity)."""
    rows = client.opportunities.list(conditions=C.and_(C.eq("company/id", company_id), C.eq("name", name)),
                                     fields=PICKER_FIELDS, page_size=25)
    flags = {s["id"]: s for s in setup.statuses()}
    exact = [choice_of(r, flags) for r in exactly(rows, name)]
    if exact:
        choice = next((c for c in exact if not c.is_closed), exact[0])
        return ExportTarget(choice, "name", f"Goes to opportunity {choice.id} “{choice.name}” (same name), "
                            f"{choice.state.lower()}.", confirm=closed_warning(choice, doc))
    slips = [choice_of(r, flags) for r in case_slips(rows, name)]
    refused = _new_refused(session, setup, settings, doc)
    if refused is not None:
        return ExportTarget(None, "new", refused.sentence, case_slips=slips, refused=refused)
    if slips:
        return ExportTarget(None, "new", f"Creates a new opportunity “{name}”{won_when_new(doc)}.", case_slips=slips,
                            confirm=case_slip_warning(doc.customer.name, slips, name))
    return ExportTarget(None, "new", f"Creates a new opportunity “{name}” for {doc.customer.name}{won_when_new(doc)}.")


def _company_of_account(client: ConnectWiseClient, account_number: str | None) -> tuple[int, str, str] | None:
    """The ConnectWise company (not deleted) whose Company ID is ``account_number`` (case aside), which a customer's
    export links, as (id, Company ID, name), or None (one request; the number a quoted value)."""
    if not account_number:
        return None
    rows = client.companies.list(conditions=C.eq("identifier", account_number),
                                 fields=["id", "identifier", "name", "deletedFlag"], page_size=25)
    return next(((int(r["id"]), str(r.get("identifier") or ""), str(r.get("name") or "")) for r in rows
                 if str(r.get("identifier", "")).casefold() == account_number.casefold() and not r.get("deletedFlag")),
                None)


def won_when_new(doc: Document) -> str:
    """What a new opportunity's sentence adds for a sales order, whose new opportunity is created Won (a quote's is
    open): the rest of the sentence."""
    return "" if doc.is_quote else ", Won: a sales order's new opportunity is Won"


def _new_refused(session: Session, setup: OpportunitySetup, settings: Settings, doc: Document) -> ExportRefused | None:
    """Why a new opportunity for ``doc`` would be refused: the type, stage or status chosen for new opportunities
    is one ConnectWise no longer accepts (the export's own rule, :meth:`OpportunitySetup.new_opportunity_refs`), or
    ConnectWise refused an export because the tenant makes a field mandatory that is still left to its default."""
    values = NewOpportunityValues.of(settings)
    try:
        setup.new_opportunity_refs(values, quote=doc.is_quote)
    except ExportRefused as refused:
        return refused
    required = required_problem(session, values, settings.required_refusals)
    return ExportRefused(required.message, required.fix) if required is not None else None


# --- the lines, and a run under way ------------------------------------------------------------------


def line_problems_ahead(session: Session, client: ConnectWiseClient, settings: Settings, doc: Document
                        ) -> Ahead[ExportRefused | None]:
    """Why the export would refuse ``doc``'s lines (None when each can be exported), asked in a thread of its own (the
    host's part read first, on ``session``) while the caller asks ConnectWise where the export goes
    (:func:`export_target`): the checklist and Export now wait for one round trip to ConnectWise, not two one after
    another. Its answer (or error) is taken with ``.result()``. The export's own rule, :meth:`.catalog.Catalog.ensure`
    without creating anything: its items are looked up in batches, the manufacturers and categories they would be
    created with by name, once each (a handful of requests, not one per line); a line whose item number is the one
    it was exported with is not looked up (its product holds that item), as the export does; the mappings are read
    only when an item is missing from the catalog."""
    check = _lines_check(session, settings, doc)
    client.base_url  # noqa: B018 - the API's address found here first: a ConnectWise that fails to say it fails once
    return call_ahead(lambda: check(client), name="colcw-checklist-lines")


def _lines_check(session: Session, settings: Settings, doc: Document
                 ) -> Callable[[ConnectWiseClient], ExportRefused | None]:
    """:func:`line_problems_ahead`'s questions to ConnectWise, with what the host holds read now on ``session``: the call
    uses no session but one of its own, for the catalog rules (read only when an item is missing), so it may run in
    another thread."""
    lines = line_inputs(doc)
    if not lines:
        return lambda client: None
    exported = exported_items_of(session, doc.id)
    engine, options = session.get_bind(), ExportSettings.of(settings)

    def rules() -> CatalogRules:
        with Session(bind=engine) as own:
            return CatalogRules.load(own, options)

    def check(client: ConnectWiseClient) -> ExportRefused | None:
        try:
            Catalog(client, rules).ensure(lines, create=False, exported=exported)
        except ExportRefused as refused:
            return refused
        return None
    return check


def active_export(session: Session, document_id: int) -> SyncRun | None:
    """The run exporting this document alone (what Export now queues) while it is queued, running or waiting
    to retry; None when there is none. One statement: a handful of runs are active at a time."""
    runs = session.execute(select(SyncRun).where(SyncRun.kind == KIND, SyncRun.status.in_(ACTIVE_RUN_STATUSES))
                           .order_by(SyncRun.id)).scalars()
    return next((r for r in runs if int((r.params or {}).get("document_id") or 0) == document_id), None)


def bulk_export(session: Session, document_id: int) -> SyncRun | None:
    """A run exporting several documents, the document ``document_id`` among them (a bulk export from a list, the
    jobs page, a schedule, a Retry), while it is queued, running or waiting to retry and has not recorded the
    document's outcome yet; None when there is none. Which documents a run exports: those it selected when it started
    (its selection of ids), else those its params name, else those its date range (or "all") selects now. Three
    statements at most, whatever the number of runs: the active runs; for those selecting by date, whether each
    selects the document (one statement for all of them); for those that include it, whether they have exported it
    already."""
    doc_id = int(document_id)
    runs = session.execute(select(SyncRun).where(SyncRun.kind == KIND, SyncRun.status.in_(ACTIVE_RUN_STATUSES))
                           .order_by(SyncRun.id)).scalars()
    including: list[SyncRun] = []
    by_date: list[tuple[SyncRun, object]] = []
    for run in runs:
        params, selection = run.params or {}, run.selection or {}
        if params.get("document_id") is not None:
            continue  # one document's own export (active_export)
        if selection.get("entity") == "document" and selection.get("ids") is not None:
            if doc_id in {int(i) for i in selection["ids"]}:
                including.append(run)
        elif params.get("document_ids") is not None:
            if doc_id in {int(i) for i in params["document_ids"]}:
                including.append(run)
        else:
            try:
                by_date.append((run, selection_condition(params)))
            except ValueError:  # it selects nothing (its run says why)
                continue
    if by_date:
        row = session.execute(select(*(condition.label(f"run_{run.id}") for run, condition in by_date))
                              .select_from(Document).where(Document.id == doc_id)).first()
        including += [run for (run, _), selects in zip(by_date, row or (), strict=False) if selects]
    if not including:
        return None
    exported = set(session.execute(select(SyncItem.run_id).where(
        SyncItem.entity == "document", SyncItem.host_id == doc_id, SyncItem.action != NOT_ATTEMPTED,
        SyncItem.run_id.in_([run.id for run in including]))).scalars())
    return min((run for run in including if run.id not in exported), key=lambda run: run.id, default=None)


def export_under_way(session: Session, document_id: int) -> SyncRun | None:
    """The run exporting this document now, while Export now is off for it: its own export (:func:`active_export`,
    queued, running or waiting to retry), else a run of several documents still to reach it (:func:`bulk_export`);
    None when there is none. The page disables Export now on it, and :func:`submit_export_now` refuses on it."""
    return active_export(session, document_id) or bulk_export(session, document_id)


def exports_it_alone(run: SyncRun) -> bool:
    """Whether ``run`` is a document's own export (what Export now queues), not one of several documents."""
    return (run.params or {}).get("document_id") is not None


class ExportUnderWay(Exception):
    """Export now was clicked while the document's export is under way (:func:`export_under_way`): ``run``."""

    def __init__(self, run: SyncRun):
        super().__init__(f"already being exported by run #{run.id}")
        self.run = run


def submit_export_now(session: Session, queue: JobQueue, kinds: KindRegistry, params: dict, *,
                      actor: dict | None) -> Submitted:
    """Queue Export now's run of ``params["document_id"]``, unless its export is under way: then
    :class:`ExportUnderWay` names that run and nothing is queued. A page loaded before the first click (another tab, a
    back button) may post other params (what it confirmed, as it is now), which the queue's own check of the same work
    (:func:`~..jobs.queue.find_active`: the same params) does not take for a second run of it: so the look and the
    submit are done under one lock per document in Redis, which every web process on every machine shares, and the
    look reads the database afresh. Commits the session (nothing of the caller's is held while the lock is waited for).
    :class:`~colcw_plugin.errors.QueueBusy`: another click holds that lock (nothing queued; Redis answered);
    RedisError: not queued."""
    document_id = int(params["document_id"])
    session.commit()
    with queue.lock(f"{KIND}-export-now-{document_id}"):
        session.expire_all()
        running = export_under_way(session, document_id)
        if running is not None:
            session.rollback()
            raise ExportUnderWay(running)
        return submit(session, queue, kinds, KIND, params, trigger="manual", actor=actor)
