"""What exporting a document will do, checked from colcw's own tables (no ConnectWise request):
the Appendix C preconditions and where the lines will go. The export page shows it before the
rep clicks Export."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.models import Contact, CustomField, Document

from ...models import DocumentDrift, get_link
from ...setup.connection import is_configured, read_settings
from ...setup.reps import UnmappedRep, member_for
from ..shared.product_drift import overwrite
from .problems import ExportRefused, converted
from .state import get_state, opportunity_field_value


@dataclass(frozen=True)
class Check:
    ok: bool
    label: str
    detail: str = ""
    fix: str = ""  # "export_customer" when the one-click customer export fixes it


def preflight(session: Session, doc: Document, actor: dict | None, snapshot: dict) -> list[Check]:
    """The checks shown on the export page, in the order the export applies them."""
    settings = read_settings(session)
    if not is_configured(settings):
        # Nothing else can be told without the connection and its settings (after a Reset, the
        # opportunity name field is not chosen yet either): say that, and only that.
        return [Check(False, "ConnectWise connection", "ConnectWise is not connected yet: ask an admin to set up "
                      "the connection (Admin → Integration → ConnectWise).")]
    checks = [Check(True, "ConnectWise connection")]
    if doc.is_quote and doc.status == "converted":  # the export skips it: its order carries its lines
        order = session.execute(select(Document.number).where(Document.source_quote_id == doc.id)).scalar()
        return [*checks, Check(False, "Converted to a sales order", " ".join(converted(doc.number, order)))]
    customer_link = get_link(session, "customer", doc.customer_id)
    checks.append(Check(customer_link is not None, f"Customer {doc.customer.name} in ConnectWise",
                        f"Company {customer_link.cw_identifier or customer_link.cw_id}" if customer_link else
                        "Not exported yet: export the customer first.", "" if customer_link else "export_customer"))
    contact = doc.contact or session.execute(select(Contact).where(Contact.customer_id == doc.customer_id)
                                             .order_by(Contact.is_default.desc(), Contact.id)).scalars().first()
    contact_link = get_link(session, "contact", contact.id) if contact else None
    checks.append(Check(contact_link is not None, f"Contact {contact.name if contact else '(none)'} in ConnectWise",
                        "" if contact_link else "Not exported yet: export the customer (with its contacts) first.",
                        "" if contact_link else "export_customer"))
    try:
        rep = member_for(session, settings, actor, doc.sales_rep_id)
        checks.append(Check(True, "Sales rep mapped", f"ConnectWise member {rep.member_identifier or rep.member_id}"))
    except UnmappedRep as e:
        checks.append(Check(False, "Sales rep mapped", f"{e} {e.resolution}"))
    checks.append(_opportunity_check(session, doc, settings, snapshot))
    drift = session.execute(select(DocumentDrift).where(DocumentDrift.document_id == doc.id)).scalar_one_or_none()
    if drift is not None and drift.changes:
        checks.append(Check(True, "Changes made in ConnectWise since the last export",
                            "Exporting overwrites them: it " + "; ".join(overwrite(c) for c in drift.changes) + "."))
    return checks


def with_target(checks: list[Check], refused: ExportRefused | None) -> list[Check]:
    """The checks with what ConnectWise said of where the export goes: the opportunity check fails when the
    export would be refused there (``refused``: :attr:`~.picker.ExportTarget.refused`)."""
    if refused is None:
        return checks
    return [Check(False, c.label, refused.sentence) if c.label == "Opportunity" else c
            for c in checks]


def _opportunity_check(session: Session, doc: Document, settings, snapshot: dict) -> Check:
    link = get_link(session, "document", doc.id)
    if link is None and doc.source_quote_id and not doc.is_quote:
        quote_link = get_link(session, "document", doc.source_quote_id)
        if quote_link:
            return Check(True, "Opportunity", f"Opportunity {quote_link.cw_id} \"{quote_link.cw_identifier}\", "
                         "from the quote: the order takes over the quote's lines.")
    name = opportunity_field_value(snapshot, settings)
    if link is not None:
        state = get_state(session, doc.id)
        detail = f"Linked to opportunity {link.cw_id} \"{link.cw_identifier}\": the export updates this document's lines."
        if state and state.exported_at and name != state.name_at_export:
            detail += f" The name on the document is now \"{name}\", but it stays linked to this opportunity."
        return Check(True, "Opportunity", detail)
    if name:
        return Check(True, "Opportunity", f"Adds the lines to the customer's opportunity named exactly \"{name}\", "
                     "or creates it.")
    if settings.allow_empty_opportunity_name:
        return Check(True, "Opportunity", f"No name given: creates an opportunity named {doc.number}.")
    field = session.get(CustomField, settings.opportunity_field_id) if settings.opportunity_field_id else None
    where = f"the \"{field.name}\" field (Edit)" if field else "the opportunity name field"
    return Check(False, "Opportunity", f"The document has no opportunity name. Enter it in {where}, "
                 "or ask an admin to allow empty opportunity names.")
