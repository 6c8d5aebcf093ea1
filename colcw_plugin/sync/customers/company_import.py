"""Importing one ConnectWise company and its contacts into a host customer (a helper of :mod:`.importer`).

The page's bulk reads (:class:`PageData`) say what ConnectWise and the host hold; this module
decides, per company, what to create, update, re-link or report (:meth:`CompanyImport.prepare`).
The importer then saves the page's customers and contacts together through the host's bulk path,
and each company turns what was saved into its links and outcomes (:meth:`CompanyImport.finish`):
a page is one transaction of a few statements, whatever its size.

Whose values an existing customer gets: with ConnectWise the master for customer data, live updates' rule against what
both sides agreed at the last sync (:func:`..shared.fields.compare`): what ConnectWise changed since is taken (a field
changed on both sides too: the master), what only ChannelOnline changed since is kept, not exported yet (the customer
stays "Changed since export" and its next export sends it); the run log says each field taken old → new, the
conflicts and the edits kept, and where the default contact went; a conflict is a note on the customer page too, as
live updates leave it (:mod:`..shared.notes`, one definition). An import replaces the notes of the records it read
with its own, leaving a conflict ConnectWise's value settled (as live updates do) and the notes of records it did not
read. Without an agreement on a field (one that differed when the scan or Map customers linked the company, a link
made before links kept one) the field, differing, is ConnectWise's. A customer or contact deleted in
ChannelOnline is not re-created by a bulk import (as live updates leave it): reported once, by the first import after
the delete (its link marked missing_in_host; later ones leave it out without a word); the import of the company by its
Company ID re-creates it. With ChannelOnline the master, a bulk import (all,
changed or selected companies) keeps the customer's values, account number and default contact, and notes ConnectWise's
differing values, its default contact included (:func:`..shared.default_contact.differences`), as live updates do
(drift rows: "Changed in ConnectWise; not taken"), until the customer's export
writes its values over the company's (compared as ConnectWise holds them, as live updates compare: a state spelled
otherwise, "Nova Scotia" for "NS", through ConnectWise's state list, read at most once per run, is no difference); a
person's import from the popup takes ConnectWise's (Replace) but for a blank.
New customers, and contacts new to a customer, are created from ConnectWise's values. A ConnectWise contact without a
link updates the host contact that is the same person (:class:`~colcw_plugin.setup.customer_matching.SamePerson`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from host_stub.bulk import CustomerSaved, CustomerWrite
from host_stub.fields import column_limits
from host_stub.models import Contact, Customer
from host_stub.snapshots import system_actor

from ...models import CONTACT, CUSTOMER, fingerprint
from ...setup.customer_matching import LINKED_LOOK_ALIKE_FIX, SamePerson
from ...setup.customer_matching import HostCustomer as MatchCustomer
from ...setup.customer_matching import LookAlike as MatchLookAlike
from ...setup.field_mapping import COMPANY, MappingTable
from ...setup.field_mapping import CONTACT as CONTACT_TABLE
from ..shared import default_contact as D
from ..shared import fields as M
from ..shared import notes as N
from ..shared import stale_site
from ..shared.advice import HOST_MASTER_DRIFT_FIX
from ..shared.first_link import blanks_kept
from ..shared.states import StateList
from .link_batch import LinkRow, Note, PageWrites, by_host

if TYPE_CHECKING:
    from .importer import CompanyImporter

IMPORT_SYSTEM = "colcw-import"
# Host events fired by an import carry this actor, so colcw's own event handlers can ignore them.
IMPORT_ACTOR = system_actor(IMPORT_SYSTEM)

# The host's own limits (its columns), the ones its unit of work checks: a value too long is a failed record.
_CUSTOMER_LIMITS = column_limits(Customer)
_CONTACT_LIMITS = column_limits(Contact)
_COMPANY_LABELS = COMPANY.labels
_CONTACT_LABELS = CONTACT_TABLE.labels
# The two checks against them, their columns worked out once (each import checks every company and contact).
_CUSTOMER_LENGTHS = M.HostLengths(_CUSTOMER_LIMITS, _COMPANY_LABELS)
_CONTACT_LENGTHS = M.HostLengths(_CONTACT_LIMITS, _CONTACT_LABELS)
# A host value compared with no state spelled otherwise than ConnectWise's: its state list is not needed (a country or
# site spelled otherwise is the same without it).
_NO_STATES = StateList(())
NOT_COMPARED = ("is_default",)  # the default contact is the company's choice, not a contact field (as live updates)
# What a customer's result says of ConnectWise's values a bulk import did not take: live updates' words
# (sync/inbound/customers.py ``CustomerPlanner._outcome``), which this package may not import.
NOT_TAKEN = "changed in ConnectWise, not taken (ChannelOnline is the master for customer data)"


def keep_host_values(values: dict, host: dict) -> list[str]:
    """A person's import of one company (the popup's Replace) with ChannelOnline the master for customer data, or a
    contact's first link with ConnectWise the master (:meth:`CompanyImport._plan`): a ConnectWise field that is blank
    (or maps to blank, as the site "Main" does to the location code) does not erase the host's value
    (:func:`..shared.first_link.blanks_kept`, live updates' rule too). Returns the fields kept so. (A bulk import
    with ChannelOnline the master keeps every value of an existing customer: :attr:`CompanyImport.keep`.)"""
    kept = blanks_kept(values, host)
    for key in kept:
        values[key] = host[key]
    return kept


def imported_values(theirs: Mapping[str, Any], host: Mapping[str, Any], cw_master: bool) -> dict[str, Any]:
    """What a person's import of one company writes into an existing customer, but for one whose link agrees on
    values with ConnectWise the master (live updates' rule then: :func:`master_taken`): ConnectWise's values
    (``theirs``), every one with ConnectWise the master, a blank erasing the customer's value (a customer the popup
    links to import it, or one linked by its account number or by Map customers); with ChannelOnline the master a
    blank keeps the customer's (:func:`keep_host_values`). One definition for what the import writes
    (:meth:`CompanyImport._apply`) and what the popup's "After linking" column shows (:func:`.lookup.looks_like`)."""
    values = dict(theirs)
    if not cw_master:
        keep_host_values(values, host)
    return values


