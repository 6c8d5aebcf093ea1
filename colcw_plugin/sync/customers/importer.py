"""Import ConnectWise companies and their contacts into host customers (§5.3, §5.4).

One company by its Company ID (the Import From ConnectWise popup), all companies, or the ones
changed since the last successful full or incremental import (``lastUpdated``; a company also
counts as changed when one of its contacts changed).

Companies are read a page of 1,000 at a time and their contacts in bulk (``company/id in (...)``
chunks), never a request per record; each page is processed and dropped, so memory does not grow
with the tenant. Host data is written through the host's service API (a unit of work on the run's
session), so a company, its contacts and their links land in one transaction. Identity follows the link table; an unlinked company is
matched once by Company ID = account number, never by name. A linked customer deleted in the host
is not re-created by a bulk import: it is reported, and importing that one company by its
Company ID re-creates and re-links it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from host_stub.gateway import ValidationError
from host_stub.models import Contact, Customer
from host_stub.snapshots import system_actor

from ...cw import NotFound
from ...cw import conditions as C
from ...models import CONTACT, CUSTOMER, Link, SyncRun, fingerprint
from ...setup.field_mapping import COMPANY
from ...setup.field_mapping import CONTACT as CONTACT_TABLE
from ..jobs.runs import SyncContext
from . import fields as M
from .link_batch import LinkBatch, LinkRow, by_cw, by_host

log = logging.getLogger(__name__)

PAGE = 1000
IMPORT_SYSTEM = "colcw-import"
# Host events fired by an import carry this actor, so colcw's own event handlers can ignore them.
IMPORT_ACTOR = system_actor(IMPORT_SYSTEM)
# ConnectWise's clock and ours differ a little: look back a bit further than the last start.
WATERMARK_OVERLAP = dt.timedelta(minutes=2)

_CUSTOMER_LIMITS = {c.name: getattr(c.type, "length", None) for c in Customer.__table__.columns}
_CONTACT_LIMITS = {c.name: getattr(c.type, "length", None) for c in Contact.__table__.columns}
_COMPANY_LABELS = {r.host_attr: r.host for r in COMPANY.rules if r.host_attr}
_CONTACT_LABELS = {r.host_attr: r.host for r in CONTACT_TABLE.rules if r.host_attr}


def is_own_import(actor: dict | None) -> bool:
    """True for host events fired by colcw's import (colcw must not react to its own writes)."""
    return bool(actor) and actor.get("system") == IMPORT_SYSTEM


def last_import_start(session: Session) -> dt.datetime | None:
    """When the last succeeded (or partial) import of all or changed companies started."""
    rows = session.execute(
        select(SyncRun.started_at, SyncRun.params)
        .where(SyncRun.kind == "customer_import", SyncRun.status.in_(("succeeded", "partial")),
               SyncRun.started_at.is_not(None))
        .order_by(SyncRun.started_at.desc()).limit(500))
    for started, params in rows:
        if (params or {}).get("mode") in ("all", "changed"):
            return started
    return None


def _pages(records: Iterable[dict], size: int = PAGE) -> Iterator[list[dict]]:
    page: list[dict] = []
    for r in records:
        page.append(r)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


@dataclass
class _HostCustomer:
    values: dict
    contacts: dict[int, dict]  # host contact id -> values


