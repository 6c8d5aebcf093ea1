"""Importing one ConnectWise company and its contacts into a host customer (a helper of :mod:`.importer`).

The page's bulk reads (:class:`PageData`) say what ConnectWise and the host hold; this module
decides, per company, what to create, update, re-link or report, and writes the customer, its
contacts and their links in one unit of work.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete
from sqlalchemy.exc import SQLAlchemyError

from host_stub.fields import column_limits
from host_stub.gateway import ValidationError
from host_stub.models import Contact, Customer
from host_stub.snapshots import system_actor

from ...models import CONTACT, CUSTOMER, Link, fingerprint
from ...setup.customer_matching import HostCustomer as MatchCustomer
from ...setup.field_mapping import COMPANY
from ...setup.field_mapping import CONTACT as CONTACT_TABLE
from ..shared import fields as M
from .link_batch import LinkBatch, LinkRow, clear_drift

if TYPE_CHECKING:
    from .importer import CompanyImporter

IMPORT_SYSTEM = "colcw-import"
# Host events fired by an import carry this actor, so colcw's own event handlers can ignore them.
IMPORT_ACTOR = system_actor(IMPORT_SYSTEM)

# The host's own limits (its columns), the ones its unit of work checks: a value too long is a failed record.
_CUSTOMER_LIMITS = column_limits(Customer)
_CONTACT_LIMITS = column_limits(Contact)
_COMPANY_LABELS = {r.host_attr: r.host for r in COMPANY.rules if r.host_attr}
_CONTACT_LABELS = {r.host_attr: r.host for r in CONTACT_TABLE.rules if r.host_attr}


def keep_host_values(values: dict, host: dict) -> None:
    """Unless ConnectWise is the master for customer data, a ConnectWise field that is blank (or maps
    to blank, as the site "Main" does to the location code) does not erase the host's value."""
    for key, value in values.items():
        if value in ("", None) and host.get(key) not in ("", None):
            values[key] = host[key]


def is_own_import(actor: dict | None) -> bool:
    """True for host events fired by colcw's import (colcw must not react to its own writes)."""
    return bool(actor) and actor.get("system") == IMPORT_SYSTEM


@dataclass
class HostCustomer:
    values: dict
    contacts: dict[int, dict]  # host contact id -> values



@dataclass
class PageData:
    contacts: dict[int, list[dict]]
    links: dict[int, LinkRow]
    contact_links: dict[int, LinkRow]
    by_account: dict[str, int]
    hosts: dict[int, HostCustomer]
    host_links: dict[int, LinkRow]
    host_contact_links: dict[int, LinkRow]
    drifted: set[int] | None = None  # the page's customers with live-update drift to forget (None: unknown)