def shown(value: Any) -> str:
    """A value in a result's words, as live updates show it: “Acme”, (blank), yes / no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"“{value}”" if value not in ("", None) else "(blank)"


Difference = M.Diff  # a field ConnectWise holds otherwise than the host, changed since the last agreement


def differences(host: Mapping[str, Any], cw: Mapping[str, Any], base: Mapping[str, Any] | None,
                labels: Mapping[str, str]) -> list[Difference]:
    """Live updates' rule (:func:`..shared.fields.compare`), the default contact aside (the company's choice, not a
    contact field)."""
    return M.compare(host, {k: v for k, v in cw.items() if k not in NOT_COMPARED}, base, labels)


agreed = M.agreed


def not_taken(diffs: list[Difference]) -> str:
    """The differences a bulk import did not take, in live updates' words."""
    plain = [d for d in diffs if not d.conflict]
    parts = [f"{NOT_TAKEN}: " + ", ".join(f"{d.label} {shown(d.cw)} (ChannelOnline: {shown(d.host)})"
                                         for d in plain)] if plain else []
    parts += [f"{d.label} changed on both sides: kept ChannelOnline's {shown(d.host)} (the master); ConnectWise "
              f"has {shown(d.cw)}" for d in diffs if d.conflict]
    return "; ".join(parts)


def master_taken(host: Mapping[str, Any], diffs: list[Difference]) -> dict[str, Any]:
    """ConnectWise the master, an existing customer or contact with an agreement: the host's values with the fields
    ConnectWise changed since the agreement taken (``diffs``: :func:`differences`), as live updates take them. A field
    only ChannelOnline changed stays: the next export sends it."""
    return {**host, **{d.field: d.cw for d in diffs}}


def own_edits(host: Mapping[str, Any], held: Mapping[str, Any], cw: Mapping[str, Any], diffs: list[Difference],
              labels: Mapping[str, str]) -> str:
    """The host's own edits an import under ConnectWise the master kept (``held``: the host's values as ConnectWise
    holds them, differing from ConnectWise's ``cw`` where ConnectWise did not change the field): "Company Fax
    “512-555-0199”, Company City “Tulsa”"; "" when none."""
    return ", ".join(own_edit_list(host, held, cw, diffs, labels))


def own_edit_list(host: Mapping[str, Any], held: Mapping[str, Any], cw: Mapping[str, Any], diffs: list[Difference],
                  labels: Mapping[str, str]) -> list[str]:
    """:func:`own_edits`, one per field (the import popup lists them too)."""
    taken = {d.field for d in diffs}
    return [f"{labels.get(k, k)} {shown(host.get(k))}" for k, v in cw.items()
            if k not in NOT_COMPARED and k not in taken and held.get(k) != v]


def master_said(old: Mapping[str, Any], new: Mapping[str, Any], diffs: list[Difference] | None, own: str,
                labels: Mapping[str, str]) -> list[str]:
    """What an import wrote into an existing customer or contact, for its result: each field changed old → new, with
    ConnectWise the master the fields changed on both sides in live updates' words (ConnectWise's value kept) and
    the host's own edits kept (``own``: :func:`own_edits`)."""
    conflicts = [d for d in diffs or () if d.conflict]
    skip = {d.field for d in conflicts}
    plain = changed_values(old, {k: v for k, v in new.items() if k not in skip}, labels)
    return ([f"changed {plain}"] if plain else []) + [
        f"{d.label} changed on both sides: kept ConnectWise's {shown(d.cw)} (the master); ChannelOnline had "
        f"{shown(d.host)}" for d in conflicts] + ([KEPT_OWN + own] if own else [])


KEPT_OWN = "kept ChannelOnline's own edits, not exported yet (the next export sends them): "