class CompanyImporter:
    """Imports companies for one run (see the module docstring)."""

    def __init__(self, ctx: SyncContext):
        self.ctx = ctx
        self.session = ctx.session
        self.client = ctx.client
        self.recorder = ctx.recorder
        _, self.done_cw = self.recorder.completed_keys(CUSTOMER)

    # --- scopes -------------------------------------------------------------------------------

    def run(self) -> str:
        params = self.ctx.params
        if params.get("company") not in (None, ""):
            return self.one(str(params["company"]))
        if params.get("company_ids") is not None:
            ids = sorted({int(i) for i in params["company_ids"]})
            self.recorder.set_total(len(ids))
            for page in _pages(self.client.companies.iterate_in("id", ids, fields=M.COMPANY_FIELDS)):
                self._page(page, explicit=False)
            return ""
        if params.get("mode") == "changed":
            return self._changed()
        if params.get("mode") == "all":
            self.recorder.set_total(self.client.companies.count())
            for page in self.client.companies.iterate_pages(fields=M.COMPANY_FIELDS, page_size=PAGE):
                self._page(page, explicit=False)
            return ""
        raise ValueError("Choose what to import: one company, all companies or the changed ones.")

    def one(self, ident: str) -> str:
        """Import one company by its Company ID (identifier) or numeric id."""
        self.recorder.set_total(1)
        record = self._find(ident.strip())
        if record is None:
            self.recorder.record(entity=CUSTOMER, direction="import", action="failed", label=ident,
                                 message=f"No ConnectWise company has the Company ID '{ident}'.",
                                 resolution="Check the Company ID in ConnectWise (the company's Company ID field) "
                                            "and try again.")
            return ""
        self._page([record], explicit=True)
        return ""

    def _find(self, ident: str) -> dict | None:
        if not ident:
            return None
        rows = self.client.companies.list(conditions=C.eq("identifier", ident), fields=M.COMPANY_FIELDS,
                                          page_size=10)
        rows.sort(key=lambda r: (r.get("identifier") != ident, bool(r.get("deletedFlag"))))
        if rows:
            return rows[0]
        if ident.isdigit():
            try:
                return self.client.companies.get(int(ident), fields=M.COMPANY_FIELDS)
            except NotFound:
                return None
        return None

    def _changed(self) -> str:
        since = self._since()
        if since is None:
            self.recorder.set_total(self.client.companies.count())
            for page in self.client.companies.iterate_pages(fields=M.COMPANY_FIELDS, page_size=PAGE):
                self._page(page, explicit=False)
            return "No earlier import: imported all companies"
        changed = C.gt("lastUpdated", since)
        # A contact edit does not touch its company's lastUpdated: pick those companies up too.
        via_contacts = {(r.get("company") or {}).get("id") for r in
                        self.client.contacts.iterate(conditions=changed, fields=["id", "company/id"])}
        via_contacts.discard(None)
        total = self.client.companies.count(changed)
        self.recorder.set_total(total + len(via_contacts))
        for page in self.client.companies.iterate_pages(conditions=changed, fields=M.COMPANY_FIELDS,
                                                        page_size=PAGE):
            via_contacts.difference_update(r["id"] for r in page)
            self._page(page, explicit=False)
        self.recorder.set_total(total + len(via_contacts))
        for page in _pages(self.client.companies.iterate_in("id", sorted(via_contacts), fields=M.COMPANY_FIELDS)):
            self._page(page, explicit=False)
        return f"Companies changed since {since:%Y-%m-%d %H:%M} UTC"

    def _since(self) -> dt.datetime | None:
        given = self.ctx.params.get("since")
        if given:
            return dt.datetime.fromisoformat(str(given)).replace(tzinfo=None)
        started = last_import_start(self.session)
        return started - WATERMARK_OVERLAP if started else None

    # --- a page -------------------------------------------------------------------------------

    def _page(self, records: list[dict], *, explicit: bool) -> None:
        records = [r for r in records if r["id"] not in self.done_cw]
        live = [r["id"] for r in records if not r.get("deletedFlag")]
        contacts: dict[int, list[dict]] = defaultdict(list)
        for c in self.client.contacts.iterate_in("company/id", live, fields=M.CONTACT_FIELDS):
            contacts[(c.get("company") or {}).get("id")].append(c)
        links = by_cw(self.session, CUSTOMER, [r["id"] for r in records])
        contact_links = by_cw(self.session, CONTACT, [c["id"] for cs in contacts.values() for c in cs])
        idents = [str(r.get("identifier") or "") for r in records if r["id"] not in links]
        by_account = dict(self.session.execute(select(Customer.account_number, Customer.id)
                                               .where(Customer.account_number.in_(idents))).all()) if idents else {}
        host_ids = {row.host_id for row in links.values()} | set(by_account.values())
        hosts = self._snapshots(host_ids)
        host_links = by_host(self.session, CUSTOMER, by_account.values())
        host_contact_links = by_host(self.session, CONTACT, [k for h in hosts.values() for k in h.contacts])
        self.session.commit()  # end the read transaction: each company below commits on its own
        page = _PageData(contacts, links, contact_links, by_account, hosts, host_links, host_contact_links)
        for record in records:
            for outcome in _CompanyImport(self, record, page, explicit).run():
                self.recorder.record(direction="import", **outcome)

    def _snapshots(self, host_ids: Iterable[int]) -> dict[int, _HostCustomer]:
        ids = list(host_ids)
        if not ids:
            return {}
        rows = self.session.execute(select(Customer).where(Customer.id.in_(ids))
                                    .options(selectinload(Customer.contacts))).scalars()
        # Plain values: the commits below expire ORM objects, values stay valid.
        return {c.id: _HostCustomer(M.customer_values(c), {k.id: M.contact_values(k) for k in c.contacts})
                for c in rows}


