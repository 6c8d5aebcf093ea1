"""Export one quote or sales order to a ConnectWise opportunity (user guide §4.2, §5.4, Appendix D).

The order of work keeps ConnectWise clean when anything is wrong:

1. preconditions (Appendix C): the customer and the contact are linked to ConnectWise, the
   sales rep is mapped — otherwise nothing is sent;
2. every line resolves to a catalog item (missing ones created only when *all* lines can be);
3. the opportunity: the one this document (or, for a sales order, its quote) is linked to by
   id; else an exact, case-sensitive name match among the company's opportunities; else a new
   one — and the link is committed at once, so a crash from here on resumes on it;
4. the lines, reconciled per :mod:`.lines` (never duplicated);
5. a sales order sets the opportunity to Won, unless an unconverted quote still feeds it (:mod:`.won`);
6. the state (fingerprint, per-line product ids) is saved and the document locked in the host.

Exports of one document are serialised across processes (:mod:`.locks`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from host_stub.gateway import UnitOfWork
from host_stub.models import Contact, CustomField, Document, utcnow
from host_stub.snapshots import document_snapshot

from ...cw import ConnectWiseClient, ConnectWiseError, NotFound, create_once
from ...models import (
    DocumentDrift,
    DocumentExport,
    DocumentLineExport,
    Settings,
    get_link,
    remove_link,
    set_link,
)
from ...setup import pages
from ...setup.catalog_rules import CatalogRules
from ...setup.connection import read_settings
from ...setup.reps import UnmappedRep, member_for
from ...text import plural, possessive
from ..shared.locks import Busy
from ..shared.markers import parse_marker
from .catalog import Catalog, LineInput
from .lines import Desired, apply_plan, list_products, plan_lines
from .locks import document_lock, name_lock
from .opportunities import (
    NAME_MAX,
    OPPORTUNITY_FIELDS,
    OpportunitySetup,
    choose_match,
    find_by_name,
    new_opportunity_body,
    shared_setup,
)
from .problems import ExportRefused, LineProblem
from .state import document_fingerprint, document_link, get_state, opportunity_field_value
from .won import won_change


@dataclass
class ExportContext:
    """What the exports of one run share: the client and the per-run ConnectWise caches."""

    client: ConnectWiseClient
    setup: OpportunitySetup
    catalog: Catalog
    # Opens the host's unit of work on a session (the document is locked through it).
    host: Callable[[Session], UnitOfWork] = UnitOfWork
    # Called before the n-th product POST of a document (tests inject crashes here).
    before_product_create: Callable[[int], None] | None = None
    # Says why the run waits ("" when it goes on): shown on the run's pages while it waits.
    on_wait: Callable[[str], None] | None = None

    @classmethod
    def for_run(cls, session: Session, client: ConnectWiseClient, settings: Settings | None = None, *,
                host: Callable[[Session], UnitOfWork] = UnitOfWork,
                on_wait: Callable[[str], None] | None = None) -> ExportContext:
        settings = settings or read_settings(session)
        return cls(client, shared_setup(client, session.get_bind(), settings),
                   Catalog(client, CatalogRules.load(session, settings)), host=host, on_wait=on_wait)


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
                    run_id: int | None = None) -> Outcome:
    """Export one document; never raises for a ConnectWise or setup problem (the outcome says it)."""
    doc = session.get(Document, document_id)
    if doc is None:
        return Outcome(document_id, f"#{document_id}", "failed", message=f"Document #{document_id} no longer exists.",
                       resolution="Nothing to export; remove it from the selection.")
    number = doc.number
    if doc.is_quote and doc.status == "converted":
        order = session.execute(select(Document).where(Document.source_quote_id == doc.id)).scalars().first()
        order_no = order.number if order else "a sales order"
        return Outcome(doc.id, number, "skipped",
                       message=f"{number} was converted to {order_no}, which carries its lines.",
                       resolution=f"Export {order_no} instead.")
    try:
        with document_lock(session.get_bind(), doc.id, on_wait=_lock_waiting(ctx, number)):
            session.expire_all()  # see what an export that held the lock before us wrote
            doc = session.get(Document, document_id)
            return _export(session, ctx, doc, actor, run_id)
    except Busy as e:
        session.rollback()
        return Outcome(document_id, number, "failed", message=f"{number}: {e}", resolution="Export it again later.")
    except ExportRefused as e:
        session.rollback()
        _save_failure(session, document_id, e.message, e.resolution, run_id)
        return Outcome(document_id, number, "failed", message=f"{number} was not exported: {e.message}",
                       resolution=e.resolution, lines=e.lines)
    except (ConnectWiseError, UnmappedRep) as e:
        session.rollback()
        message = f"{number} was not exported completely: ConnectWise answered {e}"
        resolution = ("Fix what ConnectWise named and export again; lines already sent are matched, "
                      "not duplicated.")
        _save_failure(session, document_id, message, resolution, run_id)
        return Outcome(document_id, number, "failed", message=message, resolution=resolution,
                       error=e if isinstance(e, ConnectWiseError) else None)


def _lock_waiting(ctx: ExportContext, number: str) -> Callable[[bool], None] | None:
    if ctx.on_wait is None:
        return None
    say = ctx.on_wait
    return lambda waiting: say(f"Waiting for another export of {number} to finish (exports of one document "
                               "run one at a time)" if waiting else "")


def _line_inputs(doc: Document) -> list[LineInput]:
    return [LineInput(ln.id, ln.position, ln.item_number.strip(), ln.manufacturer.strip(), ln.description or "",
                      ln.category.strip(), ln.subcategory.strip(), ln.product_type, ln.quantity, ln.cost, ln.price)
            for ln in doc.lines]


def _preconditions(session: Session, settings: Settings, doc: Document, actor: dict | None):
    """Appendix C: customer and contact linked, sales rep mapped. Returns (company, contact, rep mapping)."""
    customer_link = get_link(session, "customer", doc.customer_id)
    contact = doc.contact or session.execute(
        select(Contact).where(Contact.customer_id == doc.customer_id).order_by(Contact.is_default.desc(), Contact.id)
    ).scalars().first()
    contact_link = get_link(session, "contact", contact.id) if contact else None
    if contact is None:
        raise ExportRefused(f"{doc.customer.name} has no contact, and both the customer and a contact must exist in "
                            "ConnectWise to export the document.",
                            f"Add a contact to {doc.customer.name}, export the customer to ConnectWise, then export "
                            "this document again.")
    if customer_link is None or contact_link is None:
        missing = ("the customer and its contact are" if customer_link is None and contact_link is None
                   else "the customer is" if customer_link is None else f"the contact {contact.name} is")
        raise ExportRefused(
            f"Both the customer and the contact need to exist in ConnectWise to export the document: {missing} "
            "not in ConnectWise yet.",
            f"Manually sync the specific customer from ChannelOnline to ConnectWise (Export to ConnectWise on "
            f"{possessive(doc.customer.name)} page), then export this document again.")
    try:
        rep = member_for(session, settings, actor, doc.sales_rep_id)
    except UnmappedRep as e:
        raise ExportRefused(str(e), e.resolution) from None
    return customer_link.cw_id, contact_link.cw_id, rep


def _export(session: Session, ctx: ExportContext, doc: Document, actor: dict | None, run_id: int | None) -> Outcome:
    settings = read_settings(session)
    client = ctx.client
    number = doc.number
    snapshot = document_snapshot(doc)
    company_id, contact_id, rep = _preconditions(session, settings, doc, actor)
    state = get_state(session, doc.id)
    lines = _line_inputs(doc)
    if not lines and not (state and state.exported_at):
        raise ExportRefused(f"{number} has no lines.", "Add the products to the document, then export it.")
    name_now = opportunity_field_value(snapshot, settings)
    # A missing name is reported before anything is written (catalog items included), and
    # together with the lines at fault, so the rep fixes everything in one go.
    unnamed = None if name_now or document_link(session, doc)[0] else _name_refusal(session, settings)
    try:
        catalog_ids = ctx.catalog.ensure(lines, create=unnamed is None, exported=_exported_items(session, doc.id))
    except ExportRefused as e:
        if unnamed is None:
            raise
        raise ExportRefused(f"{unnamed.message} {e.message}", f"{unnamed.resolution} {e.resolution}",
                            lines=e.lines) from None
    if unnamed is not None:
        raise unnamed
    notes: list[str] = []

    opp, created = _linked_opportunity(session, ctx, doc, notes), False
    if opp is None:
        name = name_now
        if not name:
            refusal = _name_refusal(session, settings)
            if refusal is not None:
                raise refusal
            name = number
        if len(name) > NAME_MAX:
            raise ExportRefused(f"The opportunity name \"{name[:40]}...\" is longer than {NAME_MAX} characters.",
                                "Shorten the opportunity name on the document.")
        with name_lock(session.get_bind(), company_id, name):
            opp = choose_match(find_by_name(client, company_id, name), ctx.setup, name, doc.customer.name)
            if opp is None:
                status = ctx.setup.open_status() if doc.is_quote else ctx.setup.won_status()
                follow_up = f"{doc.follow_up_date.isoformat()}T00:00:00Z" if doc.follow_up_date else None
                body = new_opportunity_body(
                    name=name, company_id=company_id, contact_id=contact_id, member_id=rep.member_id,
                    location_id=rep.location_id, department_id=rep.department_id, status=status,
                    type_=ctx.setup.default_type(), stage=ctx.setup.default_stage(), expected_close=follow_up,
                    notes=f"Created from ChannelOnline {'quote' if doc.is_quote else 'sales order'} {number}.")
                # Under the name lock nothing else creates it: an exact-name match after a lost answer is ours.
                opp = create_once(lambda: client.opportunities.create(body),
                                  lambda: next(iter(find_by_name(client, company_id, name)), None),
                                  what=f"opportunity \"{name}\" for {number}")
                created = True
            # Commit the link before adding lines: an export that dies from here on resumes on it.
            _remember_opportunity(session, doc.id, opp, created)
            session.commit()
    elif (opp.get("company") or {}).get("id") not in (None, company_id):
        raise ExportRefused(
            f"{number} is linked to opportunity {opp['id']} \"{opp.get('name', '')}\" of another ConnectWise company "
            f"({(opp.get('company') or {}).get('name', '')}); its customer changed after it was exported.",
            "Move the opportunity to the new company in ConnectWise, or copy the lines to a new quote for this "
            "customer and export that.")
    elif state and state.exported_at and name_now != state.name_at_export:
        notes.append(f"The opportunity name on the document changed to \"{name_now}\"; it stays linked to "
                     f"opportunity {opp['id']} \"{opp.get('name', '')}\".")
    opp_id = opp["id"]

    desired = [Desired(ln, catalog_ids[ln.line_id]) for ln in lines]
    adopt = {doc.source_quote_id} if doc.source_quote_id and not doc.is_quote else set()
    products = [] if created else list_products(client, opp_id)
    plan = plan_lines(doc.id, desired, products, adopt_from=adopt)
    product_ids = apply_plan(client, doc.id, opp_id, plan, before_create=ctx.before_product_create)

    opp_changes = _opportunity_changes(session, ctx, doc, opp, created, notes)
    if opp_changes:
        client.opportunities.patch(opp_id, opp_changes)

    hand = [p["id"] for p in products if parse_marker(p.get("integrationXRef")) is None]
    _save_success(session, doc, opp, created, product_ids, catalog_ids, {d.line.line_id: d for d in desired},
                  fingerprint=document_fingerprint(snapshot, settings), name_now=name_now, actor=actor,
                  run_id=run_id, notes=notes, hand_products=hand)
    _lock_in_host(ctx.host(session), doc.id)
    if created:
        action, summary = "created", f"created opportunity {opp_id} \"{opp.get('name', '')}\" with {plural(len(lines), 'line')}"
    elif plan.writes or opp_changes:
        action = "updated"
        # Lines that only moved (a line above them was removed) are not "updated" to the rep.
        moved = sum(1 for _, _, changes in plan.update if set(changes) == {"sequenceNumber"})
        parts = [f"{n} line{'s' if n != 1 else ''} {what}" for n, what in (
            (len(plan.create), "added"), (len(plan.update) - moved, "updated"), (len(plan.delete), "removed"),
            (moved, "renumbered")) if n]
        summary = f"updated opportunity {opp_id} \"{opp.get('name', '')}\": " + (", ".join(parts) or "status")
    else:
        action, summary = "unchanged", f"opportunity {opp_id} \"{opp.get('name', '')}\" already up to date"
    message = f"{number}: {summary}." + (" " + " ".join(notes) if notes else "")
    return Outcome(doc.id, number, action, opp_id, opp.get("name", ""), message)


def _exported_items(session: Session, document_id: int) -> dict[int, tuple[str, int | None]]:
    """Each line's item number and catalog item at the document's last export."""
    return {line_id: (item, item_id) for line_id, item, item_id in session.execute(
        select(DocumentLineExport.line_id, DocumentLineExport.item_number, DocumentLineExport.cw_catalog_item_id)
        .where(DocumentLineExport.document_id == document_id))}


def _name_refusal(session: Session, settings: Settings) -> ExportRefused | None:
    """The refusal for a document without an opportunity name (None when empty names are allowed)."""
    if settings.allow_empty_opportunity_name:
        return None
    field_label = "opportunity name field" if not settings.opportunity_field_id else \
        f"\"{_field_name(session, settings.opportunity_field_id)}\" field"
    return ExportRefused("the document has no opportunity name.",
                         f"Enter the opportunity name in the document's {field_label}, or allow empty "
                         f"opportunity names ({pages.OPTIONS.name}) to use the document number.")


def _field_name(session: Session, field_id: int) -> str:
    f = session.get(CustomField, field_id)
    return f.name if f else "opportunity name"


def _linked_opportunity(session: Session, ctx: ExportContext, doc: Document, notes: list[str]) -> dict | None:
    """The opportunity this document (or a sales order's quote) is linked to, if it still exists."""
    link, inherited = document_link(session, doc)
    if link is None:
        return None
    try:
        opp = ctx.client.opportunities.get(link.cw_id, fields=OPPORTUNITY_FIELDS)
    except NotFound:
        notes.append(f"Opportunity {link.cw_id} no longer exists in ConnectWise, so the document was exported by "
                     "its opportunity name instead.")
        if not inherited:
            remove_link(session, "document", doc.id)
            session.commit()
        return None
    return opp


def _state_row(session: Session, document_id: int) -> DocumentExport:
    """The document's export state, added when it has none yet."""
    state = get_state(session, document_id)
    if state is None:
        state = DocumentExport(document_id=document_id)
        session.add(state)
    return state


def _remember_opportunity(session: Session, document_id: int, opp: dict, created: bool) -> None:
    state = _state_row(session, document_id)
    state.opportunity_id = opp["id"]
    state.opportunity_name = str(opp.get("name", ""))[:100]
    state.created_opportunity = created
    set_link(session, "document", document_id, opp["id"], cw_identifier=str(opp.get("name", ""))[:100])


def _opportunity_changes(session: Session, ctx: ExportContext, doc: Document, opp: dict, created: bool,
                         notes: list[str]) -> dict:
    """Header changes on an existing opportunity: Won for a sales order, the expected close date."""
    if created:
        return {}
    changes = {} if doc.is_quote else won_change(session, ctx.setup, doc, opp, notes)
    state = get_state(session, doc.id)
    if state and state.created_opportunity and doc.follow_up_date:
        want = f"{doc.follow_up_date.isoformat()}T00:00:00Z"
        if str(opp.get("expectedCloseDate") or "")[:10] != want[:10]:
            changes["expectedCloseDate"] = want
    return changes


def _save_success(session: Session, doc: Document, opp: dict, created: bool, product_ids: dict[int, int],
                  catalog_ids: dict[int, int], sent: dict[int, Desired], *, fingerprint: str, name_now: str,
                  actor: dict | None, run_id: int | None, notes: list[str], hand_products: list[int]) -> None:
    state = _state_row(session, doc.id)
    if created or state.opportunity_id != opp["id"]:
        state.created_opportunity = created
    state.opportunity_id = opp["id"]
    state.opportunity_name = str(opp.get("name", ""))[:100]
    state.status = "exported"
    state.changed_since_export = False
    state.fingerprint = fingerprint
    state.name_at_export = name_now[:250]
    state.exported_at = utcnow()
    state.exported_by = ((actor or {}).get("email") or (actor or {}).get("name") or "system")[:200]
    state.last_run_id = run_id
    state.message = " ".join(notes)
    state.resolution = ""
    state.hand_products = hand_products
    session.execute(delete(DocumentLineExport).where(DocumentLineExport.document_id == doc.id))
    session.execute(delete(DocumentDrift).where(DocumentDrift.document_id == doc.id))  # ConnectWise holds the lines again
    items = {ln.id: ln.item_number for ln in doc.lines}
    rows = []
    for line_id, pid in product_ids.items():
        values = sent[line_id].fields() if line_id in sent else {}
        rows.append(DocumentLineExport(
            document_id=doc.id, line_id=line_id, cw_product_id=pid, cw_catalog_item_id=catalog_ids.get(line_id),
            item_number=items.get(line_id, "")[:100], position=int(values.get("sequenceNumber") or 0),
            quantity=values.get("quantity"), price=values.get("price"), cost=values.get("cost"),
            description=values.get("description", "")))
    session.add_all(rows)
    set_link(session, "document", doc.id, opp["id"], cw_identifier=str(opp.get("name", ""))[:100],
             fingerprint=fingerprint)
    session.commit()


def _save_failure(session: Session, document_id: int, message: str, resolution: str, run_id: int | None) -> None:
    state = _state_row(session, document_id)
    state.status = "failed"
    state.message = message
    state.resolution = resolution
    state.last_run_id = run_id
    session.commit()


def _lock_in_host(host: UnitOfWork, document_id: int) -> None:
    """Exported documents are locked in the host (user guide §5.3), through the host's service API."""
    host.set_locked(document_id, True)
    host.commit()
