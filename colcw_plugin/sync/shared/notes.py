"""The customer page's notes of ConnectWise values (RecordDrift rows), one definition for live updates with the safety
net (:mod:`..inbound.customers`) and the import (:mod:`..customers.company_import`).

Of the fields ConnectWise changed since the last agreement (:func:`.fields.compare`), a note shows, with ChannelOnline
the master, each one ("drift": changed in ConnectWise, not taken; "conflict": changed on both sides, ChannelOnline's
kept), and with ConnectWise the master each one changed on both sides (a conflict: ConnectWise's value was taken, and
the note is the only place ChannelOnline's overwritten value shows); a change taken needs none. A field that differs
with no earlier agreement (:data:`UNAGREED`: the two held different values when they were linked) is noted as such,
whichever the master: nobody need have changed it since, so "changed on both sides" or "changed in ConnectWise" would
tell a rep that someone overwrote their edit, when the master's value only stood for want of an agreement.

A reading of a record (a live update, a safety-net pass, an import) replaces the record's notes with its own, but for
a conflict ConnectWise's value settled (:func:`stays`): both sides agree on it, so no later reading finds it again; it
stays until the customer is exported, the master changes, or ConnectWise changes that field again. A reading leaves
the notes of the records it did not read.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from .fields import Diff

CW_KEPT, HOST_KEPT = "connectwise", "host"  # whose value a note says was kept
# The kind of a note of a field that differs with no earlier agreement (a field that differed when the scan or Map
# customers linked the company, a contact's first link): the master's value stood ("kept" says whose), as for a
# conflict, but nothing says either side changed it.
UNAGREED = "unagreed"


def text(value: Any) -> str:
    """A value as a note holds it."""
    return str(value if value is not None else "")


def rows(entity: str, host_id: int, customer_id: int, cw_id: int, diffs: list[Diff], cw_master: bool,
         unagreed: Collection[str] = ()) -> list[dict]:
    """The notes of one record's differences (RecordDrift rows, without the run that wrote them); ``unagreed``: the
    fields of ``diffs`` with no earlier agreement (:data:`UNAGREED`)."""
    return [{"entity": entity, "host_id": host_id, "customer_id": customer_id, "cw_id": cw_id, "field": d.field,
             "label": d.label, "kind": UNAGREED if d.field in unagreed else "conflict" if d.conflict else "drift",
             "host_value": text(d.host), "cw_value": text(d.cw), "kept": CW_KEPT if cw_master else HOST_KEPT}
            for d in diffs if d.conflict or not cw_master]  # (ConnectWise the master: a change taken, no note)


def stays(field: str, kept: str, cw_value: str, cw: Mapping[str, Any], changed: Collection[str],
          cw_master: bool) -> bool:
    """Whether a reading of the record leaves its note of ``field`` (whose value it kept, ConnectWise's value it
    showed): a conflict ConnectWise's value settled, with ConnectWise the master, while ConnectWise holds that value
    (``cw``: the record's values as this reading found them) and this reading found no new change of the field
    (``changed``). Every other note of the record is replaced by this reading's own."""
    return cw_master and kept == CW_KEPT and field not in changed and field in cw and text(cw[field]) == cw_value


# A linked contact made inactive in ConnectWise (kind and field "inactive"): nothing of it is taken, whichever is the
# master (ChannelOnline has no inactive contacts); the note says so until a reading finds it active again, the
# contact is deleted in ChannelOnline, or the master changes.
INACTIVE = "inactive"
INACTIVE_FIX = ("If they no longer work there, delete the contact in ChannelOnline; otherwise make them active again in "
                "ConnectWise (the next live update ends this note).")


def inactive_row(host_id: int, customer_id: int, cw_id: int) -> dict:
    """The note of a contact made inactive in ConnectWise (a RecordDrift row, without the run that wrote it)."""
    return {"entity": "contact", "host_id": host_id, "customer_id": customer_id, "cw_id": cw_id, "field": INACTIVE,
            "label": "Status", "kind": INACTIVE, "host_value": "Active", "cw_value": "Inactive", "kept": HOST_KEPT}


def inactive_said(label: str) -> tuple[str, str]:
    """What the run log says of it, and the fix."""
    return (f"{label}: made inactive in ConnectWise; kept as it is in ChannelOnline (exports leave it as it is).",
            INACTIVE_FIX)