@dataclass
class _PageData:
    contacts: dict[int, list[dict]]
    links: dict[int, LinkRow]
    contact_links: dict[int, LinkRow]
    by_account: dict[str, int]
    hosts: dict[int, _HostCustomer]
    host_links: dict[int, LinkRow]
    host_contact_links: dict[int, LinkRow]


class _CompanyImport:
    """One company and its contacts (a helper of :class:`CompanyImporter`)."""

    def __init__(self, owner: CompanyImporter, record: dict, page: _PageData, explicit: bool):
        self.owner, self.record, self.page, self.explicit = owner, record, page, explicit
        self.session = owner.session
        self.host = owner.ctx.host(self.session)  # the customer, its contacts and links commit together
        self.batch = LinkBatch(self.session)
        self.label = f"{record.get('name')} ({record.get('identifier')})"
        self.cid = record["id"]

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
            new_ids = sorted(k.id for k in saved.contacts if k.id not in before)
            new_plan = [c for c, hid, _ in contact_changes if hid is None]
            contact_ids = dict(zip((c["id"] for c in new_plan), new_ids, strict=False))
            action = "created" if existing is None else "updated"
            if changed and existing is not None:
                notes.append("changed " + ", ".join(_COMPANY_LABELS.get(k, k) for k in changed))
        self.batch.put(link, CUSTOMER, host_id, self.cid, cw_identifier=str(record.get("identifier") or ""),
                       fingerprint=fingerprint(values), cw_last_updated=M.last_updated(record))
        changed_cw = {c["id"] for c, _, _ in contact_changes}
        for c, hid, v in plan:
            hid = hid or contact_ids.get(c["id"])
            if hid is None:
                continue
            row = page.contact_links.get(c["id"])
            self.batch.put(row if row is not None and row.host_id == hid else None, CONTACT, hid, c["id"],
                           fingerprint=fingerprint(v), cw_last_updated=M.last_updated(c))
            who = f"{c.get('firstName', '')} {c.get('lastName', '')}".strip()
            c_action = ("created" if c["id"] in contact_ids else "updated") if c["id"] in changed_cw else "unchanged"
            outcomes.append(self._out(c_action, hid, f"{who} ({record.get('name')}): {c_action}.", entity=CONTACT,
                                      cw_id=c["id"], label=f"{who} ({record.get('name')})"))
        outcomes += self._missing_contacts(existing)
        message = f"{self.label}: " + ("; ".join(notes) if notes else action) + "."
        return [self._out(action, host_id, message), *outcomes]

    def _plan(self, cw_contacts: list[dict], default_id: int | None, existing: _HostCustomer | None,
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
            plan.append((c, hid, values))
        return plan

    def _missing_contacts(self, existing: _HostCustomer | None) -> list[dict]:
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


def run_import(ctx: SyncContext) -> str:
    """The ``customer_import`` job: import the companies the params select."""
    return CompanyImporter(ctx).run()
