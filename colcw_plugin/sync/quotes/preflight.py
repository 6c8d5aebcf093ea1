"""What exporting a document will do, checked from colcw's own tables (no ConnectWise request):
the Appendix C preconditions and where the lines will go. The export page shows it before the
rep clicks Export."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.models import Contact, CustomField, Document

from ...cw.errors import (
    AuthenticationFailed,
    ConnectWiseError,
    DiscoveryError,
    NetworkError,
    PermissionDenied,
    RateLimited,
    ServerError,
)
from ...models import DocumentDrift, RepMapping, Settings, get_link
from ...setup import pages
from ...setup.connection import is_configured, read_settings
from ...setup.reps import SIGNED_IN, STORE_DEFAULT, Acting, UnmappedRep, member_of, who_acts
from ...text import cw_length
from ..shared.advice import ASK_ADMIN_FOR_KEYS, ask_admin_for_access
from ..shared.product_drift import overwrite
from .catalog import item_number_problem
from .held import line_inputs
from .opportunities import NAME_MAX
from .picker import won_when_new
from .problems import (
    AMOUNTS,
    DRIFT,
    ExportRefused,
    amounts_token,
    company_deleted,
    converted,
    drift_token,
    long_name,
    no_contact,
    no_lines,
    no_name_field,
    odd_lines,
    overwritten,
    refuses_no_lines,
)
from .state import get_state, opportunity_field_value


@dataclass(frozen=True)
class Check:
    ok: bool
    label: str
    detail: str = ""
    # "export_customer" when the one-click customer export fixes it; "converted": nothing to fix; CHECK_AGAIN (the
    # connection row): ConnectWise could not be asked for a moment, nothing to fix but to ask again
    fix: str = ""
    # Said after the detail, also when the page shows what ConnectWise said instead (where the export goes).
    note: str = ""
    order: tuple[int, str] | None = None  # a converted quote's sales order (id, number), which the page links to
    # UNCHECKED: ConnectWise could not be asked what this check needs to know (neither ✓ nor ✗, and not ok: Export
    # now waits for an answer); CHECKING: it is being asked (the page loads ConnectWise's part after it).
    state: str = ""
    # A warning (⚠, still ok): Export now goes ahead only with its box ticked, which posts this token (it names what
    # was shown: changed since, it must be confirmed again); ``confirm_label`` is the box's label.
    confirm: str = ""
    confirm_label: str = ""
    # A warning (⚠, still ok) to read, not to confirm: Export now goes ahead without a box to tick (the opportunity goes
    # to another member than the document's own rep's, as the user guide's default rep rule or the option says).
    warn: bool = False
    # A ConnectWise field limit the rep fixes in the document's own form (its opportunity name's length): when it
    # fails, it is also said as the document is saved (:func:`save_warnings`) and on its ConnectWise panel
    # (:func:`long_name_check`), not first when it is exported.
    in_form: bool = False


CONNECTION = "ConnectWise connection"  # the checklist's first row
REP = "Sales rep mapped"
LINES = "Lines"  # the lines' row: colcw's own (no lines at all) or ConnectWise's answer (the lines it would refuse)
UNCHECKED, CHECKING = "unchecked", "checking"
CHECK_AGAIN = "check_again"  # (a Check's fix: see there)


def connection_failed(error: ConnectWiseError | None) -> str:
    """Why ConnectWise could not be asked, as a rep can act on it (``error`` None: colcw cannot read its saved keys)."""
    admin = f"ask an admin to check the connection ({pages.CONNECTION.name})."
    if error is None:
        return f"colcw cannot read its saved ConnectWise keys: {admin}"
    if isinstance(error, AuthenticationFailed):
        return f"ConnectWise refuses colcw's keys: {ASK_ADMIN_FOR_KEYS}."
    if isinstance(error, PermissionDenied):  # the keys are right; the API member's role lacks an area
        area = f" to {error.resource}" if error.resource else ""
        return f"ConnectWise denies colcw's API member access{area}: {ask_admin_for_access(error.resource)}."
    if isinstance(error, NetworkError | ServerError | RateLimited) or (
            isinstance(error, DiscoveryError) and error.transient):
        return "ConnectWise cannot be reached right now: try again later."
    if isinstance(error, DiscoveryError):  # the site URL or the company id is wrong
        return f"ConnectWise does not know colcw's site URL or company id: {admin}"
    return f"ConnectWise could not be asked ({error.message.rstrip('.')}): try again later; if it persists, {admin}"


def asks_where(checks: list[Check]) -> bool:
    """Whether ConnectWise can be asked where the export goes (:func:`.picker.export_target`): every check is ticked
    but those whose fix does not change where it goes (the customer or contact not exported yet, the sales rep not
    mapped). So what only ConnectWise can refuse (a type chosen for new opportunities that it no longer accepts, an
    existing opportunity named alike) shows beside them, not once they are fixed."""
    return all(c.ok or c.fix == "export_customer" or c.label == REP for c in checks)


def not_checked(check: Check, why: str) -> Check:
    """``check`` shown as not checked (neither ✓ nor ✗): it depends on ConnectWise, which could not be asked."""
    return dataclasses.replace(check, ok=False, state=UNCHECKED, detail=f"Not checked: {why}", fix="", note="")


def preflight(session: Session, doc: Document, actor: dict | None, snapshot: dict,
              settings: Settings | None = None) -> list[Check]:
    """The checks shown on the export page, in the order the export applies them. ``settings``: as the caller just
    read them (else read here)."""
    settings = settings if settings is not None else read_settings(session)
    if not is_configured(settings):
        # Nothing else can be told without the connection and its settings (after a Reset, the
        # opportunity name field is not chosen yet either): say that, and only that.
        return [Check(False, CONNECTION, "ConnectWise is not connected yet: ask an admin to set up "
                      "the connection (Admin → Integration → ConnectWise).")]
    checks = [Check(True, CONNECTION)]
    if doc.is_converted_quote:  # the export skips it: its order carries its lines
        order = session.execute(select(Document.id, Document.number).where(Document.source_quote_id == doc.id)
                                .order_by(Document.id)).first()
        # Not a failure to fix: the quote's export has moved to its order (the page links to it, and says so
        # instead of "unavailable until … is fixed"). Not ok, so nothing can start an export of it.
        return [*checks, Check(False, "Converted to a sales order", converted(doc.number, order and order.number)[0],
                               fix="converted", order=order and (order.id, order.number))]
    customer_link = get_link(session, "customer", doc.customer_id)
    if customer_link is not None and customer_link.status == "missing_in_cw":  # (as the export refuses it)
        checks.append(Check(False, f"Customer {doc.customer.name} in ConnectWise", company_deleted(
            doc.customer.name, customer_link.cw_identifier, doc.customer.account_number or "").sentence))
    else:
        checks.append(Check(customer_link is not None, f"Customer {doc.customer.name} in ConnectWise",
                            f"Company {customer_link.cw_identifier or customer_link.cw_id}" if customer_link else
                            "Not exported yet: export the customer first.", "" if customer_link else "export_customer"))
    contact = doc.contact or session.execute(select(Contact).where(Contact.customer_id == doc.customer_id)
                                             .order_by(Contact.is_default.desc(), Contact.id)).scalars().first()
    if contact is None:  # (exporting the customer cannot give it one)
        checks.append(Check(False, "Contact (none) in ConnectWise", no_contact(doc.customer.name).sentence))
    else:
        contact_link = get_link(session, "contact", contact.id)
        checks.append(Check(contact_link is not None, f"Contact {contact.name} in ConnectWise",
                            "" if contact_link else "Not exported yet: export the customer (with its contacts) first.",
                            "" if contact_link else "export_customer"))
    checks.append(_rep_check(session, who_acts(session, settings, actor, doc.sales_rep_id), actor, doc.number))
    checks.append(_opportunity_check(session, doc, settings, snapshot))
    state = get_state(session, doc.id)
    if refuses_no_lines(len(doc.lines), bool(state and state.exported_at)):  # (as the export refuses it)
        checks.append(Check(False, LINES, no_lines(doc.number).sentence))  # (the export's own words)
    amounts = _amounts_check(doc)
    if amounts is not None:
        checks.append(amounts)
    drift = session.execute(select(DocumentDrift).where(DocumentDrift.document_id == doc.id)).scalar_one_or_none()
    if drift is not None and drift.changes:
        checks.append(_drift_check(drift.changes))
    return checks


def save_warnings(session: Session, snapshot: dict) -> list[str]:
    """What the rep is told when they save a document (``snapshot``: as saved) in ChannelOnline's form: what the
    export refuses on a ConnectWise field limit they fix in that form, each said as the checklist says it — its rows
    marked :attr:`Check.in_form` (the opportunity name's length) and the lines whose item number ConnectWise's catalog
    cannot hold (:func:`.catalog.item_number_problem`, named on its Lines row). Not the rest of the checklist
    (customer, contact, rep: fixed elsewhere, said when they export), and nothing while ConnectWise is not connected
    or for a converted quote, when the checklist says only that. One warning (or none); never a refusal: the
    document is saved."""
    doc = session.get(Document, snapshot["id"])
    settings = read_settings(session)
    if doc is None or not is_configured(settings) or doc.is_converted_quote:  # (as :func:`preflight` says only that)
        return []
    rows = [_opportunity_check(session, doc, settings, snapshot)]  # the checklist's rows on the form's header
    said = [c.detail for c in rows if c.in_form and not c.ok]
    said += [f"{p.message} {p.resolution}" for p in map(item_number_problem, line_inputs(doc)) if p is not None]
    if not said:
        return []
    what = f"{'Quote' if doc.is_quote else 'Sales order'} {doc.number}"
    return [f"{what} cannot be exported to ConnectWise as it is. " + " ".join(said)]


def confirmations(checks: list[Check]) -> list[Check]:
    """The warnings (⚠) Export now waits for a person to confirm."""
    return [c for c in checks if c.ok and c.confirm]


def _drift_check(changes: list[dict]) -> Check:
    """What the export overwrites of a colleague's edits in ConnectWise: a warning to confirm (⚠) when it sets a
    product back or adds a removed one again; a tick when it only leaves products added by hand as they are."""
    set_back = overwritten(changes)
    detail = ("Exporting overwrites them: it " if set_back else "Exporting keeps them: it ") + "; ".join(
        overwrite(c) for c in changes) + "."
    if not set_back:
        return Check(True, DRIFT, detail)
    return Check(True, DRIFT, detail + " Someone may have made these changes on purpose in ConnectWise: check with "
                 "them, or change the document to match, before exporting.", confirm=drift_token(set_back),
                 confirm_label="Yes, overwrite the changes made in ConnectWise")


def _amounts_check(doc: Document) -> Check | None:
    """Lines whose quantity or amount looks wrong (:func:`.problems.odd_lines`; none: no row). A warning to confirm,
    never a refusal: each may be right (a credit line), and the export sends them as they are."""
    odd = odd_lines((ln.id, ln.position, ln.item_number, ln.quantity, ln.price) for ln in doc.lines)
    if not odd:
        return None
    return Check(True, AMOUNTS, "Check before exporting: " + "; ".join(s for s, _ in odd) + ". The export sends them as "
                 "they are (into the opportunity's forecast): correct them on the document, or confirm them.",
                 confirm=amounts_token(odd), confirm_label="Yes, export these quantities and amounts")


# The connection option that makes exports act for the user who starts them (its label on the Options form).
LOGGED_IN_OPTION = "“Assign to the logged-in sales rep instead of the store's default rep”"




def _rep_check(session: Session, acting: Acting, actor: dict | None, number: str) -> Check:
    """Which ConnectWise member the opportunity goes to and, when that is not the document's own rep's, why (user
    guide §4.2 2e: the store's default rep by default, the user who exports it with the logged-in option) and what
    changes it."""
    rep, own = acting.rep, acting.document_rep
    other = rep is not None and own is not None and own.id != rep.id  # not the document's own rep
    try:
        mapping = member_of(acting)
    except UnmappedRep as e:
        # A check exports nothing: it says what stops the export, not that an export did not occur.
        problem = f"{number} cannot be exported yet: {e.reason}"
        fix = e.resolution
        if e.rep is not None and not (acting.mapping is not None and acting.mapping.member_identifier):
            fix = f"Make sure that the Sales Rep is mapped: an admin maps {e.rep.name} to a ConnectWise member on {pages.REPS_PATH}."
        why = ""
        if other and acting.because == STORE_DEFAULT:
            why = (f"Exports use the store's default sales rep, {rep.name}, not the document's sales rep, "
                   f"{own.name}{_theirs(acting)}, unless {LOGGED_IN_OPTION} is ticked on {pages.OPTIONS.name}.")
        elif other:
            why = (f"Exports act for the user who starts them, here {rep.name}, not for the document's sales rep, "
                   f"{own.name}{_theirs(acting)}: {LOGGED_IN_OPTION} is ticked on {pages.OPTIONS.name}.")
        return Check(False, REP, " ".join(filter(None, (problem, why, fix))))
    member = f"ConnectWise member {mapping.member_identifier or mapping.member_id}, mapped to {rep.name}"
    if not other:
        who = ("the document's sales rep" if own is not None else "the store's default sales rep"
               if acting.because == STORE_DEFAULT else "who exports it")
        return Check(True, REP, f"{member}, {who}.")
    # Not the document's own rep: a warning (⚠), never a refusal nor a box to tick (the guide's rule: it is valid).
    if acting.because == SIGNED_IN:
        return Check(True, REP, f"The opportunity goes to {member}, who exports it, not to the "
                     f"document's sales rep, {own.name}{_theirs(acting)}: {LOGGED_IN_OPTION} is ticked on "
                     f"{pages.OPTIONS.name}.", warn=True)
    # With the option ticked, the opportunity goes to the member of whoever exports it: that user needs one.
    exporter = _unmapped_exporter(session, acting, actor)
    return Check(True, REP, (
        f"The opportunity goes to {member}, the store's default sales rep, not to the document's sales rep, "
        f"{own.name}{_theirs(acting)}. Exports use the store's default sales rep unless {LOGGED_IN_OPTION} is ticked "
        f"on {pages.OPTIONS.name}. To export under the member of the rep who exports it, an admin ticks it there"
        + (f" and maps {exporter} on {pages.REPS.name}." if exporter else ".")), warn=True)


def _unmapped_exporter(session: Session, acting: Acting, actor: dict | None) -> str:
    """The name of the user looking at the checklist (who would export it) when they have no ConnectWise member,
    else ""."""
    if not actor or not actor.get("id"):
        return ""
    own = acting.document_rep
    if own is not None and own.id == actor["id"]:
        mapping = acting.document_mapping
    else:
        mapping = session.execute(select(RepMapping).where(RepMapping.user_id == actor["id"])).scalar_one_or_none()
    return "" if mapping is not None and mapping.member_id else actor.get("name") or ""


def _theirs(acting: Acting) -> str:
    """The document's own rep's member, as the rest of a sentence naming them."""
    mapping = acting.document_mapping
    if mapping is not None and mapping.member_id:
        return f", whose ConnectWise member is {mapping.member_identifier or mapping.member_id}"
    return ", who has no ConnectWise member mapped"


def renamed_note(doc: Document, opportunity_id: int, name: str) -> str:
    """What the opportunity name typed on an exported document after its export does: nothing to its opportunity.
    It stays linked by id (user guide §5.4 matches by name only to find the opportunity of a document not exported
    yet): the export neither renames the opportunity (other documents may share it) nor moves the lines elsewhere
    (they would stay on it too, counted twice, or be taken off an opportunity people work on in ConnectWise)."""
    what = "quote" if doc.is_quote else "sales order"
    typed = f"now “{name}”" if name else "now empty"
    new = f"a new opportunity “{name}”" if name else "a new opportunity"
    # A new quote even for a sales order: the host makes sales orders only by converting a quote.
    return (f"The opportunity name on the document is {typed}, but an exported {what} stays linked to its opportunity "
            f"by id: the export neither renames opportunity {opportunity_id} nor moves these lines to another one. To "
            f"rename it, rename it in ConnectWise; for {new}, put the lines on a new quote"
            + (" with that name" if name else "") + " and export that one.")


def with_target(checks: list[Check], refused: ExportRefused | None) -> list[Check]:
    """The checks with what ConnectWise said of where the export goes: the opportunity check fails when the
    export would be refused there (``refused``: :attr:`~.picker.ExportTarget.refused`)."""
    if refused is None:
        return checks
    return [dataclasses.replace(c, ok=False, detail=refused.sentence) if c.label == "Opportunity" else c
            for c in checks]


def with_company(checks: list[Check], company: tuple[int, str, str] | None) -> list[Check]:
    """The checks with what ConnectWise said of a customer not exported yet: it already has the company with the
    customer's Company ID (``company``: id, Company ID, name, from :attr:`~.picker.ExportTarget.unlinked_company`,
    the answer the checklist already asked for), which the customer's export links (and updates) instead of creating
    a company. Still ✗: the export needs the link."""
    if company is None:
        return checks
    _, identifier, name = company
    said = (f"ConnectWise already has company {identifier} “{name}” (same Company ID), not linked to this customer "
            "yet: export the customer first. That links this company (and updates it from the customer) rather "
            "than creating a new one.")
    return [dataclasses.replace(c, detail=said) if c.fix == "export_customer" and c.label.startswith("Customer ")
            else c for c in checks]


def long_name_check(name: str) -> Check | None:
    """The checklist's Opportunity row (marked :attr:`Check.in_form`) of a document not linked to an opportunity whose
    opportunity name ``name`` is longer than ConnectWise holds, which the export refuses; None for a name it holds.
    The document's ConnectWise panel says it too, instead of where the export would put the lines."""
    if cw_length(name) > NAME_MAX:  # (the export's own refusal: ConnectWise holds at most NAME_MAX UTF-16 units)
        return Check(False, "Opportunity", long_name(name, NAME_MAX).sentence, in_form=True)
    return None


def _opportunity_check(session: Session, doc: Document, settings, snapshot: dict) -> Check:
    link = get_link(session, "document", doc.id)
    if link is None and doc.source_quote_id and not doc.is_quote:
        quote_link = get_link(session, "document", doc.source_quote_id)
        if quote_link:
            return Check(True, "Opportunity", f"Opportunity {quote_link.cw_id} “{quote_link.cw_identifier}”, "
                         "from the quote: the order takes over the quote's lines.")
    name = opportunity_field_value(snapshot, settings)
    if link is not None:
        state = get_state(session, doc.id)
        detail = f"Linked to opportunity {link.cw_id} “{link.cw_identifier}”: the export updates this document's lines."
        note = ""
        if state and state.exported_at and name != state.name_at_export:
            note = renamed_note(doc, link.cw_id, name)
        return Check(True, "Opportunity", detail, note=note)
    too_long = long_name_check(name)
    if too_long is not None:
        return too_long
    if name:
        return Check(True, "Opportunity", f"Adds the lines to the customer's opportunity named exactly “{name}”, "
                     f"or creates it{won_when_new(doc)}.")
    if settings.allow_empty_opportunity_name:
        return Check(True, "Opportunity", f"No name given: creates an opportunity named {doc.number}{won_when_new(doc)}.")
    if not settings.opportunity_field_id:  # (an admin's choice missing, not the rep's name)
        said = no_name_field(pages.OPTIONS.name).sentence
        return Check(False, "Opportunity", said[:1].upper() + said[1:])
    field = session.get(CustomField, settings.opportunity_field_id)
    where = f"the “{field.name}” field (Edit)" if field else "the opportunity name field"
    return Check(False, "Opportunity", f"The document has no opportunity name. Enter it in {where}, "
                 "or ask an admin to allow empty opportunity names.")