def changed_values(old: Mapping[str, Any], new: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    """The fields an import changed, old → new: "Company Name “Bayview” → “Bayview, LLP”" (the run log says what
    to put back)."""
    return ", ".join(f"{labels.get(k, k)} {shown(old.get(k))} → {shown(v)}" for k, v in new.items()
                     if k not in NOT_COMPARED and old.get(k) != v)


def is_own_import(actor: dict | None) -> bool:
    """True for host events fired by colcw's import (colcw must not react to its own writes)."""
    return bool(actor) and actor.get("system") == IMPORT_SYSTEM


def host_match(contacts: Iterable[tuple[int, Mapping[str, Any]]]) -> SamePerson:
    """Which host contact linked to no ConnectWise contact an import updates for a ConnectWise contact without a link:
    the same person (:class:`~colcw_plugin.setup.customer_matching.SamePerson`, the export's rule too) among
    ``contacts`` (host id, values), in id order. The import's (:meth:`CompanyImport._plan`), and the import popup's,
    which says what it would overwrite (lookup)."""
    return SamePerson((hid, v.get("first_name"), v.get("last_name"), v.get("email")) for hid, v in contacts)


def same_person(match: SamePerson, values: Mapping[str, Any]) -> int | None:
    return match.match(values.get("first_name"), values.get("last_name"), values.get("email"))


@dataclass
class HostCustomer:
    values: dict
    contacts: dict[int, dict]  # host contact id -> values
    edited_at: dt.datetime | None = None  # when the customer or one of its contacts was last saved in the host


@dataclass
class PageData:
    contacts: dict[int, list[dict]]
    links: dict[int, LinkRow]
    contact_links: dict[int, LinkRow]
    by_account: dict[str, int]
    hosts: dict[int, HostCustomer]
    host_links: dict[int, LinkRow]
    host_contact_links: dict[int, LinkRow]
    notes: dict[int, list[Note]] = field(default_factory=dict)  # the page's customers' notes, by customer
    linked_hosts: set[int] | None = None  # host contacts linked to some ConnectWise contact
    # Host contacts the page's contact links point at that ChannelOnline no longer holds: deleted there since.
    deleted_contacts: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if self.linked_hosts is None:
            self.linked_hosts = {row.host_id for row in self.host_contact_links.values()}


def with_contacts(n: int) -> str:
    """How a company's result names the contacts it stands for (they have no result of their own)."""
    return f", with its {n} contact{'s' if n != 1 else ''}" if n else ""


def company_label(record: dict) -> str:
    """How results and messages name a ConnectWise company: "Acme Ltd (ACME)"."""
    return f"{record.get('name')} ({record.get('identifier')})"


def linked_company(link: LinkRow) -> str:
    """The ConnectWise company a customer's link points at, as people know it: "CW0001 (Northwind Dental Group)"
    (its Company ID and its name as last synced), the Company ID alone, or its record id when neither is known."""
    name = str((link.synced_values or {}).get("name") or "")
    if not link.cw_identifier:
        return f"{name} (ConnectWise record id {link.cw_id})" if name else f"ConnectWise record id {link.cw_id}"
    return f"{link.cw_identifier} ({name})" if name else link.cw_identifier


def _as_linked(record: dict) -> str:
    """A company a new customer is created from, as :func:`linked_company` names it once linked: "CW0004 (Northwind
    Dental)"."""
    ident, name = str(record.get("identifier") or ""), str(record.get("name") or "")
    return f"{ident} ({name})" if name else ident


def not_saved(record: dict, detail: str) -> dict:
    """The outcome of a company the host did not save (its errors, or the database's refusal)."""
    label = company_label(record)
    return {"entity": CUSTOMER, "action": "failed", "host_id": None, "cw_id": record["id"], "label": label,
            "message": f"{label} could not be saved in ChannelOnline: {detail}",
            "resolution": "Correct the company in ConnectWise (or the clashing customer in ChannelOnline) and "
                          "import again.", "advance": True}


class CompanyImport:
    """One company and its contacts (a helper of :class:`~.importer.CompanyImporter`): :meth:`prepare`
    decides and either ends with its outcomes or leaves a :attr:`write` for the page's bulk save, after
    which :meth:`finish` writes the links and the outcomes. Its writes go into the page's ``writes``."""

    def __init__(self, owner: CompanyImporter, record: dict, page: PageData, explicit: bool, writes: PageWrites):
        self.owner, self.record, self.page, self.explicit = owner, record, page, explicit
        self.batch = writes
        self.label = company_label(record)
        self.cid = record["id"]
        self.theirs: dict[int, dict] = {}  # ConnectWise contact id -> its values as ConnectWise holds them
        self.stale: list[int] = []  # links to drop once the company is saved (their host record is gone)
        self.write: CustomerWrite | None = None
        self.outcomes: list[dict] = []
        self._then: dict = {}
        self._look_alike: tuple | None = None  # as the likely duplicates keep a customer about to be created
        self._looked: tuple | None = None  # (name, phone, new keys): what the likely duplicates said of the company
        # ChannelOnline the master for customer data, a bulk import of an existing customer: it keeps the customer's
        # values (its account number and default contact too) and reports ConnectWise's differing ones as live
        # updates do (drift rows, "not taken"); a person's import from the popup (explicit) takes ConnectWise's.
        self.keep = False
        self.kept: list[Difference] = []  # the customer's fields not taken
        self.contacts_kept: dict[int, list[Difference]] = {}  # by ConnectWise contact id
        self.agreements: dict[int, dict] = {}  # ConnectWise contact id -> what both sides agree on (kept contacts)
        # ConnectWise the master, an existing customer with an agreement: the host's own edits kept (the run log's
        # words, by ConnectWise contact id for contacts, 0 for the customer), and the conflicts ConnectWise won.
        self.own: dict[int, str] = {}
        self.diffs: dict[int, list[Difference]] = {}  # what ConnectWise changed since the agreement, taken
        # ConnectWise the master: its default contact, changed since the agreement, taken (changed on both sides: a
        # conflict, noted on the customer page as live updates note it)
        self.default_taken: list[Difference] = []
        self.drift: list[dict] = []  # RecordDrift rows, written with the page once the company is saved
        self.cw_values: dict = {}  # the company's values as ConnectWise holds them (the default contact's name too)
        # ConnectWise contacts whose linked ChannelOnline contact was deleted there: a bulk import leaves them out (as
        # live updates do), an import of the company by its Company ID re-creates them (ConnectWise contact ids).
        self.left_out: list[tuple[dict, LinkRow]] = []  # (with their links: marked once reported)
        self.outcomes_moved: list[dict] = []  # ConnectWise contacts linked to another customer's contact (moved)
        self.recreated: set[int] = set()
        # ConnectWise the master, contacts linked for the first time (no earlier agreement) whose host values were kept
        # where ConnectWise's are blank: the link agrees on the blank, so the next export fills them in (by ConnectWise
        # contact id, the fields). Changes of the host's own still to export (:meth:`_host_left`).
        self.blanks_kept: dict[int, list[str]] = {}

    def _out(self, action: str, host_id: int | None, message: str, resolution: str = "",
             entity: str = CUSTOMER, cw_id: int | None = None, label: str | None = None) -> dict:
        return {"entity": entity, "action": action, "host_id": host_id,
                "cw_id": self.cid if cw_id is None else cw_id, "label": label or self.label,
                "message": message, "resolution": resolution, "advance": entity == CUSTOMER}

    def prepare(self) -> None:
        """Decide what to do: either :attr:`outcomes` are final, or :attr:`write` waits for the save."""
        self.outcomes = self._run() or []

    def finish(self, saved: CustomerSaved) -> None:
        """The page's save answered for :attr:`write`: write the links and say what happened."""
        if not saved.saved:
            self.outcomes = [not_saved(self.record, "; ".join(saved.errors.values()))]
            return
        # The contacts given without an id were created: their new ids, in the order given.
        contact_ids = {c["id"]: new_id for (c, hid, _), new_id in zip(self._then["contact_changes"],
                                                                      saved.contact_ids, strict=False) if hid is None}
        if saved.created:
            self.owner.duplicates.saved(self._look_alike, saved.id)
        self.outcomes = self._saved(saved.id, contact_ids, "created" if saved.created else "updated")

    def _run(self) -> list[dict] | None:
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
                # Deleted in ChannelOnline: not re-created behind the rep's back. Reported once, by the first bulk
                # import after the delete, which marks its link missing_in_host; later ones leave it out without a
                # word (as a contact deleted there: _deleted_here).
                if link.status == "missing_in_host":
                    self.owner.recorder.advance()
                    return []
                self.batch.mark(link, "missing_in_host")
                return [self._out("skipped", link.host_id,
                                  f"{self.label}: the ChannelOnline customer linked to it was deleted; it was not "
                                  "re-created.",
                                  f"To import it again, use Import From ConnectWise with Company ID {ident} (this "
                                  "re-creates and re-links it).")]
            else:
                self.stale.append(link.id)
                link = None
                notes.append("re-linked (the customer it was linked to had been deleted in ChannelOnline)")
        if host_id is None:
            host_id = page.by_account.get(ident)
            other = page.host_links.get(host_id) if host_id else None
            if other is not None and other.cw_id != self.cid:
                return [self._out("failed", host_id,
                                  f"{self.label}: ChannelOnline customer {ident} is already linked to another "
                                  f"ConnectWise company, {linked_company(other)}.",
                                  "Clear that customer's link or change one of the two account numbers, then import "
                                  "again.")]
            if host_id is not None:
                notes.append(f"linked to the existing customer with account number {ident}")
            elif not self.explicit:
                name, phone = str(record.get("name") or ""), str(record.get("phoneNumber") or "")
                like, new_keys = self.owner.duplicates.look(name, phone)
                self._looked = (name.strip(), phone.strip(), new_keys)
                if like is not None:
                    # Failed, as the export's look-alike: it waits for a person to map it, so the run says "Partly
                    # failed" (a skipped record is one colcw left as it is on purpose) and Retry lists it.
                    other, why = like
                    linked_to = self._linked_to(other)
                    if linked_to:
                        # No customer to map it to: Map customers' likely duplicate in ConnectWise, and its advice.
                        return [self._out("failed", None,
                                          f"{self.label}: not imported: it looks like the ChannelOnline customer "
                                          f"{other.label} ({why}), which is already linked to ConnectWise company "
                                          f"{linked_to}: this company may be a duplicate in ConnectWise.",
                                          LINKED_LOOK_ALIKE_FIX)]
                    return [self._out("failed", None,
                                      f"{self.label}: not imported: it looks like the ChannelOnline customer "
                                      f"{other.label} ({why}), so a new customer would be a duplicate.",
                                      "Map the company to that customer (Admin → Integration → ConnectWise → Map "
                                      "customers), or import it on its own by its Company ID if it is another "
                                      "company.")]
        return self._apply(host_id, link, notes)

    def _linked_to(self, other: MatchLookAlike) -> str:
        """The ConnectWise company the customer this company looks like is linked to ("CW0001 (Northwind Dental)",
        "" when none): by its link, or by this import (a customer it creates from another company, or one another
        company of this page has by Company ID = account number: linked with the page)."""
        if other.id == 0:
            return other.linked_to
        link = by_host(self.owner.session, CUSTOMER, [other.id]).get(other.id)
        if link is not None:
            return linked_company(link)
        return next((account for account, host_id in self.page.by_account.items() if host_id == other.id), "")

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
        values = self.owner.company_values(record)
        existing = page.hosts.get(host_id) if host_id else None
        if existing is not None or link is not None:  # (neither: nothing to keep, a first import's every company)
            # (the link's agreement: the company's site an export took for the customer's Location Code holds it)
            M.keep_default_site_name(values, existing.values if existing else None,
                                     link.synced_values if link is not None else None)
        theirs = dict(values)  # what ConnectWise holds
        agreement = theirs  # what both sides agree on once saved: the agreement the link keeps
        self.keep = existing is not None and not self.explicit and not self.owner.cw_master
        if existing is not None and self.keep:
            base = self._held(link.synced_values, theirs, COMPANY) if link is not None else None
            held = self._held(existing.values, theirs, COMPANY)
            base = self._unfinished_site(base, theirs, held)
            self.kept = [Difference(d.field, d.label, existing.values.get(d.field), d.cw, d.conflict)
                         for d in differences(held, theirs, base, _COMPANY_LABELS)]
            agreement = agreed(held, theirs, base)
            if link is not None and D.FIELD in (link.synced_values or {}):
                agreement[D.FIELD] = link.synced_values[D.FIELD]  # ChannelOnline's default kept on the customer page
            values = {**theirs, **existing.values}  # the customer's, every one (its account number too)
        elif existing is not None and self.owner.cw_master and link is not None and link.synced_values is not None:
            # Live updates' rule: what ConnectWise changed since the agreement is taken, what only ChannelOnline
            # changed is kept for the next export; the link agrees on ConnectWise's values (``theirs``).
            base = self._held(link.synced_values, theirs, COMPANY)
            held = self._held(existing.values, theirs, COMPANY)
            base = self._unfinished_site(base, theirs, held)
            diffs = [Difference(d.field, d.label, existing.values.get(d.field), d.cw, d.conflict)
                     for d in differences(held, theirs, base, _COMPANY_LABELS)]
            values = master_taken(existing.values, diffs)
            self.own[0] = own_edits(existing.values, held, theirs, diffs, _COMPANY_LABELS)
            self.diffs[0] = diffs
        elif existing is not None:  # ConnectWise the master and nothing agreed, or ChannelOnline the master
            values = imported_values(values, existing.values, self.owner.cw_master)
        if link is not None:  # the site taken for the customer's Location Code stays taken
            agreement = M.with_site_choice(agreement, link.synced_values)
        default, default_cw = self._default_contact(existing, link)
        if self.keep:
            self.kept += default  # noted, not taken, as live updates note it (shared/default_contact.py)
        elif self.owner.cw_master:
            self.default_taken = default  # taken; a conflict is noted (shared/notes.py)
        self.cw_values = {**theirs, **default_cw}
        cw_contacts = [c for c in page.contacts.get(self.cid, []) if not c.get("inactiveFlag")]
        default_id = (record.get("defaultContact") or {}).get("id")
        problems = _CUSTOMER_LENGTHS.problems(values, self.label)
        if not values.get("name") or not values.get("account_number"):
            problems.append((f"{self.label} has no name or Company ID.", "Enter them in ConnectWise and import again."))
        plan = self._plan(cw_contacts, default_id, existing, problems)
        if problems:
            return [self._out("failed", host_id, *M.join(problems))]
        has_default = any("is_default" in v for _, _, v in plan)
        if existing is None:  # a new customer (a first import's every one): all its values, all its contacts (new)
            changed, contact_changes = list(values), list(plan)
        else:
            changed = [k for k, v in values.items() if existing.values.get(k) != v]
            contact_changes = [(c, hid, v) for c, hid, v in plan
                               if hid is None or any(existing.contacts[hid].get(k) != x for k, x in v.items())]
        demote = []
        if has_default and existing and not self.keep:
            chosen = {hid for _, hid, v in plan if v.get("is_default")}
            demote = [hid for hid, v in existing.contacts.items() if v.get("is_default") and hid not in chosen
                      and hid not in {h for _, h, _ in plan}]
            moved = self._default_moved(existing, plan)
            if moved:
                notes.append(moved)
        self._then = {"link": link, "values": values, "theirs": agreement, "plan": plan, "existing": existing,
                      "changed": changed, "contact_changes": contact_changes, "notes": notes}
        if existing is not None and not changed and not contact_changes and not demote:
            return self._saved(host_id, {}, "unchanged")
        # (a new contact's values as planned: the host's save reads them, changes nothing in them, nor does this import)
        data = [{**v, "id": hid} if hid else v for c, hid, v in contact_changes]
        data += [{"id": hid, "is_default": False} for hid in demote]
        self.write = CustomerWrite(values, data, customer_id=host_id)
        if existing is None:  # a later company of this page that looks like it is a likely duplicate
            phone = values.get("phone", "")
            looked = self._looked  # its keys, when the look was of the name and phone it is saved with
            new_keys = looked[2] if looked is not None and looked[:2] == (values["name"], phone) else None
            self._look_alike = self.owner.duplicates.add(MatchCustomer(0, values["name"], values["account_number"],
                                                                       phone, "", linked_to=_as_linked(record)),
                                                         new_keys)
        return None

    @staticmethod
    def _default_moved(existing: HostCustomer, plan: list[tuple[dict, int | None, dict]]) -> str:
        """The run log's words when the import moves an existing customer's default contact (ConnectWise's is taken):
        "default contact now Ana Ruiz, was Lucas O'Brien"; "" when it stays."""
        was = next((hid for hid, v in existing.contacts.items() if v.get("is_default")), None)
        now = next(((hid, v) for _, hid, v in plan if v.get("is_default")), None)
        if now is None or (now[0] is not None and now[0] == was):
            return ""

        def name(v: Mapping[str, Any]) -> str:
            return D.person(v.get("first_name"), v.get("last_name"))

        return D.moved_words(name(now[1]), name(existing.contacts[was]) if was else None)  # (live updates' words too)

    def _saved(self, host_id: int, contact_ids: dict[int, int], action: str) -> list[dict]:
        """The customer is saved (or unchanged): its links, drift and outcomes."""
        t = self._then
        record, page, existing, notes = self.record, self.page, t["existing"], t["notes"]
        for link_id in self.stale:
            self.batch.delete(link_id)
        if existing is not None and action != "unchanged":
            notes += master_said(existing.values, {k: t["values"][k] for k in t["changed"]}, self.diffs.get(0),
                                 self.own.get(0, ""), _COMPANY_LABELS)
        elif self.own.get(0):
            notes.append(KEPT_OWN + self.own[0])
        written = action != "unchanged"
        link = t["link"]
        # Kept with edits of the host's own not exported yet (saved after the link's last sync): the link keeps its
        # time, so the customer stays "Changed since export" and the next export sends them.
        edited = link is not None and link.synced_at is not None and existing is not None \
            and existing.edited_at is not None and existing.edited_at > link.synced_at
        pending = self.keep and edited
        if not pending:
            # A customer written (its updated_at now) or imported by a person finding both sides agreeing has its
            # link stamped even when the link holds what it held: an import that puts back the values of the last sync
            # (the rep's edits replaced) otherwise leaves the customer "changed since export", which is no longer true.
            # With ConnectWise the master, the host's own edits it kept (or contacts it holds that the company does
            # not) leave the link's time as it was: the link agrees on ConnectWise's values, the customer stays
            # "Changed since export", and its next export sends them, as after a live update. So do a contact's values
            # kept over ConnectWise's blanks at its first link, edited since the last sync or not (the link agrees on
            # the blanks: the export fills them in); the customer written meanwhile then says "Changed since export".
            self.batch.put(link, CUSTOMER, host_id, self.cid, cw_identifier=str(record.get("identifier") or ""),
                           fingerprint=fingerprint(t["values"]), cw_last_updated=M.last_updated(record),
                           values=t["theirs"], force=written or self.explicit,
                           keep_time=self.owner.cw_master and existing is not None
                           and ((edited and self._host_left(existing)) or bool(self.blanks_kept)), handed=True,
                           synced_before=self._left_since(existing) if link is None else None)
        noted = self.kept or [*self.diffs.get(0, []), *self.default_taken]
        self.drift = self._drift_rows(CUSTOMER, host_id, host_id, self.cid, noted)
        read = {(CUSTOMER, host_id): (self.cw_values, {d.field for d in noted})}
        changed_cw = {c["id"] for c, _, _ in t["contact_changes"]}
        outcomes: list[dict] = []
        folded = 0
        for c, hid, v in t["plan"]:
            hid = hid or contact_ids.get(c["id"])
            if hid is None:
                continue
            row = page.contact_links.get(c["id"])
            row = row if row is not None and row.host_id == hid else None
            agreement = self.agreements.get(c["id"], self.theirs.get(c["id"], v))
            made = M.made_in(row.synced_values) if row is not None else None
            if agreement is not None and made is not None:  # the run that created it, as the company's link keeps it
                agreement = {**agreement, M.MADE: made}  # (M.with_site_choice): its later passes still say "created"
            written = (row.synced_values or {}).get(M.WRITTEN) if row is not None else None
            if agreement is not None and written:  # the versions colcw's own writes produced, as the company's link
                agreement = {**agreement, M.WRITTEN: list(written)}  # keeps them: their callbacks are not read back
            self.batch.put(row, CONTACT, hid, c["id"], fingerprint=fingerprint(v), cw_last_updated=M.last_updated(c),
                           values=agreement, handed=True)  # (nothing changes an agreement once made)
            if action == "created":  # a new customer's contacts are all new: its result says how many
                folded += 1
                continue
            who = f"{c.get('firstName', '')} {c.get('lastName', '')}".strip()
            label = f"{who} ({record.get('name')})"
            kept = self.contacts_kept.get(c["id"], [])
            noted = kept or self.diffs.get(c["id"], [])
            self.drift += self._drift_rows(CONTACT, hid, host_id, c["id"], noted)
            read[(CONTACT, hid)] = (self.theirs.get(c["id"], v), {d.field for d in noted})
            c_action = ("created" if c["id"] in contact_ids else "updated") if c["id"] in changed_cw else "unchanged"
            said = c_action
            if c["id"] in self.recreated and c_action == "created":
                said = "created again (it had been deleted in ChannelOnline; this import of the company by its " \
                       "Company ID re-creates it)"
            if c_action == "updated" and existing is not None and hid in existing.contacts:
                parts = master_said(existing.contacts[hid], v, self.diffs.get(c["id"]), self.own.get(c["id"], ""),
                                    _CONTACT_LABELS)
                said = f"updated: {'; '.join(parts)}" if parts else "updated"
            elif self.own.get(c["id"]):
                said = f"{said}; {KEPT_OWN}{self.own[c['id']]}"
            if kept:
                said = f"{said + '; ' if c_action != 'unchanged' else ''}{not_taken(kept)}"
                c_action = "skipped" if c_action == "unchanged" else c_action
            outcomes.append(self._out(c_action, hid, f"{label}: {said}.", HOST_MASTER_DRIFT_FIX if kept else "",
                                      entity=CONTACT, cw_id=c["id"], label=label))
        self._end_notes(host_id, read, existing)
        outcomes += self._missing_contacts(existing)
        outcomes += [self._deleted_here(c, link) for c, link in self.left_out]
        outcomes += self.outcomes_moved
        if self.kept:
            notes.append(not_taken(self.kept))
            action = "skipped" if action == "unchanged" else action
        message = f"{self.label}: " + ("; ".join(notes) if notes else action) + with_contacts(folded) + "."
        fix = HOST_MASTER_DRIFT_FIX if self.kept else ""
        return [{**self._out(action, host_id, message, fix), "contacts": folded}, *outcomes]

    def _left_since(self, existing: HostCustomer | None):
        """ConnectWise the master, an existing customer this import links for the first time (no link to keep its
        time): when it still holds changes of its own once imported (:meth:`_host_left`), the time its new link's
        sync must come before, so that it says "Changed since export" (its last save in the host, before this
        import's); else None."""
        if not self.owner.cw_master or existing is None or existing.edited_at is None \
                or not self._host_left(existing):
            return None
        return existing.edited_at

    def _host_left(self, existing: HostCustomer) -> bool:
        """ConnectWise the master: the customer edited in ChannelOnline since its last sync still holds changes of its
        own once imported: edits kept (its own, a contact's), a contact's values kept over ConnectWise's blanks at its
        first link (:attr:`blanks_kept`: the link agrees on the blanks, the export fills them in), or contacts the
        company's do not stand for (added in ChannelOnline, or linked to a contact ConnectWise no longer holds).
        Otherwise the import settled them all."""
        planned = {hid for _, hid, _ in self._then["plan"] if hid is not None}
        return any(self.own.values()) or bool(self.blanks_kept) or any(hid not in planned for hid in existing.contacts)

    def _drift_rows(self, entity: str, host_id: int, customer_id: int, cw_id: int,
                    diffs: list[Difference]) -> list[dict]:
        """The customer page's notes (RecordDrift rows, live updates' definition: :mod:`..shared.notes`): ConnectWise
        values not taken with ChannelOnline the master, the fields changed on both sides with ConnectWise the
        master."""
        if not diffs:  # (nothing to note: a new customer's every record)
            return []
        run_id = self.owner.ctx.run_id
        return [{**row, "run_id": run_id} for row in N.rows(entity, host_id, customer_id, cw_id, diffs,
                                                             self.owner.cw_master and not self.keep)]

    def _end_notes(self, host_id: int, read: Mapping[tuple[str, int], tuple[Mapping[str, Any], set[str]]],
                   existing: HostCustomer | None) -> None:
        """Forget the customer's notes this import settled, as a live update reading the same records would
        (:func:`..shared.notes.stays`): ``read`` holds, per record the import read, ConnectWise's values and the fields
        it noted. The notes of records it did not read stay (a conflict whose ConnectWise value was taken stays until
        the customer is exported, the master changes or ConnectWise changes the field again); those of contacts since
        deleted in ChannelOnline go with any other change of the notes."""
        notes = self.page.notes.get(host_id, ())
        if not notes:  # (none to forget: a new customer's, and most others')
            return
        cw_master = self.owner.cw_master and not self.keep
        ended = [n.id for n in notes if (n.entity, n.host_id) in read
                 and not N.stays(n.field, n.kept, n.cw_value, *read[(n.entity, n.host_id)], cw_master)]
        if ended or self.drift:
            held = existing.contacts if existing is not None else {}
            ended += [n.id for n in notes if n.entity == CONTACT and n.host_id not in held and n.id not in ended]
        self.batch.end_notes(ended)

    def _default_contact(self, existing: HostCustomer | None,
                         link: LinkRow | None) -> tuple[list[Difference], dict[str, str]]:
        """The company's default contact compared with the customer's, as live updates compare it
        (:func:`..shared.default_contact.differences`): with ChannelOnline the master a bulk import notes ConnectWise's
        differing default ("Default contact … not taken"); and ConnectWise's as a note holds it."""
        if existing is None:
            return [], {}
        links = {hid: self.page.host_contact_links[hid] for hid in existing.contacts
                 if hid in self.page.host_contact_links}
        return D.differences(D.cw_default(self.record),
                             {hid: (D.person(v.get("first_name"), v.get("last_name")), bool(v.get("is_default")))
                              for hid, v in existing.contacts.items()},
                             {hid: (ln.cw_id, ln.status, ln.synced_values) for hid, ln in links.items()},
                             link.synced_values if link is not None else None)

    def _plan(self, cw_contacts: list[dict], default_id: int | None, existing: HostCustomer | None,
              problems: list) -> list[tuple[dict, int | None, dict]]:
        """Each ConnectWise contact with the host contact it updates (None: a new one) and its values.

        ConnectWise the master, a contact's first link (the same person matched, or a link agreeing on nothing): its
        blanks erase nothing (:func:`keep_host_values`, live updates' rule too), and its differing values are taken
        with no note on the customer page, where live updates' first link of a contact notes them ("differs; no
        earlier agreement", sync/inbound/customers.py ``_compared``). On purpose: an import says what it replaced in
        its run log, each field old → new (:func:`master_said`; README: "The run log lists each change as old → new"),
        and notes on the customer page, with ConnectWise the master, only the fields changed on both sides since an
        agreement (README: "A field the link has no agreement on ... takes ConnectWise's value"); the customer's own
        fields linked for the first time in the same import are taken so too, and a note for the contact's alone
        would tell the two apart
        (tests/customers/test_bulk_import_keeps_host_master.py: no note after such an import)."""
        page = self.page
        has_default = bool(default_id) or any(c.get("defaultFlag") for c in cw_contacts)
        linked_hosts = page.linked_hosts
        # The host's default contact stays when the customer keeps its values (ChannelOnline the master, bulk).
        host_default = self.keep and existing is not None and any(v.get("is_default")
                                                                   for v in existing.contacts.values())
        # (a new customer has no contacts to match: its 2.5 contacts a company were each looked up in an empty match)
        same = host_match((hid, v) for hid, v in existing.contacts.items()
                          if hid not in linked_hosts) if existing is not None and existing.contacts else None
        plan = []
        for c in cw_contacts:
            values = self.owner.contact_values(c, default_id)
            if not has_default:
                values.pop("is_default")
            # (a new customer's contact values change no more: its agreement is the same dict, never changed either)
            self.theirs[c["id"]] = dict(values) if existing is not None else values
            if not (values.get("first_name") or values.get("last_name")):
                problems.append((f"{self.label}: contact id {c['id']} has no name.",
                                 "Enter the contact's name in ConnectWise and import again."))
            problems += _CONTACT_LENGTHS.problems(
                values, lambda v=values: f"{self.label}, contact {v.get('first_name')} {v.get('last_name')}".strip())
            link = page.contact_links.get(c["id"])
            hid = None
            if link is not None and existing and link.host_id in existing.contacts:
                hid = link.host_id
            elif link is not None and existing is not None and link.host_id in page.deleted_contacts \
                    and not self.explicit:
                # Deleted in ChannelOnline: not re-created behind the rep's back (live updates leave it too; the
                # export reports it, or marks it inactive in ConnectWise with ChannelOnline the master). Reported
                # once, by the first import after the delete, which marks its link missing_in_host (_deleted_here);
                # later imports leave it out without a word, as later passes leave a deletion the mass-delete guard
                # held back.
                if link.status != "missing_in_host":
                    self.left_out.append((c, link))
                continue
            elif link is not None and (there := self._linked_elsewhere(link)) is not None:
                # Its ChannelOnline contact is another customer's: moved to this company in ConnectWise. Not made a
                # second ChannelOnline contact (the link stays with the first, so no export re-creates the person).
                self.outcomes_moved.append(self._moved_here(c, link, there))
                continue
            elif link is not None:
                if existing is not None and link.host_id in page.deleted_contacts:
                    self.recreated.add(c["id"])
                # The linked host contact is gone (or belongs elsewhere): start this contact afresh.
                self.stale.append(link.id)
                page.contact_links.pop(c["id"], None)
                link = None
            else:
                hid = same_person(same, values) if same is not None else None
            if hid is not None:
                same.take(hid)
                host = existing.contacts[hid]
                if self.keep:
                    values = self._keep_contact(c["id"], values, host, link, host_default)
                elif self.owner.cw_master and link is not None and link.synced_values is not None:
                    values = self._master_contact(c["id"], values, host, link)
                else:
                    # ChannelOnline the master; or ConnectWise the master at the contact's first link (the same
                    # person matched, or a link agreeing on nothing): no earlier agreement, so a blank of
                    # ConnectWise's (a contact typed there without an e-mail) erases nothing, as live updates' first
                    # link of a contact (sync/inbound/customers.py ``_same_person``). The host keeps its value, the
                    # link agrees on ConnectWise's blank (:attr:`theirs`), and the next export fills it in.
                    kept = keep_host_values(values, host)
                    if kept and self.owner.cw_master:
                        self.blanks_kept[c["id"]] = kept
            elif host_default and "is_default" in values:
                values["is_default"] = False  # a contact added to the customer does not take its default's place
            plan.append((c, hid, values))
        return plan

    def _keep_contact(self, cw_id: int, theirs: dict, host: dict, link: LinkRow | None, host_default: bool) -> dict:
        """A contact of a customer that keeps its values: the host contact's values (its default flag unless the
        customer has no default contact), ConnectWise's differing ones noted, and what both sides agree on."""
        compared = {k: v for k, v in theirs.items() if k not in NOT_COMPARED}
        base = self._held(link.synced_values, compared, CONTACT_TABLE) if link is not None else None
        held = self._held({k: v for k, v in host.items() if k not in NOT_COMPARED}, compared, CONTACT_TABLE)
        self.contacts_kept[cw_id] = [Difference(d.field, d.label, host.get(d.field), d.cw, d.conflict)
                                     for d in differences(held, compared, base, _CONTACT_LABELS)]
        self.agreements[cw_id] = {**(base or {}), **theirs, **agreed(held, compared, base)}
        if link is not None and "is_default" in (link.synced_values or {}):
            # (the default contact is the company's choice, noted there: the agreement on it stays, as live updates
            # leave it, so a later reading notes ConnectWise's default again while the two differ)
            self.agreements[cw_id]["is_default"] = link.synced_values["is_default"]
        values = {k: host.get(k, v) for k, v in theirs.items()}
        if "is_default" in theirs and not host_default:
            values["is_default"] = theirs["is_default"]
        return values

    def _master_contact(self, cw_id: int, theirs: dict, host: dict, link: LinkRow) -> dict:
        """ConnectWise the master, a linked contact: what ConnectWise changed since the link's agreement is taken,
        what only ChannelOnline changed is kept (live updates' rule), and ConnectWise's default flag. The link then
        agrees on ConnectWise's values (:attr:`theirs`)."""
        compared = {k: v for k, v in theirs.items() if k not in NOT_COMPARED}
        base = self._held({k: v for k, v in (link.synced_values or {}).items() if k not in NOT_COMPARED}, compared,
                          CONTACT_TABLE)
        held = self._held({k: v for k, v in host.items() if k not in NOT_COMPARED}, compared, CONTACT_TABLE)
        diffs = [Difference(d.field, d.label, host.get(d.field), d.cw, d.conflict)
                 for d in differences(held, compared, base, _CONTACT_LABELS)]
        self.diffs[cw_id] = diffs
        self.own[cw_id] = own_edits(host, held, compared, diffs, _CONTACT_LABELS)
        values = master_taken({k: host.get(k, v) for k, v in compared.items()}, diffs)
        if "is_default" in theirs:
            values["is_default"] = theirs["is_default"]
        return values

    def _unfinished_site(self, base: dict | None, theirs: Mapping[str, Any], held: Mapping[str, Any] | None) -> Any:
        """The link's agreement ``base`` with an agreed site the company never had read as the site it is on: a site
        step an export left unfinished, not ConnectWise's change (:mod:`..shared.stale_site`, as live updates)."""
        return stale_site.healed(base, theirs, held or {}, self.record, stale_site.has_site(self.owner.client))

    def _held(self, values: Mapping[str, Any] | None, theirs: Mapping[str, Any], table: MappingTable) -> dict | None:
        """``values`` (the host's, or the last agreement) as ConnectWise holds them
        (:func:`~..shared.fields.as_held`), as live updates and the export compare them: a host "Nova Scotia" (or
        "ns") is ConnectWise's "NS", no difference. ConnectWise's state list is read only when a state is spelled
        otherwise than ConnectWise's, at most once per run (:meth:`.importer.CompanyImporter.states`, the shared
        reference cache)."""
        if values is None:
            return None
        spelled = any(r.kind == "state" and r.host_attr and isinstance(values.get(r.host_attr), str)
                      and values[r.host_attr].strip() and values[r.host_attr] != theirs.get(r.host_attr)
                      for r in table.rules)
        return M.as_held(values, theirs, self.owner.states() if spelled else _NO_STATES, table)

    def _deleted_here(self, c: dict, link: LinkRow) -> dict:
        """A bulk import's result for a ConnectWise contact whose ChannelOnline contact was deleted: left out, and its
        link marked missing_in_host (with the customer's save), so that the next imports say nothing more of it."""
        self.batch.mark(link, "missing_in_host")
        who = f"{c.get('firstName') or ''} {c.get('lastName') or ''}".strip() or f"contact {c['id']}"
        label = f"{who} ({self.record.get('name')})"
        return self._out("skipped", None,
                         f"{label}: deleted in ChannelOnline, still active in ConnectWise; not re-created.",
                         "If it should go, mark it inactive in ConnectWise (with ChannelOnline the master for customer "
                         "data, the next export does). To have it back in ChannelOnline, import the company by its "
                         f"Company ID {self.record.get('identifier') or ''} (Import From ConnectWise), which re-creates "
                         "it.", entity=CONTACT, cw_id=c["id"], label=label)

    def _linked_elsewhere(self, link: LinkRow) -> str | None:
        """The customer ("Summit Dental (SUMMIT1)") whose ChannelOnline contact ``link`` links, when that contact still
        exists (None: deleted in ChannelOnline)."""
        row = self.owner.session.execute(select(Customer.name, Customer.account_number).join(
            Contact, Contact.customer_id == Customer.id).where(Contact.id == link.host_id)).first()
        return f"{row.name} ({row.account_number})" if row is not None else None

    def _moved_here(self, c: dict, link: LinkRow, there: str) -> dict:
        """An import's result for a ConnectWise contact linked to a contact of another ChannelOnline customer (moved to
        this company in ConnectWise): left where it is, not created a second time."""
        who = f"{c.get('firstName') or ''} {c.get('lastName') or ''}".strip() or f"contact {c['id']}"
        label = f"{who} ({self.record.get('name')})"
        return self._out("skipped", link.host_id,
                         f"{label}: linked to the ChannelOnline contact {who} of {there}; ConnectWise moved them to "
                         "this company. Not created a second time in ChannelOnline.",
                         f"If they work for {self.record.get('name')} now, delete them from {there} in ChannelOnline "
                         "and import this company again (Import From ConnectWise, by its Company ID "
                         f"{self.record.get('identifier') or ''}); if the move was a mistake, move them back in "
                         "ConnectWise.", entity=CONTACT, cw_id=c["id"], label=label)

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