class CompanyImport:
    """One company and its contacts (a helper of :class:`~.importer.CompanyImporter`)."""

    def __init__(self, owner: CompanyImporter, record: dict, page: PageData, explicit: bool):
        self.owner, self.record, self.page, self.explicit = owner, record, page, explicit
        self.session = owner.session
        self.host = owner.ctx.host(self.session)  # the customer, its contacts and links commit together
        self.batch = LinkBatch(self.session, write_unchanged=False)  # an unchanged re-import writes nothing
        self.label = f"{record.get('name')} ({record.get('identifier')})"
        self.cid = record["id"]
        self.theirs: dict[int, dict] = {}  # ConnectWise contact id -> its values as ConnectWise holds them

    def _out(self, action: str, host_id: int | None, message: str, resolution: str = "",
             entity: str = CUSTOMER, cw_id: int | None = None, label: str | None = None) -> dict:
        return {"entity": entity, "action": action, "host_id": host_id,
                "cw_id": self.cid if cw_id is None else cw_id, "label": label or self.label,
                "message": message, "resolution": resolution, "advance": entity == CUSTOMER}

    def run(self) -> list[dict]:
        try:
            outcomes = self._run()
        except (ValidationError, SQLAlchemyError) as e:
            self.host.rollback()
            detail = "; ".join(e.errors.values()) if isinstance(e, ValidationError) else type(e).__name__
            outcomes = [self._out("failed", None, f"{self.label} could not be saved in ChannelOnline: {detail}",
                                  "Correct the company in ConnectWise (or the clashing customer in ChannelOnline) "
                                  "and import again.")]
        self.batch.flush()
        self.host.commit()
        return outcomes

    def _run(self) -> list[dict]:
        page, record = self.page, self.record
        link = page.links.get(self.cid)
        ident = str(record.get("identifier") or "")
        if record.get("deletedFlag"):
            return self._deleted(link)
        host_id: int | None = None
        notes: list[str] = []
        if link is not None:
            if link.host_id in page.hosts:
                host_id = link.host_id
            elif not self.explicit:
                self.batch.mark(link, "missing_in_host")
                return [self._out("skipped", link.host_id,
                                  f"{self.label}: the ChannelOnline customer linked to it was deleted; it was not "
                                  "re-created.",
                                  f"To import it again, use Import From ConnectWise with Company ID {ident} (this "
                                  "re-creates and re-links it).")]
            else:
                self.session.execute(delete(Link).where(Link.id == link.id))
                link = None
                notes.append("re-linked (the customer it was linked to had been deleted in ChannelOnline)")
        if host_id is None:
            host_id = page.by_account.get(ident)
            other = page.host_links.get(host_id) if host_id else None
            if other is not None and other.cw_id != self.cid:
                return [self._out("failed", host_id,
                                  f"{self.label}: ChannelOnline customer {ident} is already linked to another "
                                  f"ConnectWise company (id {other.cw_id}).",
                                  "Clear that customer's link or change one of the two account numbers, then import "
                                  "again.")]
            if host_id is not None:
                notes.append(f"linked to the existing customer with account number {ident}")
            elif not self.explicit:
                like = self.owner.duplicates.match(str(record.get("name") or ""), str(record.get("phoneNumber") or ""))
                if like is not None:
                    other, why = like
                    return [self._out("skipped", None,
                                      f"{self.label}: not imported: it looks like the ChannelOnline customer "
                                      f"{other.label} ({why}), so a new customer would be a duplicate.",
                                      "Map the company to that customer (Admin → Integration → ConnectWise → Map "
                                      "customers), or import it on its own by its Company ID if it is another "
                                      "company.")]
        return self._apply(host_id, link, notes)

    def _deleted(self, link: LinkRow | None) -> list[dict]:
        if link is not None:
            self.batch.mark(link, "missing_in_cw")
            return [self._out("skipped", link.host_id,
                              f"{self.label} was deleted in ConnectWise; the linked customer was kept as it is.",
                              "Re-link the customer to another company or clear its link (customer page → "
                              "ConnectWise panel).")]
        if self.explicit:
            return [self._out("failed", None, f"{self.label} was deleted in ConnectWise.",
                              "Restore the company in ConnectWise, or import another company.")]
        self.owner.recorder.advance()
        return []

    def _apply(self, host_id: int | None, link: LinkRow | None, notes: list[str]) -> list[dict]:
        page, record = self.page, self.record
        values = M.company_host_values(record)
        existing = page.hosts.get(host_id) if host_id else None
        M.keep_default_site_name(values, existing.values if existing else None)
        theirs = dict(values)  # what ConnectWise holds: the agreement the link keeps
        if existing is not None and not self.owner.cw_master:
            keep_host_values(values, existing.values)
        cw_contacts = [c for c in page.contacts.get(self.cid, []) if not c.get("inactiveFlag")]
        default_id = (record.get("defaultContact") or {}).get("id")
        problems = M.host_length_problems(values, _CUSTOMER_LIMITS, self.label, _COMPANY_LABELS)
        if not values.get("name") or not values.get("account_number"):
            problems.append((f"{self.label} has no name or Company ID.", "Enter them in ConnectWise and import again."))
        plan = self._plan(cw_contacts, default_id, existing, problems)
        if problems:
            return [self._out("failed", host_id, *M.join(problems))]
        has_default = any("is_default" in v for _, _, v in plan)
        changed = [k for k, v in values.items() if existing is None or existing.values.get(k) != v]
        contact_changes = [(c, hid, v) for c, hid, v in plan
                           if hid is None or any(existing.contacts[hid].get(k) != x for k, x in v.items())]
        demote = []
        if has_default and existing:
            chosen = {hid for _, hid, v in plan if v.get("is_default")}
            demote = [hid for hid, v in existing.contacts.items() if v.get("is_default") and hid not in chosen
                      and hid not in {h for _, h, _ in plan}]
        outcomes: list[dict] = []
        if existing is not None and not changed and not contact_changes and not demote:
            action, contact_ids = "unchanged", {}
        else:
            data = [{**v, **({"id": hid} if hid else {})} for c, hid, v in contact_changes]
            data += [{"id": hid, "is_default": False} for hid in demote]
            before = set(existing.contacts) if existing else set()
            saved = self.host.save_customer(values, data, customer_id=host_id, actor=IMPORT_ACTOR)
            host_id = saved.id
            if existing is None:
                self.owner.duplicates.add(MatchCustomer(saved.id, saved.name, saved.account_number, saved.phone, ""))
            new_ids = sorted(k.id for k in saved.contacts if k.id not in before)
            new_plan = [c for c, hid, _ in contact_changes if hid is None]
            contact_ids = dict(zip((c["id"] for c in new_plan), new_ids, strict=False))
            action = "created" if existing is None else "updated"
            if changed and existing is not None:
                notes.append("changed " + ", ".join(_COMPANY_LABELS.get(k, k) for k in changed))
        self.batch.put(link, CUSTOMER, host_id, self.cid, cw_identifier=str(record.get("identifier") or ""),
                       fingerprint=fingerprint(values), cw_last_updated=M.last_updated(record), values=theirs)
        if page.drifted is None or host_id in page.drifted:  # an unchanged re-import writes nothing
            clear_drift(self.session, host_id)
        changed_cw = {c["id"] for c, _, _ in contact_changes}
        for c, hid, v in plan:
            hid = hid or contact_ids.get(c["id"])
            if hid is None:
                continue
            row = page.contact_links.get(c["id"])
            self.batch.put(row if row is not None and row.host_id == hid else None, CONTACT, hid, c["id"],
                           fingerprint=fingerprint(v), cw_last_updated=M.last_updated(c),
                           values=self.theirs.get(c["id"], v))
            who = f"{c.get('firstName', '')} {c.get('lastName', '')}".strip()
            c_action = ("created" if c["id"] in contact_ids else "updated") if c["id"] in changed_cw else "unchanged"
            outcomes.append(self._out(c_action, hid, f"{who} ({record.get('name')}): {c_action}.", entity=CONTACT,
                                      cw_id=c["id"], label=f"{who} ({record.get('name')})"))
        outcomes += self._missing_contacts(existing)
        message = f"{self.label}: " + ("; ".join(notes) if notes else action) + "."
        return [self._out(action, host_id, message), *outcomes]

    def _plan(self, cw_contacts: list[dict], default_id: int | None, existing: HostCustomer | None,
              problems: list) -> list[tuple[dict, int | None, dict]]:
        """Each ConnectWise contact with the host contact it updates (None: a new one) and its values."""
        page = self.page
        has_default = bool(default_id) or any(c.get("defaultFlag") for c in cw_contacts)
        linked_hosts = {row.host_id for row in page.host_contact_links.values()}
        free_by_email: dict[str, list[int]] = defaultdict(list)
        for hid, v in (existing.contacts.items() if existing else ()):
            if hid not in linked_hosts and v.get("email"):
                free_by_email[v["email"].casefold()].append(hid)
        plan = []
        taken: set[int] = set()
        for c in cw_contacts:
            values = M.contact_host_values(c, default_id)
            if not has_default:
                values.pop("is_default")
            self.theirs[c["id"]] = dict(values)
            who = f"{self.label}, contact {values.get('first_name')} {values.get('last_name')}".strip()
            if not (values.get("first_name") or values.get("last_name")):
                problems.append((f"{self.label}: contact id {c['id']} has no name.",
                                 "Enter the contact's name in ConnectWise and import again."))
            problems += M.host_length_problems(values, _CONTACT_LIMITS, who, _CONTACT_LABELS)
            link = page.contact_links.get(c["id"])
            hid = None
            if link is not None and existing and link.host_id in existing.contacts:
                hid = link.host_id
            elif link is not None:
                # The linked host contact is gone (or belongs elsewhere): start this contact afresh.
                self.session.execute(delete(Link).where(Link.id == link.id))
                page.contact_links.pop(c["id"], None)
            elif values.get("email"):
                matches = [h for h in free_by_email.get(values["email"].casefold(), []) if h not in taken]
                if len(matches) == 1:
                    hid = matches[0]
            if hid is not None:
                taken.add(hid)
                if not self.owner.cw_master:
                    keep_host_values(values, existing.contacts[hid])
            plan.append((c, hid, values))
        return plan

    def _missing_contacts(self, existing: HostCustomer | None) -> list[dict]:
        """Host contacts linked to ConnectWise contacts this company no longer has: reported, kept."""
        if existing is None:
            return []
        # Every contact the company holds, inactive ones included: an inactive contact is not missing.
        present = {c["id"] for c in self.page.contacts.get(self.cid, [])}
        out = []
        for hid in existing.contacts:
            link = self.page.host_contact_links.get(hid)
            # Reported once, when first noticed; the link keeps the status for the customer's page.
            if link is not None and link.cw_id not in present and link.status != "missing_in_cw":
                self.batch.mark(link, "missing_in_cw")
                v = existing.contacts[hid]
                who = f"{v.get('first_name', '')} {v.get('last_name', '')}".strip()
                out.append(self._out("skipped", hid, f"{who}: the linked ConnectWise contact (id {link.cw_id}) was "
                                     "deleted or moved to another company; the contact was kept in ChannelOnline.",
                                     "Clear the contact's link on the customer's page if it should be exported "
                                     "again.", entity=CONTACT, cw_id=link.cw_id, label=f"{who} ({self.label})"))
        return out


