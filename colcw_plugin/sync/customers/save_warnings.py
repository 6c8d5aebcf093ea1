"""What a rep is told as they save a customer (and its contacts) in ChannelOnline's form (the host's hook
``customer_save_warnings``): the fields ConnectWise cannot take as they stand, in the words the customer's export
fails with, before they export it. Never a refusal: the customer is saved already."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy.orm import Session

from ...setup.connection import is_configured, read_settings
from ..shared import fields as M


def save_warnings(session: Session, snapshot: dict) -> list[str]:
    """The warning for a customer just saved in ChannelOnline's form (``snapshot``: as saved, with its contacts): its
    fields and its contacts' fields longer than ConnectWise holds, each record said as its export's result says it
    (:func:`.fields.customer_length_problems`, :func:`.fields.contact_length_problems`, which the export applies).

    Said whichever system is the master for customer data: the master decides only which side's value stays when
    both changed a field since the last sync, and the export (the customer page's Export to ConnectWise, export jobs)
    sends ChannelOnline's values and refuses these under either; every length-limited rule of the customer and contact
    mappings sends ChannelOnline's value to ConnectWise (↔). Nothing while ConnectWise is not connected (nothing is
    exported then), as for a document. One warning (or none)."""
    if not is_configured(read_settings(session)):
        return []
    customer = SimpleNamespace(**snapshot)
    said = [M.join(problems) for problems in (
        M.customer_length_problems(M.customer_values(customer)),
        *(M.contact_length_problems(M.contact_values(SimpleNamespace(**c))) for c in snapshot.get("contacts") or ()),
    ) if problems]
    if not said:
        return []
    return [f"Customer {snapshot.get('name')} cannot be exported to ConnectWise as it is. "
            + " ".join(f"{message} {resolution}" for message, resolution in said)]
