"""What a rep is told as they save a customer (and its contacts) in ChannelOnline's form (the host's hook
``customer_save_warnings``): what the customer's export refuses of it as it stands, in the words the export fails
with, before they export it. Never a refusal: the customer is saved already."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy.orm import Session

from ...setup.connection import is_configured, read_settings
from ..shared import fields as M


def save_warnings(session: Session, snapshot: dict) -> list[str]:
    """The warning for a customer just saved in ChannelOnline's form (``snapshot``: as saved, with its contacts): each
    problem its export refuses it or a contact for — no name or account number, no address at all, a contact with no
    first name or an e-mail that is none, a field longer than ConnectWise holds — each record said as its export's
    result says it, by the export's own rules (:func:`.fields.customer_problems`, :func:`.fields.contact_problems`).
    Not the rules only ConnectWise's lists decide (a state missing from its state list, a communication type it
    lacks): saving asks ConnectWise nothing, as a document's checklist and save warnings do not; the export says them.

    Said whichever system is the master for customer data: the master decides only which side's value stays when
    both changed a field since the last sync, and the export (the customer page's Export to ConnectWise, export jobs)
    sends ChannelOnline's values and refuses these under either. Nothing while ConnectWise is not connected (nothing
    is exported then), as for a document. One warning (or none)."""
    if not is_configured(read_settings(session)):
        return []
    customer = SimpleNamespace(**snapshot)
    said = [M.join(problems) for problems in (
        M.customer_problems(M.customer_values(customer), None),
        *(M.contact_problems(M.contact_values(SimpleNamespace(**c)), None, None)
          for c in snapshot.get("contacts") or ()),
    ) if problems]
    if not said:
        return []
    return [f"Customer {snapshot.get('name')} cannot be exported to ConnectWise as it is. "
            + " ".join(f"{message} {resolution}" for message, resolution in said)]
