"""Exporting a customer's contacts to its ConnectWise company (a helper of :mod:`.exporter`).

Contacts of a linked company are matched the first time by an exact e-mail address within that
company only; a contact whose link points at a contact the company no longer holds is reported,
never re-created behind the user's back.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from host_stub.models import Customer

from ...cw import ConnectWiseClient, ConnectWiseError
from ...models import CONTACT, fingerprint
from ...setup.field_mapping import CONTACT as CONTACT_TABLE
from ..shared import fields as M
from ..shared.states import StateList
from .link_batch import LinkBatch

if TYPE_CHECKING:
    from .exporter import Chunk

LABELS = {r.host_attr: r.host for r in CONTACT_TABLE.rules if r.host_attr}


def contact_label(contact: Any) -> str:
    return (f"{contact.first_name} {contact.last_name}".strip() or f"contact {contact.id}")


@dataclass
class Outcome:
    entity: str
    action: str
    host_id: int | None
    cw_id: int | None
    label: str
    message: str = ""
    resolution: str = ""



class ContactExporter:
    """Writes one customer's contacts (see the module doc)."""

    def __init__(self, client: ConnectWiseClient, states: StateList, comm_types: dict[str, dict], *,
                 cw_master: bool = False):
        self.client = client
        self.states = states
        self.comm_types = comm_types
        self.cw_master = cw_master  # fields ConnectWise changed since the last sync are not overwritten

    def export(self, customer: Customer, company_id: int, chunk: Chunk,
               batch: LinkBatch) -> tuple[list[Outcome], int | None]:
        cw_contacts = chunk.contacts.get(company_id, [])
        by_id = {r["id"]: r for r in cw_contacts}
        by_email: dict[str, list[dict]] = defaultdict(list)
        for r in cw_contacts:
            if r["id"] in chunk.contact_owner:
                continue
            for item in r.get("communicationItems") or []:
                if str((item.get("type") or {}).get("name", "")).casefold() == "email" and item.get("value"):
                    by_email[str(item["value"]).casefold()].append(r)
        host_emails = defaultdict(int)
        for contact in customer.contacts:
            if contact.email:
                host_emails[contact.email.casefold()] += 1
        outcomes: list[Outcome] = []
        default_cw: int | None = None
        for contact in customer.contacts:
            label = f"{contact_label(contact)} ({customer.name})"
            values = M.contact_values(contact)
            problems = M.contact_problems(values, self.states, self.comm_types)
            if problems:
                outcomes.append(Outcome(CONTACT, "failed", contact.id, None, label, *M.join(problems)))
                continue
            link = chunk.contact_links.get(contact.id)
            record = None
            note = ""
            if link is not None:
                record = by_id.get(link.cw_id)
                if record is None:
                    batch.mark(link, "missing_in_cw")
                    outcomes.append(Outcome(
                        CONTACT, "failed", contact.id, link.cw_id, label,
                        f"{label}: the linked ConnectWise contact (id {link.cw_id}) was deleted in ConnectWise or "
                        "moved to another company.",
                        "Clear the contact's link on the customer's page to export it again as a new contact."))
                    continue
            elif contact.email and host_emails[contact.email.casefold()] == 1:
                matches = by_email.get(contact.email.casefold(), [])
                if len(matches) == 1:
                    record = matches[0]
                    chunk.contact_owner[record["id"]] = contact.id
                    note = "linked to the existing ConnectWise contact with the same e-mail"
            sent, agreed = values, values
            if self.cw_master and link is not None and record is not None:
                theirs = M.contact_host_values(record, None)
                theirs["is_default"] = values.get("is_default")  # the default contact is the company's choice
                sent, agreed, kept = M.keep_master_changes(values, theirs, link.synced_values)
                if kept:
                    note = (f"{note + '; ' if note else ''}kept ConnectWise's {', '.join(LABELS.get(k, k) for k in kept)} (ConnectWise is the "
                            "master for customer data)")
            try:
                outcome, record = self._write_contact(contact, sent, record, company_id, label, note)
            except ConnectWiseError as e:
                if e.transient:
                    raise
                outcomes.append(Outcome(CONTACT, "failed", contact.id, record["id"] if record else None, label,
                                         f"{label}: {e}", resolution_for(e)))
                continue
            batch.put(link, CONTACT, contact.id, record["id"], fingerprint=fingerprint(values),
                      cw_last_updated=M.last_updated(record), values=agreed)
            batch.flush()
            outcomes.append(outcome)
            if contact.is_default:
                default_cw = record["id"]
        batch.flush()
        return outcomes, default_cw

    def _write_contact(self, contact: Any, values: dict, record: dict | None, company_id: int, label: str,
                       note: str) -> tuple[Outcome, dict]:
        existing = (record or {}).get("communicationItems") or []
        wanted = M.contact_payload(values, company_id, self.states, self.comm_types, existing)
        if record is None:
            body = {k: v for k, v in wanted.items() if v not in (None, [])}
            record = self.client.contacts.create(body)
            return Outcome(CONTACT, "created", contact.id, record["id"], label, f"{label}: created."), record
        diff = M.contact_changes(record, wanted)
        if not diff:
            return Outcome(CONTACT, "unchanged", contact.id, record["id"], label,
                            f"{label}: {note or 'unchanged'}."), record
        record = self.client.contacts.patch(record["id"], diff)
        changed = ", ".join(sorted(diff))
        return Outcome(CONTACT, "updated", contact.id, record["id"], label,
                        f"{label}: {note + '; ' if note else ''}changed {changed}."), record


def resolution_for(error: ConnectWiseError) -> str:
    if error.transient:
        return "ConnectWise did not answer in time; retry the failed records later."
    if error.status == 400:
        return "Correct the fields ConnectWise named in ChannelOnline and export again."
    return error.hint or "Check the ConnectWise connection and export again."
