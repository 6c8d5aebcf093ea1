"""Linked companies and contacts changed in ConnectWise: what comes back to the host customers.

The rule, field by field, against what both sides agreed on at the last sync (``Link.synced_values``):

* equal on both sides: nothing to do (colcw's own export lands here: no echo);
* changed in ConnectWise only: with ConnectWise as the master for customer data it is taken into
  the host customer or contact; with the host as master it is reported as drift (not taken);
* changed on both sides: a conflict. The master's value stays (ConnectWise's is written into the
  host, or the host's is kept) and the other side's is shown on the customer page and in the run;
* changed in the host only: the next export sends it; nothing comes back;
* different, with no earlier agreement on the field (a link made before links kept one, a field that differed when
  the scan or Map customers linked the company, the first link of a contact the company held when it was linked):
  nothing tells a rep's edit from an old value, so it is handled as a conflict: with ConnectWise the master its value
  is taken and the note keeps ChannelOnline's ("differs; no earlier agreement"), with the host the master it is
  noted, not taken.

A contact added in ConnectWise to a linked company is created in the host (matched first to an
unlinked contact of that customer that is the same person), or reported when the host is the master. A contact the
company held before it was linked (entered in ConnectWise before the link's ``linked_at``: a company linked by
hand with Link to Company ID, or matched by its Company ID) is no addition: the link agreed on the company as it
was, so it is only matched to a contact of the customer that is the same person, never created nor reported. A
contact matched so (held before, or added since) is linked with no earlier agreement: where the two differ, the rule
above, but for a field ConnectWise holds blank, which the host keeps and the next export fills in.
A company or contact deleted (or a contact moved to another company) in ConnectWise marks its
link broken; the host record is kept. Planning writes nothing: :mod:`.reconcile` applies a plan
after the mass-delete guard has seen every break.

What colcw writes into the host from ConnectWise is no change of the host's own: the customer's link
(``synced_at``, the time until which the host agrees with ConnectWise) moves to the write's time, so All
Customers and the customer page do not say "Changed since export" for a contact ConnectWise added. Only when
the host held changes of its own before (edited after that time, not exported yet) does it stay, and they
still show; unless the pass settled them all, both sides agreeing on every field the host had changed (a conflict
settled on ConnectWise's values, the same value entered on both sides): nothing of the host's is left to export.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from host_stub.fields import column_limits
from host_stub.models import Contact, Customer

from ...cw.server_clock import shifted
from ...models import CONTACT, CUSTOMER, Link, RecordDrift, edited_after
from ...setup.customer_matching import SamePerson
from ...setup.field_mapping import COMPANY, MappingTable
from ...setup.field_mapping import CONTACT as CONTACT_TABLE
from ..shared import default_contact as D
from ..shared import fields as M
from ..shared import moved_contact as MV
from ..shared import notes as N
from ..shared import stale_site
from ..shared.advice import HOST_MASTER_DRIFT_FIX, deleted_company_fix
from ..shared.first_link import blanks_kept
from ..shared.states import StateList
from .reading import Found

COMPANY_LABELS = COMPANY.labels
CONTACT_LABELS = CONTACT_TABLE.labels
# The host's own limits (its columns), the ones its unit of work checks: a value too long is a failed record.
_CUSTOMER_LIMITS = column_limits(Customer)
_CONTACT_LIMITS = column_limits(Contact)
# The default contact is the company's choice, not a contact field: compared at the company (shared/default_contact.py).
NOT_COMPARED = ("is_default",)
_SPELLED = ("state", "country", "site")  # the fields ConnectWise holds in its own spelling (fields.as_held)


# (What ConnectWise changed since the last agreement, and what both sides then agree on: one rule with a bulk import
# that keeps the host's values, in sync/shared/fields.py.)
Diff, compare, agreed = M.Diff, M.compare, M.agreed


def edited_since(customer: Customer, link: Link | None) -> bool:
    """The host holds changes of its own: the customer or one of its contacts was edited after its link's last sync
    (All Customers' "Changed since export": sync/customers/list_status.py). True without a link."""
    return link is None or link.synced_at is None or edited_after(customer, link.synced_at)


def entered_before(record: Mapping[str, Any], link: Link, cw_ahead: float = 0.0) -> bool:
    """The ConnectWise record was entered there before ``link`` was made (its ``_info.dateEntered``, whole seconds,
    is an earlier second than the link's ``linked_at``, set by ``cw_ahead``, the seconds ConnectWise's clock is ahead
    of colcw's: ``ServerClock.ahead``): it was part of what the link agreed on. A record entered in the link's own
    second counts as later (it comes in rather than being lost); one without a date, as later too."""
    entered = M.cw_time(record, "dateEntered")
    if entered is None or link.linked_at is None:
        return False
    return entered < shifted(link.linked_at, cw_ahead).replace(microsecond=0)


def shown(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"“{value}”" if value not in ("", None) else "(blank)"


@dataclass
class Break:
    """A link whose ConnectWise record is gone (deleted, or a contact moved elsewhere)."""

    link: Link
    label: str
    message: str
    resolution: str
    moved: bool = False  # a contact moved to another company: no deletion (the mass-delete guard leaves it out)


@dataclass
class CustomerPlan:
    """What comes back for one host customer (its company and/or some of its contacts)."""

    customer: Customer
    label: str
    values: dict | None = None  # the customer's new values (None: unchanged)
    contacts: list[dict] = field(default_factory=list)  # contact rows to save (with "id" to update)
    new_contacts: list[dict] = field(default_factory=list)  # ConnectWise contacts to create, in ``contacts`` order
    links: list[tuple[Link | None, str, int | None, int, dict, str]] = field(default_factory=list)
    drift: list[dict] = field(default_factory=list)  # RecordDrift rows
    clear_drift: list[tuple[str, int, str | None]] = field(default_factory=list)  # (entity, host id, field)
    restore: list[Link] = field(default_factory=list)
    outcomes: list[dict] = field(default_factory=list)
    breaks: list[Break] = field(default_factory=list)
    # The company's Company ID as ConnectWise holds it now, when the link knew another (``Link.cw_identifier``).
    identifier: tuple[Link, str] | None = None
    company_link: Link | None = None  # the customer's own link (its synced_at: until when the host agrees)
    host_pending: bool = True  # the host held changes of its own before this pass (the link's time stays)
    # The host held changes of its own, and this pass leaves them all agreeing with what both sides then agree on (a
    # conflict settled on ConnectWise's values, the same value entered on both sides): the link's time moves.
    settled: bool = False
    # A contact linked in this pass to the customer's contact that is the same person kept host values where
    # ConnectWise's are blank (:meth:`CustomerPlanner._same_person`): the link agrees on the blanks, so the next export
    # fills them in. A change of the host's own still to export: the customer's link keeps its time, never settled.
    blanks_kept: bool = False
    # What planning read, for telling at apply time whether a rep changed it since (:meth:`.reconcile.Reconciler.
    # _customer`): each link's agreement the plan compared with ConnectWise (link id → ``synced_values``). (A note
    # of a conflict ConnectWise's value settled, dismissed meanwhile, needs nothing: while it shows, its link agrees
    # on its value, so no plan writes it again.)
    read: dict[int, dict | None] = field(default_factory=dict)

    @property
    def writes(self) -> bool:
        return bool(self.values is not None or self.contacts or self.links or self.drift or self.clear_drift
                    or self.restore or self.breaks or self.identifier)


class CustomerPlanner:
    """Plans what comes back for the companies and contacts in ``found`` (writes nothing)."""

    def __init__(self, session: Session, found: Found, *, cw_master: bool,
                 states: Callable[[], StateList] | None = None, sites: stale_site.HasSite | None = None,
                 cw_ahead: float = 0.0):
        self.session, self.found, self.cw_master = session, found, cw_master
        self.cw_ahead = cw_ahead  # seconds ConnectWise's clock is ahead of colcw's (entered_before)
        self._states = states  # ConnectWise's state list, read only when a host state is spelled otherwise
        # Whether a company has a site of a name, read only for an agreed site the company may never have had
        # (:mod:`..shared.stale_site`; None: not read, the agreement taken as it is)
        self._sites = sites
        self.plans: dict[int, CustomerPlan] = {}
        # Contact link id -> its agreed default flag, when a company's default contact was taken in this pass.
        self._default_agreed: dict[int, bool] = {}
        self._contact_links_by_host: dict[int, Link] | None = None
        company_ids = set(found.asked["company"])
        contact_ids = set(found.asked["contact"])
        contact_companies = {(c.get("company") or {}).get("id") for c in found.contacts.values()}
        self.customer_links = self._links(CUSTOMER, company_ids | {i for i in contact_companies if i})
        self.contact_links = self._links(CONTACT, contact_ids)
        host_ids = {ln.host_id for ln in self.customer_links.values()}
        contact_hosts = dict(session.execute(select(Contact.id, Contact.customer_id).where(
            Contact.id.in_([ln.host_id for ln in self.contact_links.values()]))).all()) if self.contact_links else {}
        self.contact_customer = contact_hosts
        host_ids |= set(contact_hosts.values())
        self.customers = {c.id: c for c in session.execute(
            select(Customer).where(Customer.id.in_(host_ids)).options(selectinload(Customer.contacts))).scalars()} \
            if host_ids else {}
        # The drift shown now, per customer or contact (only those have rows to clear): (field, whose value was kept,
        # ConnectWise's value then, the note's kind).
        self.drift_rows: dict[tuple[str, int], list[tuple[str, str, str, str]]] = {}
        if self.customers:
            for e, h, name, kept, cw_value, kind in session.execute(select(
                    RecordDrift.entity, RecordDrift.host_id, RecordDrift.field, RecordDrift.kept, RecordDrift.cw_value,
                    RecordDrift.kind).where(RecordDrift.customer_id.in_(list(self.customers)))):
                self.drift_rows.setdefault((e, h), []).append((name, kept, cw_value, kind))
        self.drifting = set(self.drift_rows)
        self.links_by_host = {ln.host_id: ln for ln in self.customer_links.values()}
        if set(contact_hosts.values()) - set(self.links_by_host):
            for ln in session.execute(select(Link).where(Link.entity == CUSTOMER, Link.host_id.in_(
                    set(contact_hosts.values()) - set(self.links_by_host)))).scalars():
                self.links_by_host[ln.host_id] = ln

    def _links(self, entity: str, cw_ids: Iterable[int]) -> dict[int, Link]:
        ids = list(cw_ids)
        if not ids:
            return {}
        out: dict[int, Link] = {}
        for ln in self.session.execute(select(Link).where(Link.entity == entity, Link.cw_id.in_(ids))
                                       .order_by(Link.id)).scalars():
            out.setdefault(ln.cw_id, ln)
        return out

    def _held(self, values: Mapping[str, Any] | None, cw: Mapping[str, Any],
              table: MappingTable) -> dict[str, Any] | None:
        """``values`` (the host's, or the last agreement) as ConnectWise holds them (:func:`~..shared.fields.as_held`):
        what is compared with ConnectWise's record, since exports record their agreement in ConnectWise's terms. A
        host "Nova Scotia" against an agreed "NS" is no change of the host's: compared as written it made a false
        conflict whenever ConnectWise changed the state. The state list is read only when a state is spelled
        otherwise than ConnectWise's."""
        if values is None:
            return None
        spelled = [r for r in table.rules if r.kind in _SPELLED and r.host_attr
                   and isinstance(values.get(r.host_attr), str) and values.get(r.host_attr) != cw.get(r.host_attr)]
        if not spelled:
            return dict(values)
        states = self._states() if self._states is not None and any(r.kind == "state" for r in spelled) \
            else StateList(())
        return M.as_held(values, cw, states, table)

    def _plan(self, customer_id: int) -> CustomerPlan | None:
        if customer_id not in self.plans:
            customer = self.customers.get(customer_id)
            if customer is None:
                return None
            link = self.links_by_host.get(customer_id)
            self.plans[customer_id] = CustomerPlan(customer, f"{customer.name} ({customer.account_number})",
                                                   company_link=link, host_pending=edited_since(customer, link))
        return self.plans[customer_id]

    def plan(self) -> list[CustomerPlan]:
        for cw_id in sorted(self.found.asked["company"]):
            link = self.customer_links.get(cw_id)
            if link is not None:
                self._company(link, self.found.companies.get(cw_id))
        for cw_id in sorted(self.found.asked["contact"]):
            record = self.found.contacts.get(cw_id)
            link = self.contact_links.get(cw_id)
            if link is not None:
                self._contact(link, record)
            elif record is not None and not record.get("inactiveFlag"):
                self._new_contact(record)
        for plan in self.plans.values():
            if plan.host_pending and plan.writes and self._settles(plan):
                plan.host_pending, plan.settled = False, True
        return list(self.plans.values())

    # --- the host's own changes settled -------------------------------------------------------

    def _settles(self, plan: CustomerPlan) -> bool:
        """Whether every record of the customer the host edited since its link's last sync (the customer, each of its
        contacts) holds, once this pass is applied, what both sides then agree on: nothing of the host's own is left
        to export, so it is no longer "Changed since export" (the export would find it up to date). A contact the
        host added (no link yet) or whose link is broken is a change still to export. (A contact deleted in the host
        leaves no record to compare: only its customer's save, compared like any other.)"""
        link = plan.company_link
        if link is None or link.synced_at is None or link.status != "ok" or plan.breaks or plan.blanks_kept:
            return False
        since = link.synced_at
        bases = {(entity, host_id): base for _, entity, host_id, _, base, _ in plan.links}
        customer = plan.customer
        if customer.updated_at is not None and customer.updated_at > since:
            values = plan.values if plan.values is not None else M.customer_values(customer)
            if not self._agrees(values, bases.get((CUSTOMER, customer.id), link.synced_values), COMPANY):
                return False
        edited = [c for c in customer.contacts if c.updated_at is not None and c.updated_at > since]
        unplanned = [c.id for c in edited if (CONTACT, c.id) not in bases]
        links = {ln.host_id: ln for ln in self.session.execute(select(Link).where(
            Link.entity == CONTACT, Link.host_id.in_(unplanned))).scalars()} if unplanned else {}
        written = {row["id"]: row for row in plan.contacts if row.get("id") is not None}
        for contact in edited:
            base = bases.get((CONTACT, contact.id))
            if base is None:
                own = links.get(contact.id)
                base = own.synced_values if own is not None and own.status == "ok" else None
            values = {k: v for k, v in written.get(contact.id, M.contact_values(contact)).items() if k != "id"}
            if not self._agrees(values, base, CONTACT_TABLE):
                return False
        return True

    def _agrees(self, values: Mapping[str, Any], base: Mapping[str, Any] | None, table: MappingTable) -> bool:
        """The host's ``values`` are the agreement ``base`` (compared as ConnectWise holds them, as the export
        records its agreement); None (nothing agreed) never is."""
        if base is None or set(values) - set(base) - set(NOT_COMPARED):
            return False
        held = self._held(values, base, table) or {}
        return all(held[k] == base[k] for k in held if k in base)

    # --- companies ----------------------------------------------------------------------------

    def _company(self, link: Link, record: dict | None) -> None:
        plan = self._plan(link.host_id)
        if plan is None:
            return  # the host customer was deleted: the import reports that, live updates leave it
        if record is None or record.get("deletedFlag"):
            if link.status != "missing_in_cw":
                plan.breaks.append(Break(link, plan.label, f"{plan.label}: its ConnectWise company (Company ID "
                                         f"{link.cw_identifier or '?'}, id {link.cw_id}) was deleted in ConnectWise; the "
                                         "customer was kept in ChannelOnline and its link marked broken.",
                                         deleted_company_fix(link.cw_identifier, plan.customer.account_number)))
            return
        plan.read[link.id] = copy.deepcopy(link.synced_values)
        if link.status == "missing_in_cw":
            plan.restore.append(link)
        identifier = str(record.get("identifier") or "")[:100]
        if identifier and identifier != link.cw_identifier:
            plan.identifier = (link, identifier)
        host = M.customer_values(plan.customer)
        cw = M.company_host_values(record)
        M.keep_default_site_name(cw, host, link.synced_values)  # (the site an export took for the customer's code)
        held, base = self._held(host, cw, COMPANY), self._held(link.synced_values, cw, COMPANY)
        # (an agreed site the company never had is a site step an export left unfinished, not ConnectWise's change)
        base = stale_site.healed(base, cw, held, record, self._sites)
        diffs, unagreed = self._compared(held, cw, base, host, COMPANY_LABELS)
        default, default_cw = self._default_contact(plan, link, record)
        plan.clear_drift += self._ended_drift(CUSTOMER, plan.customer.id, {**cw, **default_cw}, diffs + default)
        new_base = M.with_site_choice(agreed(held, cw, base), link.synced_values)
        if diffs and self.cw_master:
            problems = M.host_length_problems(cw, _CUSTOMER_LIMITS, plan.label, COMPANY_LABELS)
            if problems:
                plan.outcomes.append(_out(CUSTOMER, "failed", plan.customer.id, record["id"], plan.label,
                                          *M.join(problems)))
                return
            plan.values = {**host, **{d.field: d.cw for d in diffs}}
            new_base = M.with_site_choice(dict(cw), link.synced_values)
        if new_base is not None and D.FIELD in (link.synced_values or {}):
            new_base[D.FIELD] = link.synced_values[D.FIELD]  # ChannelOnline's default kept on the customer page
        if default and self.cw_master:
            self._take_default(plan, record)
            if new_base is not None:
                new_base.pop(D.FIELD, None)  # the contacts' links agree on ConnectWise's now
        if new_base != link.synced_values:  # an unchanged record writes nothing
            plan.links.append((link, CUSTOMER, plan.customer.id, record["id"], new_base, M.last_updated(record)))
        diffs += default
        plan.drift += self._drift(CUSTOMER, plan.customer.id, plan.customer.id, record["id"], diffs, unagreed)
        plan.outcomes.append(self._outcome(CUSTOMER, plan.customer.id, record["id"], plan.label, diffs, unagreed))

    def _contact_links_of(self, customer: Customer) -> dict[int, Link]:
        """The customer's contacts' links (host contact id -> link), read for every customer of the pass at once."""
        if self._contact_links_by_host is None:
            ids = [c.id for cu in self.customers.values() for c in cu.contacts]
            self._contact_links_by_host = {ln.host_id: ln for ln in self.session.execute(select(Link).where(
                Link.entity == CONTACT, Link.host_id.in_(ids)).order_by(Link.id)).scalars()} if ids else {}
        return {c.id: self._contact_links_by_host[c.id] for c in customer.contacts
                if c.id in self._contact_links_by_host}

    def _default_contact(self, plan: CustomerPlan, link: Link, record: dict) -> tuple[list[Diff], dict]:
        """The company's default contact compared with the customer's, against what both sides last agreed on
        (:mod:`..shared.default_contact`, the import's definition): at most one :class:`Diff` (its values the people's
        names), and ConnectWise's value as a drift row holds it. A company without a default contact, or whose default
        contact is linked to none of the customer's contacts, leaves the customer's as it is (as an import does)."""
        links = self._contact_links_of(plan.customer)
        diffs, cw = D.differences(D.cw_default(record),
                                  {c.id: (D.person(c.first_name, c.last_name), bool(c.is_default))
                                   for c in plan.customer.contacts},
                                  {host_id: (ln.cw_id, ln.status, self._agreed_contact(ln))
                                   for host_id, ln in links.items()}, link.synced_values)
        plan.read.update({ln.id: copy.deepcopy(ln.synced_values) for ln in links.values()} if diffs else {})
        return diffs, cw

    def _agreed_contact(self, link: Link) -> dict | None:
        values = link.synced_values
        if link.id in self._default_agreed:
            values = {**(values or {}), "is_default": self._default_agreed[link.id]}
        return values

    def _take_default(self, plan: CustomerPlan, record: dict) -> None:
        """ConnectWise the master: the company's default contact becomes the customer's (the others not), and their
        links agree on it."""
        cw_id = D.cw_default(record)
        links = self._contact_links_of(plan.customer)
        rows = {r.get("id"): r for r in plan.contacts}
        for contact in plan.customer.contacts:
            ln = links.get(contact.id)
            want = ln is not None and ln.cw_id == cw_id
            if bool(contact.is_default) != want:
                row = rows.get(contact.id)
                if row is None:
                    row = {"id": contact.id, **{k: v for k, v in M.contact_values(contact).items()
                                                if k not in NOT_COMPARED}}
                    plan.contacts.append(row)
                    rows[contact.id] = row
                row["is_default"] = want
            if ln is not None and ln.status == "ok" and bool((ln.synced_values or {}).get("is_default")) != want:
                self._default_agreed[ln.id] = want
                plan.links.append((ln, CONTACT, contact.id, ln.cw_id, {**(ln.synced_values or {}), "is_default": want},
                                   ln.cw_last_updated or ""))

    # --- contacts -----------------------------------------------------------------------------

    def _contact(self, link: Link, record: dict | None) -> None:
        customer_id = self.contact_customer.get(link.host_id)
        plan = self._plan(customer_id) if customer_id is not None else None
        if plan is None:
            return
        contact = next((c for c in plan.customer.contacts if c.id == link.host_id), None)
        label = f"{contact.name if contact else 'contact'} ({plan.customer.name})"
        company_link = self.links_by_host.get(plan.customer.id)
        moved = record is not None and company_link is not None and \
            (record.get("company") or {}).get("id") != company_link.cw_id
        if moved:
            self._moved(plan, link, label, record)
            return
        if record is None:
            if link.status != "missing_in_cw":
                what = "deleted"
                plan.breaks.append(Break(link, label, f"{label}: the linked ConnectWise contact (id {link.cw_id}) was "
                                         f"{what} in ConnectWise; the contact was kept in ChannelOnline and its link "
                                         "marked broken.", "Clear the contact's link on the customer's page if it should "
                                         "be exported again."))
            return
        if contact is None:
            return
        if record.get("inactiveFlag"):
            self._inactive(plan, contact, link, label, record)
            return
        plan.read[link.id] = copy.deepcopy(link.synced_values)
        if link.status == "missing_in_cw":
            plan.restore.append(link)
        host = {k: v for k, v in M.contact_values(contact).items() if k not in NOT_COMPARED}
        cw = {k: v for k, v in M.contact_host_values(record, None).items() if k not in NOT_COMPARED}
        base = self._held({k: v for k, v in (link.synced_values or {}).items() if k not in NOT_COMPARED}
                          if link.synced_values is not None else None, cw, CONTACT_TABLE)
        held = self._held(host, cw, CONTACT_TABLE)
        diffs, unagreed = self._compared(held, cw, base, host, CONTACT_LABELS)
        plan.clear_drift += self._ended_drift(CONTACT, contact.id, cw, diffs)
        # (a default the company pass took in this pass stays agreed)
        own = {"is_default": self._default_agreed[link.id]} if link.id in self._default_agreed else {}
        new_base = {**(link.synced_values or {}), **agreed(held, cw, base), **own}
        if diffs and self.cw_master:
            problems = M.host_length_problems(cw, _CONTACT_LIMITS, label, CONTACT_LABELS)
            if problems:
                plan.outcomes.append(_out(CONTACT, "failed", contact.id, record["id"], label, *M.join(problems)))
                return
            plan.contacts.append({"id": contact.id, **host, **{d.field: d.cw for d in diffs}})
            new_base = {**(link.synced_values or {}), **cw, **own}
        new_base.pop(MV.MOVED, None)  # (back under the customer's company: no longer moved)
        if new_base != link.synced_values:
            plan.links.append((link, CONTACT, contact.id, record["id"], new_base, M.last_updated(record)))
        plan.drift += self._drift(CONTACT, contact.id, plan.customer.id, record["id"], diffs, unagreed)
        plan.outcomes.append(self._outcome(CONTACT, contact.id, record["id"], label, diffs, unagreed))

    def _inactive(self, plan: CustomerPlan, contact: Contact, link: Link, label: str, record: dict) -> None:
        """The linked contact was made inactive in ConnectWise: nothing of it is taken (ChannelOnline has no inactive
        contacts), but a note on the customer's page says so with what to do (:data:`.notes.INACTIVE`), once: a later
        reading of it still inactive leaves the note (and its time) as it is; one that finds it active ends it."""
        if any(name == N.INACTIVE for name, *_ in self.drift_rows.get((CONTACT, contact.id), ())):
            return
        plan.drift.append(N.inactive_row(contact.id, plan.customer.id, record["id"]))
        plan.outcomes.append(_out(CONTACT, "skipped", contact.id, record["id"], label, *N.inactive_said(label)))

    def _moved(self, plan: CustomerPlan, link: Link, label: str, record: dict) -> None:
        """The linked contact is under another company in ConnectWise now: moved, not deleted. Its link keeps pointing
        at it, remembering where it went (:mod:`..shared.moved_contact`), so no export of this customer creates the
        person again; marked broken (this company no longer holds it) with a note saying where ConnectWise has them and
        what to do."""
        marker = MV.mark(record.get("company"))
        if link.status == "missing_in_cw" and MV.moved_to(link.synced_values) == marker:
            return  # said already
        plan.read[link.id] = copy.deepcopy(link.synced_values)
        plan.links.append((link, CONTACT, link.host_id, link.cw_id, {**(link.synced_values or {}), MV.MOVED: marker},
                           M.last_updated(record)))
        there = self.customer_links.get(marker["company"])
        customer = self.customers.get(there.host_id) if there is not None else None
        message, fix = MV.said(label, link.cw_id, marker, plan.customer.name,
                               (customer.name, customer.account_number) if customer is not None else None)
        plan.breaks.append(Break(link, label, message, fix, moved=True))

    def _new_contact(self, record: dict) -> None:
        company_link = self.customer_links.get((record.get("company") or {}).get("id"))
        plan = self._plan(company_link.host_id) if company_link is not None else None
        if plan is None:
            return
        values = {k: v for k, v in M.contact_host_values(record, None).items() if k not in NOT_COMPARED}
        who = f"{values.get('first_name', '')} {values.get('last_name', '')}".strip() or f"contact {record['id']}"
        label = f"{who} ({plan.customer.name})"
        key = f"contact:{record['id']}"
        if entered_before(record, company_link, self.cw_ahead):
            # The company held it when it was linked: no addition, only matched to the customer's contact by e-mail.
            if (CUSTOMER, plan.customer.id) in self.drifting:
                plan.clear_drift.append((CUSTOMER, plan.customer.id, key))  # a "New contact" said before
            self._same_person(plan, record, values, label, created=False)
            return
        if not (values.get("first_name") or values.get("last_name")):
            plan.outcomes.append(_out(CONTACT, "failed", None, record["id"], label,
                                      f"{label}: added in ConnectWise without a name; ChannelOnline needs one.",
                                      "Enter the contact's name in ConnectWise; the next live update takes it."))
            return
        if (CUSTOMER, plan.customer.id) in self.drifting:
            plan.clear_drift.append((CUSTOMER, plan.customer.id, key))
        if not self.cw_master:
            plan.drift.append({"entity": CUSTOMER, "host_id": plan.customer.id, "customer_id": plan.customer.id,
                               "cw_id": record["id"], "field": key, "label": f"New contact {who}", "kind": "new_contact",
                               "host_value": "", "cw_value": who, "kept": "host"})
            plan.outcomes.append(_out(CONTACT, "skipped", None, record["id"], label,
                                      f"{label}: added in ConnectWise; not created in ChannelOnline (ChannelOnline is the "
                                      "master for customer data).",
                                      "Add the contact in ChannelOnline, or import the company to take it."))
            return
        if self._same_person(plan, record, values, label, created=True):
            return
        plan.contacts.append(values)
        plan.new_contacts.append(record)
        plan.outcomes.append(_out(CONTACT, "created", None, record["id"], label,
                                  f"{label}: added in ConnectWise; created in ChannelOnline."))

    def _same_person(self, plan: CustomerPlan, record: dict, values: dict, label: str, *, created: bool) -> bool:
        """Link the ConnectWise contact to the customer's unlinked contact that is the same person (:class:`SamePerson`,
        the import's and the export's rule: the same e-mail or, when one has none, the same name); True if it did.

        The ConnectWise contact (one the company held when it was linked, or one ``created`` there since) and the host
        contact are the same person in two systems, whose values were never agreed on: there is no earlier agreement,
        so where they differ neither side's value is "unchanged" (:meth:`_compared`). With ConnectWise the master its
        values are taken into the host contact, as an import takes them for a contact it matches so, and the note keeps
        ChannelOnline's value it replaced; with ChannelOnline the master they are noted, not taken. The link agrees on
        what both sides hold then: ConnectWise's values once taken, else ConnectWise's where the two agree and
        ChannelOnline's where they differ (:func:`~..shared.fields.agreed`, the import's rule), never ConnectWise's
        values over a host contact that does not hold them (the next export read them as the rep's edits and wrote
        them back over ConnectWise: a contact added there since, matched so, lost its values to the rep's export so).
        A field ConnectWise holds blank that the host contact fills (a contact typed there without an e-mail) is no
        value to take: the host keeps it, and the link agrees on ConnectWise's blank, so the next export fills it in."""
        linked = {ln.host_id for ln in self.session.execute(select(Link).where(
            Link.entity == CONTACT, Link.host_id.in_([c.id for c in plan.customer.contacts]))).scalars()}
        linked |= {host_id for _, entity, host_id, *_ in plan.links if entity == CONTACT}  # (earlier in this pass)
        same = SamePerson((c.id, c.first_name, c.last_name, c.email) for c in plan.customer.contacts
                          if c.id not in linked)
        hid = same.match(values.get("first_name"), values.get("last_name"), values.get("email"))
        if hid is None:
            return False
        contact = next(c for c in plan.customer.contacts if c.id == hid)
        how = ("the same e-mail" if values.get("email") and (contact.email or "").casefold() ==
               values["email"].casefold() else "the same name (one of them has no e-mail)")
        what = "added in ConnectWise" if created else "in the ConnectWise company when it was linked"
        lead = f"{what}; linked to the contact with {how}"
        host = {k: v for k, v in M.contact_values(contact).items() if k not in NOT_COMPARED}
        # (left to the next export to fill in ConnectWise: the import's rule, one definition)
        blank = {k: values[k] for k in blanks_kept(values, host) if k not in NOT_COMPARED}
        cw = {k: v for k, v in values.items() if k not in NOT_COMPARED and k not in blank}
        held = self._held(host, cw, CONTACT_TABLE)
        diffs, unagreed = self._compared(held, cw, None, host, CONTACT_LABELS)
        base = agreed(held, cw, None)
        if diffs and self.cw_master:
            problems = M.host_length_problems(cw, _CONTACT_LIMITS, label, CONTACT_LABELS)
            if problems:  # (not linked: the next pass tries again)
                plan.outcomes.append(_out(CONTACT, "failed", hid, record["id"], label, *M.join(problems)))
                return True
            row = next((r for r in plan.contacts if r.get("id") == hid), None)  # (its default flag, taken already)
            if row is None:
                plan.contacts.append(row := {"id": hid, **host})
            row.update({d.field: d.cw for d in diffs})
            base = dict(cw)
        plan.links.append((None, CONTACT, hid, record["id"], {**base, **blank}, M.last_updated(record)))
        if blank:
            # The host's values kept over ConnectWise's blanks are still to export: the customer's link keeps its time
            # (so a contact written in this pass leaves it "Changed since export"), as for edits of the host's own.
            plan.blanks_kept = plan.host_pending = True
        plan.drift += self._drift(CONTACT, hid, plan.customer.id, record["id"], diffs, unagreed)
        outcome = self._outcome(CONTACT, hid, record["id"], label, diffs, unagreed, lead=lead)
        plan.outcomes.append({**outcome, "action": "updated"} if outcome["action"] == "unchanged" else outcome)
        return True

    def _compared(self, held: Mapping[str, Any], cw: Mapping[str, Any], base: Mapping[str, Any] | None,
                  host: Mapping[str, Any], labels: Mapping[str, str]) -> tuple[list[Diff], set[str]]:
        """:func:`~..shared.fields.compare`'s differences (with the host's own values), and the fields of them that
        have no earlier agreement (``base`` None, or without the field: one that differed when the scan or Map customers
        linked the company, a first link of a contact). Such a field differing is no change of ConnectWise's alone: nothing says the host's value is not a
        rep's edit. With ConnectWise the master it is taken like a conflict, so its note keeps ChannelOnline's value
        (taken silently, a rep's edit made after the link vanished without a trace); with ChannelOnline the master it
        is noted and not taken, as any change of ConnectWise's is."""
        diffs = [replace(d, host=host.get(d.field)) for d in compare(held, cw, base, labels)]
        unagreed = {d.field for d in diffs if base is None or d.field not in base}
        if self.cw_master:
            diffs = [replace(d, conflict=True) if d.field in unagreed else d for d in diffs]
        return diffs, unagreed

    # --- reporting ----------------------------------------------------------------------------

    def _ended_drift(self, entity: str, host_id: int, cw: Mapping[str, Any], diffs: list[Diff]) -> list[tuple]:
        """The record's drift rows this reading ends (``clear_drift`` entries, field by field); ``diffs`` replace theirs.

        A row the comparison would write again (a change not taken, a conflict the host master kept: the two sides
        still differ) is replaced by it, and goes once they agree. A conflict ConnectWise's value settled (the master)
        left both sides agreeing, so no later reading finds it again: it is the only place the host's overwritten value
        shows, and it stays until the customer is exported (export_writes), the master changes (master.py) or
        ConnectWise changes that field again (then this reading's diff is about the new change). A reading that finds
        the record unchanged does not end it."""
        changed = {d.field for d in diffs}
        ended = []
        for name, kept, cw_value, _ in self.drift_rows.get((entity, host_id), ()):
            if name.startswith("contact:"):
                continue  # a new contact's row: _new_contact's
            if not N.stays(name, kept, cw_value, cw, changed, self.cw_master):
                ended.append((entity, host_id, name))
        return ended

    def _drift(self, entity: str, host_id: int, customer_id: int, cw_id: int, diffs: list[Diff],
               unagreed: Collection[str] = ()) -> list[dict]:
        """The record's notes (:func:`..shared.notes.rows`, the import's too); ``unagreed``: the fields of ``diffs``
        with no earlier agreement (:meth:`_compared`). A note of such a field ChannelOnline's value stood on says so
        again while ConnectWise still holds the value it showed: the link agreed on ChannelOnline's value since (so
        the export sends it), which makes ConnectWise's read as its change, though nobody changed it."""
        before = {name for name, kept, cw_value, kind in self.drift_rows.get((entity, host_id), ())
                  if kind == N.UNAGREED and kept == N.HOST_KEPT
                  and any(d.field == name and not d.conflict and N.text(d.cw) == cw_value for d in diffs)}
        return N.rows(entity, host_id, customer_id, cw_id, diffs, self.cw_master, {*unagreed, *before})

    def _outcome(self, entity: str, host_id: int, cw_id: int, label: str, diffs: list[Diff],
                 unagreed: Collection[str] = (), *, lead: str = "") -> dict:
        """A record's result in the run's words; ``unagreed``: the fields of ``diffs`` with no earlier agreement
        (:meth:`_compared`), said so; ``lead``: what was done before comparing (a first link), said first."""
        if not diffs:
            return _out(entity, "unchanged", host_id, cw_id, label, f"{label}: {lead or 'unchanged'}.")
        fresh = [d for d in diffs if d.field in unagreed]
        plain = [d for d in diffs if not d.conflict and d.field not in unagreed]
        conflicts = [d for d in diffs if d.conflict and d.field not in unagreed]
        parts = [lead] if lead else []
        if self.cw_master:
            moved = [D.moved_words(d.cw, d.host) for d in plain if d.field == D.FIELD]  # the import's words
            plain = [d for d in plain if d.field != D.FIELD]
            if plain:
                parts.append("took " + ", ".join(f"{d.label} {shown(d.cw)}" for d in plain) + " from ConnectWise")
            parts += moved
            parts += [f"{d.label} changed on both sides: kept ConnectWise's {shown(d.cw)} (the master); ChannelOnline "
                      f"had {shown(d.host)}" for d in conflicts]
            parts += [f"{d.label} differs; no earlier agreement: took ConnectWise's {shown(d.cw)} (the master); "
                      f"ChannelOnline had {shown(d.host)}" for d in fresh]
            return _out(entity, "updated", host_id, cw_id, label, f"{label}: " + "; ".join(parts) + ".")
        if plain:
            parts.append("changed in ConnectWise, not taken (ChannelOnline is the master for customer data): " +
                         ", ".join(f"{d.label} {shown(d.cw)} (ChannelOnline: {shown(d.host)})" for d in plain))
        parts += [f"{d.label} changed on both sides: kept ChannelOnline's {shown(d.host)} (the master); ConnectWise "
                  f"has {shown(d.cw)}" for d in conflicts]
        parts += [f"{d.label} differs; no earlier agreement: kept ChannelOnline's {shown(d.host)} (the master); "
                  f"ConnectWise has {shown(d.cw)}" for d in fresh]
        return _out(entity, "skipped", host_id, cw_id, label, f"{label}: " + "; ".join(parts) + ".",
                    HOST_MASTER_DRIFT_FIX)


def _text(value: Any) -> str:
    """A value as a drift row holds it."""
    return str(value if value is not None else "")


def _out(entity: str, action: str, host_id: int | None, cw_id: int | None, label: str, message: str,
         resolution: str = "") -> dict:
    return {"entity": entity, "action": action, "host_id": host_id, "cw_id": cw_id, "label": label,
            "message": message, "resolution": resolution}

