"""Export one quote or sales order to a ConnectWise opportunity (user guide §4.2, §5.4, Appendix D).

The order of work keeps ConnectWise clean when anything is wrong:

1. preconditions (Appendix C): the customer and the contact are linked to ConnectWise, the
   sales rep is mapped — otherwise nothing is sent;
2. every line resolves to a catalog item (missing ones created only when *all* lines can be);
3. the opportunity: the one this document (or, for a sales order, its quote) is linked to by
   id; else an exact, case-sensitive name match among the company's opportunities; else a new
   one, its create intent committed before the POST (:mod:`.intents`) — and the link is committed
   at once, so a crash from here on resumes on it;
4. the lines, reconciled per :mod:`.lines` (never duplicated);
5. a sales order sets the opportunity to Won, unless an unconverted quote still feeds it (:mod:`.won`);
6. the state (fingerprint, per-line product ids) is saved and the document locked in the host, in
   one commit (:mod:`.bookkeeping`).

Nothing is written before step 2 is done, but step 3's reads (the linked opportunity and its
products, or the look-up by name under the name's lock) go out while the catalog is looked up: they
do not depend on it, and against a real tenant each is a round trip a rep waits for.

Exports of one document are serialised across processes (:mod:`.locks`). What an export reads of its
document and of colcw's rows is read once, under that lock (:mod:`.held`); what every document of a
run shares (the connection options, the sales reps' members, the catalog rules) once per run
(:mod:`.run_setup`).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from host_stub.gateway import UnitOfWork
from host_stub.models import CustomField, Document, utcnow

from ...cw import (
    AuthenticationFailed,
    ConnectWiseClient,
    ConnectWiseError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    create_once,
    unacknowledged,
)
from ...models import DocumentDrift, Settings, actor_label, remove_link
from ...setup import pages
from ...setup.catalog_rules import CatalogRules
from ...setup.connection import read_settings
from ...setup.opportunity_defaults import DEFAULT_LABEL, KINDS, STATUS, Missing
from ...setup.reps import MemberIds, UnmappedRep
from ...text import cw_length, plural, possessive
from ..jobs.kinds import RunOptions
from ..jobs.recorder import LockWait
from ..shared.advice import ASK_ADMIN_FOR_KEYS, ask_admin_for_access
from ..shared.locks import LOCK_WAIT_SECONDS, Busy, Stopped
from ..shared.markers import parse_marker
from ..shared.prefetch import Ahead, call_ahead, writes_at_once
from ..shared.product_drift import overwrite
from ..shared.statuses import CACHE_KEY
from . import intents
from .bookkeeping import (
    alone_in_autocommit,
    link_is,
    save_created,
    save_header,
    save_lines,
    save_link,
    save_state,
)
from .catalog import CATALOG_DESCRIPTION_MAX, Catalog
from .descriptions import shortened_note
from .held import HEADER, HeldDocument, LinkRef, exported_items, load_document
from .lines import Desired, apply_plan, cut_descriptions, list_products, plan_lines
from .locks import document_lock, name_lock
from .opportunities import (
    NAME_MAX,
    OPPORTUNITY_FIELDS,
    OpportunitySetup,
    case_slips,
    choose_match,
    create_refused,
    created_with,
    exactly,
    named_like,
    new_opportunity_body,
    remember_refusal,
    shared_setup,
    update_refused,
)
from .problems import (
    AMOUNTS,
    DRIFT,
    ExportRefused,
    LineProblem,
    amounts_token,
    company_deleted,
    converted,
    drift_token,
    long_name,
    no_contact,
    no_lines,
    no_name_field,
    odd_lines,
    other_company,
    overwritten,
    refuses_no_lines,
)
from .run_setup import ExportSettings, Reps
from .state import document_fingerprint, opportunity_field_value
from .targets import case_slip_warning, choice_of, closed_warning, confirm_token
from .won import won_change


@dataclass
class ExportContext:
    """What the exports of one run share: the client, the per-run ConnectWise caches, the connection
    options and the sales reps' members (plain values: the run's threads share them)."""

    client: ConnectWiseClient
    setup: OpportunitySetup
    catalog: Catalog
    settings: ExportSettings
    reps: Reps
    # Opens the host's unit of work on a session (the document is locked through it).
    host: Callable[[Session], UnitOfWork] = UnitOfWork
    # Says why the run waits ("" when it goes on): shown on the run's pages while it waits.
    on_wait: Callable[[str], None] | None = None
    # How many of its workers the run has: each document's writes take their share of the client's requests
    # in flight (one worker alone, as for a rep's export, sends a document's product lines side by side).
    workers: int = 1
    # Whether the run was asked to stop (its recorder's): a wait for a document's lock ends then (Stopped).
    should_stop: Callable[[], bool] | None = None
    # Whether a mandatory field ConnectWise refused an export for may be remembered (when the run began, or
    # since, by this run): only then does an opportunity created without it forget it (a statement of its own).
    refusals_remembered: bool = False
    # The mandatory fields ConnectWise refused an opportunity of this run for (kind key -> that refusal, naming its
    # document): the run's later new opportunities that leave one to ConnectWise's default are refused at once,
    # without sending them (:meth:`refused_before`). Per run only: between runs an admin may change ConnectWise, so
    # a later run asks it again.
    refused_required: dict[str, Missing] = field(default_factory=dict)
    # How long an opportunity POST an earlier attempt sent, and never saw end, may still land: a document whose
    # earlier POST is neither found nor this old waits (:mod:`.intents`; the run's options carry it).
    create_settle_seconds: float = RunOptions.create_settle_seconds
    # Whether whoever started the run can confirm on the document's export page what it refuses unconfirmed (a single
    # document's export, not a Retry: :func:`_unconfirmed` then says where to tick), asked only when it refuses.
    confirmable: Callable[[], bool] | None = None
    _refusals_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def for_run(cls, session: Session, client: ConnectWiseClient, settings: Settings | None = None, *,
                host: Callable[[Session], UnitOfWork] = UnitOfWork,
                on_wait: Callable[[str], None] | None = None, workers: int = 1,
                should_stop: Callable[[], bool] | None = None,
                create_settle_seconds: float = RunOptions.create_settle_seconds) -> ExportContext:
        settings = settings or read_settings(session)
        plain = ExportSettings.of(settings)
        engine = session.get_bind()
        return cls(client, shared_setup(client, engine, settings), Catalog(client, _rules_loader(engine, plain)),
                   plain, Reps(plain), host=host, on_wait=on_wait, workers=workers, should_stop=should_stop,
                   refusals_remembered=plain.required_refusals > 0, create_settle_seconds=create_settle_seconds)


    def note_refused(self, missing: Missing, number: str) -> None:
        """ConnectWise refused ``number``'s opportunity because the tenant makes ``missing``'s fields mandatory (safe
        from the run's threads: the first refusal of each field is kept)."""
        with self._refusals_lock:
            for kind in missing.kinds:
                self.refused_required.setdefault(kind.key, dataclasses.replace(missing, document=number))

    def refused_before(self, name: str) -> ExportRefused | None:
        """Why a new opportunity ``name`` is refused without asking ConnectWise: earlier in this run ConnectWise
        refused one for a field this tenant makes mandatory, and the run's settings leave that field to ConnectWise's
        default (None when no such refusal came, or a value is chosen for it). A new opportunity always gets a status
        (the chosen one, or the open or Won one), so only its type and stage can be left to the default."""
        with self._refusals_lock:
            seen = dict(self.refused_required)
        values = self.settings.new_opportunity
        kinds = tuple(k for k in KINDS if k.key in seen and k is not STATUS and values.get(k) is None)
        if not kinds:
            return None
        first = seen[kinds[0].key]
        words = " and ".join(k.label for k in kinds)
        return ExportRefused(
            f"this tenant requires an opportunity {words} on every opportunity, and "
            f"{'none is' if len(kinds) == 1 else 'they are not'} chosen for the opportunities colcw creates (left to "
            f"{DEFAULT_LABEL}). ConnectWise refused to {first.refused_to} the opportunity “{first.opportunity}” of "
            f"{first.document} for it earlier in this run, so the opportunity “{name}” was not sent.",
            Missing(kinds, name).fix)


def _rules_loader(engine: Engine, settings: ExportSettings) -> Callable[[], CatalogRules]:
    """The catalog rules, read when a run first needs them (only to create a catalog item)."""
    def load() -> CatalogRules:
        with Session(bind=engine) as session:
            return CatalogRules.load(session, settings)
    return load


@dataclass
class Outcome:
    """The result of exporting one document, for the run log and the page."""

    document_id: int
    number: str
    action: str  # created | updated | unchanged | failed | skipped
    opportunity_id: int | None = None
    opportunity_name: str = ""
    message: str = ""
    resolution: str = ""
    lines: list[LineProblem] = field(default_factory=list)
    error: ConnectWiseError | None = None  # the ConnectWise failure, when there was one


def export_document(session: Session, ctx: ExportContext, document_id: int, *, actor: dict | None = None,
                    run_id: int | None = None, confirmed: str | None = None,
                    confirmed_checks: tuple[str, ...] = ()) -> Outcome:
    """Export one document; never raises for a ConnectWise or setup problem (the outcome says it). ``confirmed``: the
    target a person confirmed on the document's checklist (:func:`.targets.confirm_token`), when Export now was
    clicked with its box ticked; without it a target the checklist asks to confirm is refused (:func:`_unconfirmed`).
    ``confirmed_checks``: the warnings (⚠) ``actor`` ticked there (:func:`.problems.warning_token`), which the outcome
    says they confirmed (:func:`_warned`).
    :class:`Stopped` when the run was asked to stop while it waited for a lock (nothing of it written yet, but
    catalog items, and the link of an opportunity gone from ConnectWise, forgotten)."""
    number = ""
    sent = _Sent()
    try:
        with document_lock(session.get_bind(), document_id, on_wait=_lock_waiting(ctx, session, document_id),
                           should_stop=ctx.should_stop), \
                ExitStack() as later:  # what the export takes on its way, released before the document's lock
            session.expire_all()  # see what an export that held the lock before us wrote
            # (with the shared statuses' version: ten minutes of exports read them from this process's copy)
            held = load_document(session, document_id, ctx.setup.shared_key(CACHE_KEY))
            if held is None:
                return Outcome(document_id, f"#{document_id}", "failed",
                               message=f"Document #{document_id} no longer exists.",
                               resolution="Nothing to export; remove it from the selection.")
            number = held.number
            ctx.setup.note_version(CACHE_KEY, held.reference_version)
            if held.converted:
                order = session.execute(select(Document.number).where(Document.source_quote_id == held.id)).first()
                message, resolution = converted(number, order[0] if order else None)
                return Outcome(held.id, number, "skipped", message=message, resolution=resolution)
            return _export(session, ctx, held, actor, run_id, later, sent, confirmed, confirmed_checks)
    except Stopped:
        session.rollback()
        raise
    except Busy as e:
        session.rollback()
        number = number or _number(session, document_id)
        return Outcome(document_id, number, "failed", message=f"{number}: {e}", resolution="Export it again later.")
    except ExportRefused as e:
        session.rollback()
        if remember_refusal(session, e, number):  # a field ConnectWise said is mandatory: the pre-flight check says it
            ctx.refusals_remembered = True
            ctx.note_refused(e.required, number)  # the run's later new opportunities are refused without asking
        _save_failure(session, document_id, e.message, e.resolution, run_id)
        return Outcome(document_id, number, "failed", resolution=e.resolution, lines=e.lines,
                       message=f"{number} was not exported{' completely' if e.partly else ''}: {e.message}")
    except (ConnectWiseError, UnmappedRep) as e:
        session.rollback()
        # A transient failure is not an outcome yet: its run tries the document again, so it waits (its
        # pages show a failure only once that run is over without exporting it: state.export_failed).
        transient = isinstance(e, ConnectWiseError) and e.transient
        message, resolution = _failure_text(number, e, transient, sent.any)
        _save_failure(session, document_id, message, resolution, run_id, status="waiting" if transient else "failed")
        return Outcome(document_id, number, "failed", message=message, resolution=resolution,
                       error=e if isinstance(e, ConnectWiseError) else None)


@dataclass
class _Sent:
    """Whether this export wrote anything of the document in ConnectWise (its opportunity made, its lines or the
    opportunity changed) before it failed: a failure before says "not exported", one after "not exported
    completely"."""

    any: bool = False


def _failure_text(number: str, e: ConnectWiseError | UnmappedRep, transient: bool, sent: bool) -> tuple[str, str]:
    """A failed export's message and what to do. A transient failure (a timeout, a server error, rate limiting)
    named nothing to fix: its run tries the document again by itself, and what is stored is read once that run
    is over without exporting it (the pages say the run retries while it does), so it says to export it again
    once ConnectWise answers. ConnectWise refusing colcw's keys or its API member's access is no fault of the
    document either: an admin fixes the connection. ``sent``: something of the document was written first."""
    what = f"{number} was not exported{' completely' if sent else ''}"
    again = "; lines already sent are matched, not duplicated." if sent else "."
    if isinstance(e, intents.CreateStillLanding):
        return (f"{number} was not exported yet: {e.message}",
                "Nothing in it needs fixing: it is looked up again before anything is created, and taken once "
                "ConnectWise holds it. Export it again later if this run ends first: no second opportunity is made.")
    if transient:
        assert isinstance(e, ConnectWiseError)
        return (f"{what}: ConnectWise answered {e.detail}",
                f"Nothing in it needs fixing: {e.why_not_done}. Export it again once ConnectWise answers (in a few "
                f"minutes){again}")
    if isinstance(e, AuthenticationFailed):
        return (f"{what}: ConnectWise refused colcw's login: {e.detail}",
                f"Nothing in the document needs fixing: {ASK_ADMIN_FOR_KEYS}, then export it again{again}")
    if isinstance(e, PermissionDenied):
        return (f"{what}: ConnectWise denied colcw's API member access: {e.detail}",
                f"Nothing in the document needs fixing: {ask_admin_for_access(e.resource)}, then export it again{again}")
    return (f"{what}: ConnectWise answered {e}", f"Fix what ConnectWise named and export again{again}")


def _number(session: Session, document_id: int) -> str:
    row = session.execute(select(Document.number).where(Document.id == document_id)).first()
    return row[0] if row else f"#{document_id}"


def _lock_waiting(ctx: ExportContext, session: Session, document_id: int) -> Callable[[bool], None] | None:
    if ctx.on_wait is None:
        return None
    say = ctx.on_wait

    def waiting(held: bool) -> None:
        if not held:
            say("")
            return
        number = _number(session, document_id)
        say(LockWait(f"Waiting for another export of {number} to finish (exports of one document run one at a time)",
                     what=number, seconds=LOCK_WAIT_SECONDS, then=f"{number} fails, to be exported again later"))
    return waiting


def _name_waiting(ctx: ExportContext, name: str) -> Callable[[bool], None]:
    say = ctx.on_wait or (lambda reason: None)
    return lambda waiting: say(f"Waiting for another export creating the opportunity \"{name}\" to finish"
                               if waiting else "")


def _preconditions(session: Session, ctx: ExportContext, held: HeldDocument, actor: dict | None
                   ) -> tuple[int, int, MemberIds]:
    """Appendix C: customer and contact linked, sales rep mapped. Returns (company, contact, member)."""
    customer = held.customer_name
    if held.contact_id is None:
        raise no_contact(customer)
    if held.customer_link is None or held.contact_link is None:
        missing = ("the customer and its contact are" if held.customer_link is None and held.contact_link is None
                   else "the customer is" if held.customer_link is None else f"the contact {held.contact_name} is")
        raise ExportRefused(  # (colcw knows its links, not what ConnectWise holds: a company may be there unlinked)
            f"Both the customer and the contact need to exist in ConnectWise to export the document: {missing} "
            "not linked to ConnectWise yet.",
            f"Manually sync the specific customer from ChannelOnline to ConnectWise (Export to ConnectWise on "
            f"{possessive(customer)} page: it links the company by its Company ID, or creates it), then export "
            "this document again.")
    if held.customer_link.status == "missing_in_cw":  # its opportunities belong to a deleted company
        raise company_deleted(customer, held.customer_link.cw_identifier, held.customer_account)
    rep = ctx.reps.member(session, actor, held.sales_rep_id)
    return held.customer_link.cw_id, held.contact_link.cw_id, rep


@dataclass
class _Reads:
    """The ConnectWise reads that do not depend on the catalog, sent while it is looked up: the linked
    opportunity and its products; or, for a document without a link, the company's opportunities of
    the document's name, under that name's lock. Against a real tenant each read costs a round trip,
    so a rep's export waits one round trip less (two requests in the time of one)."""

    linked: Ahead[dict] | None = None  # the linked opportunity (NotFound when it is gone)
    products: Ahead[list[dict]] | None = None  # the linked opportunity's products
    by_name: Ahead[list[dict]] | None = None  # without a link: the company's opportunities named like the document's
    # name (:func:`.opportunities.named_like`: but for upper and lower case too)


def _read_ahead(session: Session, ctx: ExportContext, link: LinkRef | None, company_id: int, name: str,
                later: ExitStack) -> _Reads:
    """Start the reads of :class:`_Reads`. ``later`` waits for them when the export ends (a refusal
    included), so no request of an export outlives it."""
    client = ctx.client
    if link is not None:
        cw_id = link.cw_id
        ahead = _Reads(linked=call_ahead(lambda: client.opportunities.get(cw_id, fields=OPPORTUNITY_FIELDS)),
                       products=call_ahead(lambda: list_products(client, cw_id)))
    elif name and cw_length(name) <= NAME_MAX:
        # Found and, when missing, created under its lock: the lock comes first.
        later.enter_context(name_lock(session.get_bind(), company_id, name, on_wait=_name_waiting(ctx, name),
                                      should_stop=ctx.should_stop))  # before anything is written
        ahead = _Reads(by_name=call_ahead(lambda: named_like(client, company_id, name)))
    else:
        return _Reads()
    for call in (ahead.linked, ahead.products, ahead.by_name):
        if call is not None:
            later.callback(call.wait)
    return ahead


def _export(session: Session, ctx: ExportContext, held: HeldDocument, actor: dict | None,
            run_id: int | None, later: ExitStack, sent: _Sent, confirmed: str | None,
            confirmed_checks: tuple[str, ...] = ()) -> Outcome:
    settings = ctx.settings
    client = ctx.client
    number = held.number
    company_id, contact_id, rep = _preconditions(session, ctx, held, actor)
    state = held.state
    lines = held.lines
    if refuses_no_lines(len(lines), bool(state and state.exported_at)):  # (as its checklist says: one definition)
        raise no_lines(number)
    name_now = opportunity_field_value(held.snapshot, settings)
    fingerprint = document_fingerprint(held.snapshot, settings)
    link, inherited = held.opportunity_link()
    # A missing name is reported before anything is written (catalog items included), and
    # together with the lines at fault, so the rep fixes everything in one go.
    unnamed = None if name_now or link else _name_refusal(session, settings)
    exported = exported_items(session, held)
    ahead = _read_ahead(session, ctx, link, company_id, name_now, later)
    if unnamed is None:
        _check_new_opportunity(ctx, held, name_now, ahead)
    new_items: list[dict] = []
    try:
        catalog_ids = ctx.catalog.ensure(lines, create=unnamed is None, exported=exported, created=new_items)
    except ExportRefused as e:
        if unnamed is None:
            raise
        raise ExportRefused(f"{unnamed.message} {e.message}", f"{unnamed.resolution} {e.resolution}",
                            lines=e.lines) from None
    if unnamed is not None:
        raise unnamed
    notes: list[str] = cut_descriptions(lines) + shortened_note(new_items, CATALOG_DESCRIPTION_MAX)

    own_link = held.own_link  # the document's own link as it stands now
    opp, created, remembered = _linked_opportunity(session, held, link, inherited, notes, ahead), False, False
    adopted = False
    if opp is None:
        if link is not None and not inherited:
            own_link = None  # its opportunity is gone: _linked_opportunity removed the link
        name = name_now
        if not name:
            refusal = _name_refusal(session, settings)
            if refusal is not None:
                raise refusal
            name = number
        if cw_length(name) > NAME_MAX:  # (in UTF-16 units, as ConnectWise counts: an emoji is two)
            raise long_name(name, NAME_MAX)
        # A run asked to stop while it waits here ends it (Stopped): nothing of the document is written in ConnectWise
        # yet but catalog items, which any later export finds by their identifier, and the link of an opportunity
        # that no longer exists, which is gone for every export anyway.
        with name_lock(session.get_bind(), company_id, name, on_wait=_name_waiting(ctx, name),
                       should_stop=ctx.should_stop):
            # (Read ahead only without a link, by the document's name: the name here.)
            rows = ahead.by_name.result() if ahead.by_name else named_like(client, company_id, name)
            opp = choose_match(exactly(rows, name), ctx.setup, name, held.customer_name)
            if opp is not None:
                _unless_confirmed(ctx, held, confirmed, "name", opp)
                # The one an earlier attempt's POST made for this document, whose answer it never had: created by it.
                created = adopted = (held.state is None or held.state.opportunity_id is None) and intents.made_for(
                    opp, _created_from(held))
            else:
                refused = ctx.refused_before(name)
                if refused is not None:
                    raise refused
                slips = case_slips(rows, name)
                if slips and confirmed != confirm_token("new", None):
                    flags = _status_flags(ctx)
                    raise _unconfirmed(ctx, held, case_slip_warning(
                        held.customer_name, [choice_of(r, flags) for r in slips], name))
                chosen = ctx.setup.new_opportunity_refs(settings.new_opportunity, quote=held.is_quote)
                # The create intent, committed before the POST: an earlier attempt's POST whose outcome its sender
                # never saw is waited for (at most the run's create_settle_seconds) and taken, never made a second time
                # (:mod:`.intents`).
                claim = intents.claim(session, held.id, company_id, name)
                if not claim.fresh and claim.name != name:  # (the earlier POST sent the name the document had then)
                    rows = [*rows, *named_like(client, company_id, claim.name)]
                earlier = None if claim.fresh else next(iter(intents.holding(rows, claim.token)), None)
                if earlier is None and not claim.settled(ctx.create_settle_seconds):
                    raise intents.CreateStillLanding(
                        f"an earlier attempt asked ConnectWise to create its opportunity \"{claim.name}\" at "
                        f"{claim.sent:%H:%M:%S} UTC and ConnectWise does not hold it yet; ConnectWise may still create "
                        "it, so creating it now could make a second one",
                        settles_in=ctx.create_settle_seconds - (utcnow() - claim.sent).total_seconds())
                if not claim.fresh and earlier is None:
                    intents.restart(session, held.id, claim, name)  # its sender saw it end, or it is taken for lost
                status = chosen.get("status") or (ctx.setup.open_status() if held.is_quote else ctx.setup.won_status())
                follow_up = f"{held.follow_up_date.isoformat()}T00:00:00Z" if held.follow_up_date else None
                body = new_opportunity_body(
                    name=name, company_id=company_id, contact_id=contact_id, member_id=rep.member_id,
                    location_id=rep.location_id, department_id=rep.department_id, status=status,
                    type_=chosen.get("type"), stage=chosen.get("stage"), expected_close=follow_up,
                    notes=f"{_created_from(held)} ({intents.reference(claim.token)}).")
                posted: list[ConnectWiseError] = []  # how the POST itself failed, if it did

                def post() -> dict:
                    try:
                        return client.opportunities.create(body)
                    except ConnectWiseError as e:
                        posted.append(e)
                        raise

                # After a lost answer, the opportunity holding this create's token is ours.
                try:
                    opp = earlier or create_once(
                        post, lambda: next(iter(intents.holding(named_like(client, company_id, name), claim.token)),
                                           None),
                        what=f"opportunity \"{name}\" for {number}")
                except ConnectWiseError as e:
                    if posted and not unacknowledged(posted[0]):  # refused: nothing was created
                        intents.forget(session, held.id)
                    elif posted:
                        # Its answer was lost and the look-up found nothing (or failed): this attempt saw its POST end,
                        # so no export waits for it; the next pass looks the token up again before creating.
                        intents.ended(session, held.id, claim, name)
                    if not isinstance(e, ValidationFailed):
                        raise
                    # e.g. a type the tenant made mandatory, left to ConnectWise's default
                    refusal = create_refused(e, settings.new_opportunity, name)
                    if refusal is None:
                        raise
                    raise refusal from None
                created = sent.any = True
                adopted = earlier is not None  # made by an earlier attempt, which may have died after adding lines
                if ctx.refusals_remembered:
                    created_with(session, body)  # what it left to ConnectWise's default is not mandatory
            # Commit the link before adding lines: an export that dies from here on resumes on it.
            own_link = _remember_opportunity(session, held.id, opp, created, fingerprint,
                                             _header_now(held, contact_id) if created else None)
            remembered = True
    elif (opp.get("company") or {}).get("id") not in (None, company_id):
        raise other_company(number, opp["id"], opp.get("name", ""), (opp.get("company") or {}).get("name", ""))
    elif state and state.exported_at and name_now != state.name_at_export:
        notes.append(f"The opportunity name on the document changed to \"{name_now}\"; it stays linked to "
                     f"opportunity {opp['id']} \"{opp.get('name', '')}\".")
    opp_id = opp["id"]

    desired = [Desired(ln, catalog_ids[ln.line_id]) for ln in lines]
    adopt = {held.source_quote_id} if held.source_quote_id and not held.is_quote else set()
    if created and not adopted:
        products = []
    elif ahead.products is not None and opp_id == link.cw_id:  # (read ahead only with a link)
        products = ahead.products.result()
    else:
        products = list_products(client, opp_id)
    plan = plan_lines(held.id, desired, products, adopt_from=adopt)
    header = _opportunity_changes(session, ctx, held, opp, created, remembered, notes, contact_id)
    opp_changes = header.changes
    if link is not None and not remembered and not created and (plan.writes or opp_changes) \
            and not (inherited and not held.is_quote):  # (a sales order goes where its converted quote's deal went)
        _unless_confirmed(ctx, held, confirmed, "quote" if inherited else "linked", opp)
    notes.extend(_warned(session, held, bool(plan.writes), confirmed_checks, actor))
    at_once = writes_at_once(client.settings.max_in_flight, ctx.workers)
    sent.any = sent.any or bool(plan.writes)  # (some may be sent when one fails)
    product_ids = apply_plan(client, held.id, opp_id, plan, at_once=at_once)

    if opp_changes:
        sent.any = True
        try:
            client.opportunities.patch(opp_id, opp_changes)
        except ValidationFailed as e:  # e.g. a type the tenant made mandatory after the opportunity was made
            refusal = update_refused(e, opp)
            if refusal is None:
                raise
            raise refusal from None

    hand = [p["id"] for p in products if parse_marker(p.get("integrationXRef")) is None]
    _save_success(session, held, opp, created, remembered, product_ids, catalog_ids,
                  {d.line.line_id: d for d in desired}, fingerprint=fingerprint, name_now=name_now, actor=actor,
                  run_id=run_id, notes=notes, hand_products=hand, own_link=own_link, had_rows=bool(exported),
                  header=header.header)
    _lock_in_host(ctx.host(session), held.id)  # commits the state with the host's lock
    if created or _finishes_its_creation(held, opp_id):
        action, summary = "created", f"created opportunity {opp_id} \"{opp.get('name', '')}\" with {plural(len(lines), 'line')}"
    elif plan.writes or opp_changes:
        action = "updated"
        # Lines that only moved (a line above them was removed) are not "updated" to the rep.
        moved = sum(1 for _, _, changes in plan.update if set(changes) == {"sequenceNumber"})
        parts = [f"{n} line{'s' if n != 1 else ''} {what}" for n, what in (
            (len(plan.create), "added"), (len(plan.update) - moved, "updated"), (len(plan.delete), "removed"),
            (moved, "renumbered")) if n] + header.said
        summary = f"updated opportunity {opp_id} \"{opp.get('name', '')}\": " + ", ".join(parts)
    else:
        action, summary = "unchanged", f"opportunity {opp_id} \"{opp.get('name', '')}\" already up to date"
    message = f"{number}: {summary}." + (" " + " ".join(notes) if notes else "")
    return Outcome(held.id, number, action, opp_id, opp.get("name", ""), message)


def _warned(session: Session, held: HeldDocument, writes: bool, confirmed_checks: tuple[str, ...] = (),
            actor: dict | None = None) -> list[str]:
    """What the run log says of what the checklist warns about (⚠) and a person confirms before Export now: the changes
    made in ConnectWise since the last export it overwrites, and the lines whose quantity or amount looks wrong
    (:func:`.problems.odd_lines`), when it writes lines. Ticked on the checklist (``confirmed_checks``, by ``actor``,
    who clicked Export now) for exactly what it sends, it says who confirmed it; ticked for something else (it changed
    between the click and the run) it says that too. An export of several documents (a schedule, a Retry) goes ahead
    unconfirmed, as before: ChannelOnline's document is what ConnectWise gets, and a re-export exists to send it. Said,
    not silent."""
    notes: list[str] = []
    if not writes:  # (a re-export that changes nothing says nothing again)
        return notes
    who = actor_label(actor)
    kinds = {token.partition(":")[0] for token in confirmed_checks}

    def by_whom(token: str, what: str) -> tuple[str, str]:
        """(before, after) the text: who confirmed it, or that what they confirmed was something else."""
        if token in confirmed_checks:
            return f"As {who} confirmed on its export checklist (⚠ {what}), ", ""
        if token.partition(":")[0] in kinds:
            return "", (f" {who} confirmed other ones on its export checklist (⚠ {what}): they changed after Export now "
                        "was clicked.")
        return "", ""

    if held.has_drift:
        changes = session.execute(select(DocumentDrift.changes).where(DocumentDrift.document_id == held.id)).scalar()
        set_back = overwritten(changes)
        if set_back:
            before, after = by_whom(drift_token(set_back), DRIFT)
            said = "it overwrote changes made in ConnectWise since the last export: it " + "; ".join(
                overwrite(c) for c in set_back) + "."
            notes.append(f"{before}{said}{after}" if before else f"{said[:1].upper()}{said[1:]}{after}")
    odd = odd_lines((ln.line_id, ln.position, ln.item_number, ln.quantity, ln.price) for ln in held.lines)
    if odd:
        before, after = by_whom(amounts_token(odd), AMOUNTS)
        said = "; ".join(s for s, _ in odd)
        notes.append(f"{before}its lines were sent as they are: {said}.{after}" if before else
                     f"Check its lines: {said} (sent as they are).{after}")
    return notes


def _check_new_opportunity(ctx: ExportContext, held: HeldDocument, name: str, ahead: _Reads) -> None:
    """Before anything is written (catalog items included): refuse a document that will make a new opportunity
    when the type, stage or status chosen for new opportunities is no longer accepted by ConnectWise, or when
    ConnectWise refused a new opportunity earlier in this run for a mandatory field still left to its default. Only
    an unlinked document looked up by its name is checked here (whether it makes a new one is known from that read,
    waited for only when a choice is wrong or such a refusal came); the creation checks again in every case."""
    if ahead.by_name is None:
        return
    refused = ctx.refused_before(name)
    try:
        if refused is not None:
            raise refused
        ctx.setup.new_opportunity_refs(ctx.settings.new_opportunity, quote=held.is_quote)
    except ExportRefused:
        if choose_match(exactly(ahead.by_name.result(), name), ctx.setup, name, held.customer_name) is None:
            raise


def _name_refusal(session: Session, settings: ExportSettings) -> ExportRefused | None:
    """The refusal for a document without an opportunity name (None when empty names are allowed)."""
    if settings.allow_empty_opportunity_name:
        return None
    if not settings.opportunity_field_id:
        return no_name_field(pages.OPTIONS.name)
    field_label = f"\"{_field_name(session, settings.opportunity_field_id)}\" field"
    return ExportRefused("the document has no opportunity name.",
                         f"Enter the opportunity name in the document's {field_label}, or allow empty "
                         f"opportunity names ({pages.OPTIONS.name}) to use the document number.")


def _field_name(session: Session, field_id: int) -> str:
    f = session.get(CustomField, field_id)
    return f.name if f else "opportunity name"


def _status_flags(ctx: ExportContext) -> dict[int, dict]:
    return {s["id"]: s for s in ctx.setup.statuses()}


def _unless_confirmed(ctx: ExportContext, held: HeldDocument, confirmed: str | None, how: str, opp: dict) -> None:
    """Refuse to write into ``opp``, reached ``how``, when it is closed, Won or Lost and no one confirmed it
    (:func:`.targets.closed_warning`, the checklist's question)."""
    warning = closed_warning(choice_of(opp, _status_flags(ctx)), held)
    if warning is not None and confirmed != confirm_token(how, opp["id"]):
        raise _unconfirmed(ctx, held, warning)


def _unconfirmed(ctx: ExportContext, held: HeldDocument, warning: str) -> ExportRefused:
    """The refusal of an export that goes where its checklist asks a person to confirm first, in a run nobody confirmed
    it for. Nothing of the document is written into an opportunity; catalog items its lines needed may have been
    created already (as for a run asked to stop: any later export finds them by their identifier). A single document's
    export (Export now, whose page's answer may predate a change in ConnectWise, or an admin's export of one document)
    is told where to confirm it; a bulk export (ticked on a list, a schedule) or a Retry is told that it never confirms
    this."""
    if ctx.confirmable is not None and ctx.confirmable():
        fix = (f"On {held.number}'s export page (Export to ConnectWise) its checklist asks this now: tick the box below "
               "the checklist and click Export now to export it there, or do what the checklist suggests instead.")
    else:
        fix = (f"Open {held.number}'s page and click Export to ConnectWise: confirm there, or do what its checklist "
               "suggests instead. A Retry, or an export of several documents, never confirms this for you.")
    return ExportRefused(f"its checklist asks to confirm this first. {warning}", fix)


def _linked_opportunity(session: Session, held: HeldDocument, link: LinkRef | None, inherited: bool,
                        notes: list[str], ahead: _Reads) -> dict | None:
    """The opportunity this document (or a sales order's quote) is linked to, if it still exists."""
    if ahead.linked is None:  # read ahead whenever there is a link
        return None
    try:
        opp = ahead.linked.result()
    except NotFound:
        notes.append(f"Opportunity {link.cw_id} no longer exists in ConnectWise, so the document was exported by "
                     "its opportunity name instead.")
        if not inherited:
            remove_link(session, "document", held.id)
            session.commit()
        return None
    return opp


def _created_from(held: HeldDocument) -> str:
    """How a new opportunity's notes begin (its create intent's token follows: :mod:`.intents`)."""
    return f"Created from ChannelOnline {'quote' if held.is_quote else 'sales order'} {held.number}"


def _finishes_its_creation(held: HeldDocument, opp_id: int) -> bool:
    """Whether this export completes the document's first one, which created ``opp_id`` and stopped before its
    lines were all sent (a transient failure: a later pass or attempt found the opportunity through its link). To
    the rep it is the creation of the opportunity, not an update of one they never had."""
    state = held.state
    return (state is not None and state.created_opportunity and state.exported_at is None
            and state.opportunity_id == opp_id)


def _remember_opportunity(session: Session, document_id: int, opp: dict, created: bool, fingerprint: str,
                          header: dict | None) -> LinkRef:
    """The document's opportunity, in its state and its link, committed with whatever the session holds (alone, as
    one statement in autocommit: :func:`.bookkeeping.alone_in_autocommit`); returns the link as written. ``header``:
    the document's opportunity header a created opportunity got (:data:`.held.HEADER`), kept on its link."""
    name = str(opp.get("name", ""))[:100]
    alone_in_autocommit(session)
    save_created(session, document_id, {"opportunity_id": opp["id"], "opportunity_name": name,
                                        "created_opportunity": created},
                 opp["id"], name, fingerprint, {HEADER: header} if header is not None else None)
    session.commit()
    return LinkRef(int(opp["id"]), name, fingerprint, "ok", header)


@dataclass
class _HeaderChanges:
    """What an export changes on its existing opportunity's header: the PATCH (``changes``), each change in the run
    log's words (``said``: "contact set to Nora Nguyen"), and the document's header to keep on the link (``header``,
    None when it stays as kept: :data:`.held.HEADER`)."""

    changes: dict = field(default_factory=dict)
    said: list[str] = field(default_factory=list)
    header: dict | None = None


def _header_now(held: HeldDocument, contact_id: int) -> dict:
    """The opportunity header fields the document sets (Appendix B's mapping, with Appendix C's contact): its
    contact's ConnectWise id, and its follow-up date as the expected close date (None without one). Kept on the
    link at each export (:data:`.held.HEADER`), to tell what the document changed since."""
    return {"contact": contact_id, "close": held.follow_up_date.isoformat() if held.follow_up_date else None}


def _header_held(opp: dict) -> dict:
    """The same fields as ``opp`` holds them."""
    return {"contact": (opp.get("contact") or {}).get("id"),
            "close": str(opp.get("expectedCloseDate") or "")[:10] or None}


def _opportunity_changes(session: Session, ctx: ExportContext, held: HeldDocument, opp: dict, created: bool,
                         remembered: bool, notes: list[str], contact_id: int) -> _HeaderChanges:
    """Header changes on an existing opportunity: Won for a sales order; and, on an opportunity this document created,
    the contact and the expected close date the document changed since its last export.

    A header field is sent only when the document's value changed since its last export (kept on its link) and the
    opportunity does not hold it already: a contact or close date someone changed in ConnectWise since is theirs, as
    the opportunity's name is, while the document's stays as it was exported. When both changed, the document's new
    value is sent (the rep chose it since) and the run log names the value it replaced. An opportunity found by name (a
    person's, or several documents') keeps its header: only its lines are the document's. A link kept by an older
    version, which knew no header, sends what differs (the close date was always sent so)."""
    out = _HeaderChanges()
    if created:
        return out
    if not held.is_quote:
        out.changes.update(won_change(session, ctx.setup, held, opp, notes))
        if "status" in out.changes:
            out.said.append(f"status set to {ctx.setup.won_status().get('name') or 'Won'}")
    # Found by name just now, it was not created by this document; else as its state says.
    created_by_us = not remembered and held.state is not None and held.state.created_opportunity
    if not created_by_us:
        return out
    kept = (held.own_link.header if held.own_link is not None else None) or {}
    now, there = _header_now(held, contact_id), _header_held(opp)
    for key in ("contact", "close"):
        want = now[key]
        if want is None or want == there[key]:
            continue
        if key in kept and kept[key] == want:
            continue  # the document did not change it: what ConnectWise holds (changed there since) stays
        what = "contact" if key == "contact" else "expected close date"
        if key == "contact":
            out.changes["contact"] = {"id": want}
            out.said.append(f"contact set to {held.contact_name}")
        else:
            out.changes["expectedCloseDate"] = f"{want}T00:00:00Z"
            out.said.append(f"expected close date set to {want}")
        if key in kept and there[key] != kept[key]:  # not what the document had: someone set it in ConnectWise
            was = ((opp.get("contact") or {}).get("name") or f"contact {there[key]}") if key == "contact" \
                else (there[key] or "none")
            notes.append(f"ConnectWise's {what} was {was}, set there after the document's last export; the "
                         f"document's new {what} replaced it.")
    if now != kept:
        out.header = now
    return out


def _save_success(session: Session, held: HeldDocument, opp: dict, created: bool, remembered: bool,
                  product_ids: dict[int, int], catalog_ids: dict[int, int], sent: dict[int, Desired], *,
                  fingerprint: str, name_now: str, actor: dict | None, run_id: int | None, notes: list[str],
                  hand_products: list[int], own_link: LinkRef | None, had_rows: bool,
                  header: dict | None = None) -> None:
    """The state, the lines and the link after a successful export (not committed: the host's lock commits them).
    ``header``: the opportunity header to keep on the link, when it changed (:class:`_HeaderChanges`)."""
    prior = held.state
    name = str(opp.get("name", ""))[:100]
    if remembered or created or prior is None or prior.opportunity_id != opp["id"]:
        created_flag = created
    else:
        created_flag = prior.created_opportunity
    state = dict(opportunity_id=opp["id"], opportunity_name=name, created_opportunity=created_flag,
                 status="exported", changed_since_export=False, fingerprint=fingerprint, name_at_export=name_now[:250],
                 exported_at=utcnow(), exported_by=((actor or {}).get("email") or (actor or {}).get("name")
                                                    or "system")[:200],
                 last_run_id=run_id, message=" ".join(notes), resolution="", hand_products=hand_products)
    items = {ln.line_id: ln.item_number for ln in held.lines}
    rows = []
    for line_id, pid in product_ids.items():
        values = sent[line_id].fields() if line_id in sent else {}
        rows.append({"document_id": held.id, "line_id": line_id, "cw_product_id": pid,
                     "cw_catalog_item_id": catalog_ids.get(line_id), "item_number": items.get(line_id, "")[:100],
                     "position": int(values.get("sequenceNumber") or 0), "quantity": values.get("quantity"),
                     "price": values.get("price"), "cost": values.get("cost"),
                     "description": values.get("description", "")})
    save_lines(session, held, rows, had_rows=had_rows, state=state)  # (the state with the lines: one statement)
    if not link_is(own_link, int(opp["id"]), name, fingerprint):
        save_link(session, held.id, opp["id"], name, fingerprint)
    if header is not None:
        save_header(session, held.id, header)


def _save_failure(session: Session, document_id: int, message: str, resolution: str, run_id: int | None, *,
                  status: str = "failed") -> None:
    save_state(session, document_id, status=status, message=message, resolution=resolution, last_run_id=run_id)
    session.commit()


def _lock_in_host(host: UnitOfWork, document_id: int) -> None:
    """Exported documents are locked in the host (user guide §5.3), through the host's service API; its
    commit is the export's."""
    host.set_locked(document_id, True, returned=False)  # (the document is not built: nothing of it is read)
    host.commit()
