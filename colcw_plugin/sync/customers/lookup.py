"""Finding a ConnectWise company for a rep who does not know its Company ID (Import From ConnectWise, §5.3).

The popup imports by Company ID. A rep often knows only the company's name, or part of its Company ID:
when no company has the Company ID typed, the popup offers the companies whose name or Company ID
contains it, each with its place and status and, when it is already linked, the ChannelOnline customer
an import would update. A name contains it as typed, or as its words whatever their accents, case and punctuation,
as Map customers' likely duplicates compare names ("celeste" finds "Céleste Boutique", "Harbor Logistics, Inc."
finds "Harbor Logistics Inc": :func:`.customer_matching.name_search_pattern`, one definition). One request (a page
of :data:`MAX_SHOWN` and one more, to tell that there are more), with the rep's text quoted as a conditions value,
never pasted into the expression; the words' pattern holds only letters, digits, wildcards and classes.

:func:`for_import` asks first, in that same request, for the company that has the Company ID typed: the popup
imports (and records a run) only when one has it, so a rep who typed a name gets the list, and the job
history no failed import. When that company is linked to no customer, would not be linked by its Company ID
either, and looks like an existing customer (the bulk import's and Map Customers' likely duplicate,
:class:`.customer_matching.LikelyDuplicates`), ``like`` names that customer: the popup asks the rep first
rather than create a duplicate (offering to link only a customer linked to no company; one linked to another
company is named with that company, and creating a second customer is confirmed knowingly). A look-alike whose
account number another ConnectWise company has as its Company ID is that company's customer, not offered for
linking either: ``like`` names it with that company (``held_by``). When the company is linked to a customer edited
since its last sync, ``overwrite`` names the fields the import would replace: the popup asks before the rep's
edits, not exported yet, are lost. So it does when the import would link a customer linked to no company (its
account number is the company's Company ID) and replace values of its that differ from ConnectWise's, saved in
ChannelOnline after ConnectWise last changed the company (or contact): values that differ because ConnectWise changed
them since are ConnectWise's newer ones, and the import takes them without a question (:func:`cw_changed_since`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import quote_plus

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.bulk import among
from host_stub.models import Contact, Customer

from ...cw import ConnectWiseClient, NotFound
from ...cw import conditions as C
from ...cw.server_clock import shifted
from ...models import CONTACT, CUSTOMER, Link, edited_after, find_by_cw, get_link
from ...setup.customer_matching import LikelyDuplicates, name_search_pattern, name_search_regex
from ...setup.field_mapping import COMPANY, MappingTable
from ...setup.field_mapping import CONTACT as CONTACT_TABLE
from ...setup.live_updates import cw_is_master
from ..shared import fields as M
from ..shared.states import StateList
from .company_import import differences, host_match, imported_values, own_edit_list, same_person
from .link_batch import by_cw

MAX_SHOWN = 10
MAX_TEXT = 100  # what is searched for (the popup's field holds as much)
FIELDS = ["id", "identifier", "name", "city", "state", "status", "deletedFlag", "phoneNumber"]


@dataclass(frozen=True)
class CompanyChoice:
    """A ConnectWise company the rep may have meant."""

    cw_id: int
    identifier: str
    name: str
    place: str  # "City, ST" (what ConnectWise holds of it)
    active: bool
    linked_to: str  # the name of the ChannelOnline customer it is linked to ("" when none)


@dataclass(frozen=True)
class Found:
    """The companies shown (at most :data:`MAX_SHOWN`, closest first) and whether more contain the text."""

    choices: list[CompanyChoice]
    more: bool


@dataclass(frozen=True)
class LooksLike:
    """The existing customer that a company about to become a new customer looks like, and what importing the
    company into it would change: (field, the customer's value, the company's, the value after the import).
    ``linked_to``: the ConnectWise company that customer is linked to already ("CW0001 (Northwind Dental
    Group)"): then the company cannot be linked to it (``changes`` is empty), only imported as a second customer.
    ``held_by``: another ConnectWise company whose Company ID is that customer's account number (its own match by
    Company ID, "DEMO00037 “Bayview Logistics” (Denver, CO)"): then it is not offered for linking either (linking
    would renumber it and write this company's fields over its own), and ``held_ident`` is that Company ID."""

    customer_id: int
    label: str  # "Name (account number)"
    why: str  # "same name" or "same phone number"
    changes: tuple[tuple[str, str, str, str], ...] = ()
    linked_to: str = ""
    held_by: str = ""
    held_ident: str = ""

    @property
    def blanked(self) -> list[str]:
        """The fields of ``changes`` that hold a value now and none after linking: ConnectWise has them blank and
        takes them blank (it is the master; with ChannelOnline the master a blank never erases the customer's
        value, and ``changes`` says so in its last column). The popup warns of them by name."""
        blank = M.shown_value("")
        return [label for label, mine, _, after in self.changes if mine != blank and after == blank]

    @property
    def blanked_words(self) -> str:
        """:attr:`blanked` as a sentence names them: "Address Line 1, Zip and Website"."""
        names = self.blanked
        return names[0] if len(names) < 2 else f"{', '.join(names[:-1])} and {names[-1]}"


@dataclass(frozen=True)
class Overwrite:
    """The customer a company is linked to, edited in ChannelOnline since its last sync, and what importing the
    company would replace: (field, ChannelOnline's value, ConnectWise's), contacts' fields named with the
    contact.

    ``linked`` False: the customer is linked to no company yet, and its account number is the company's Company
    ID, so the import links it (as the bulk import and Map Customers do) and replaces its values that differ from
    ConnectWise's; Keep mine links it without importing (``cw_id``: the company's record id).

    ``synced`` False: the customer is linked, but without a sync (on Map customers, on its page, or by Keep mine),
    and nothing was synced since (its link's sync time is before its link time): it was not "edited since its last
    sync", it holds values of its own that differ from ConnectWise's, kept for its next export to send."""

    customer_id: int
    label: str  # "Name (account number)"
    changes: tuple[tuple[str, str, str], ...]
    linked: bool = True
    cw_id: int = 0
    synced: bool = True
    # ConnectWise the master, a linked customer: its edits not exported yet that the import keeps (ConnectWise did not
    # change those fields since the last sync), not listed in ``changes``: "Company Fax “512-555-0199”"; the next
    # export sends them.
    kept: tuple[str, ...] = ()


@dataclass(frozen=True)
class ForImport:
    """What a rep typed in the popup came to: the company with that Company ID (``company``: its id and Company
    ID), or else the companies whose name or Company ID contains it (``found``); ``like``: the customer that
    importing ``company`` as a new customer would likely duplicate."""

    company: CompanyChoice | None
    found: Found | None
    like: LooksLike | None = None
    overwrite: Overwrite | None = None  # the linked customer's unexported edits the import would replace


def companies_like(session: Session, client: ConnectWiseClient, text: str) -> Found:
    """The companies (not deleted) whose name or Company ID contains ``text``: those whose name or Company ID
    starts with it first, then by name."""
    text = _searched(text)
    if not text:
        return Found([], False)
    rows = client.companies.list(conditions=_searching(client, text), fields=FIELDS, order_by="name asc",
                                 page_size=MAX_SHOWN + 1)
    return _found(session, rows, text)


def for_import(session: Session, client: ConnectWiseClient, ident: str) -> ForImport:
    """The company that has the Company ID ``ident`` (deleted or not: importing it says what became of it), or
    else the companies :func:`companies_like` finds. One request asks for both; a second asks for the Company ID
    alone only when more companies contain the text than a page holds and none of them has it.

    Only the Company ID is matched, never ConnectWise's own record id: a Company ID can be digits ("1001"), and
    digits that are no company's Company ID but are another company's record id would import that other
    company, which the rep did not name."""
    ident = ident.strip()[:MAX_TEXT]
    text = _searched(ident)
    if not ident:
        return ForImport(None, Found([], False))
    exact = C.eq("identifier", ident)
    rows = client.companies.list(conditions=_searching(client, text, exact), fields=FIELDS, order_by="name asc",
                                 page_size=MAX_SHOWN + 1)
    if len(rows) > MAX_SHOWN and not any(_same_identifier(r, ident) for r in rows):
        # The one with that Company ID may be past the page.
        hit = with_company_id(client.companies.list(conditions=exact, fields=FIELDS, page_size=MAX_SHOWN), ident)
    else:
        hit = with_company_id(rows, ident)
    if hit is not None:
        return ForImport(_choice(hit, ""), None, looks_like(session, client, hit), overwritten(session, client, hit))
    return ForImport(None, _found(session, rows, text))


def overwritten(session: Session, client: ConnectWiseClient, record: dict) -> Overwrite | None:
    """When ``record`` is linked to a customer edited since its last sync (the panel's "Changed since export"):
    the fields importing it would replace with ConnectWise's values, or None when it is not linked, not edited
    since, or the import would replace nothing the rep holds (a blank in ConnectWise erases the customer's value
    only while ConnectWise is the master). Reads the company whole, and its contacts when one of the customer's
    linked contacts was edited since (a request each).

    When ``record`` is linked to no customer, the import links the customer linked to no company whose account
    number is its Company ID: :func:`_unlinked_overwritten` says what of that customer's it would replace."""
    if record.get("deletedFlag"):
        return None
    link = next(iter(find_by_cw(session, CUSTOMER, int(record["id"]))), None)
    if link is None:
        return _unlinked_overwritten(session, client, record)
    customer = session.get(Customer, link.host_id)
    if customer is None or not _edited_since_sync(customer, link):
        return None
    cw_master = cw_is_master(session)
    full = client.companies.get(int(record["id"]), fields=M.COMPANY_FIELDS)
    kept: list[str] = []
    if cw_master and link.synced_values is not None:
        # The import takes only what ConnectWise changed since the agreement; of those, it replaces a value of the
        # rep's only where ChannelOnline changed the field too (a conflict the master wins). The rep's other edits
        # are kept for the next export: nothing to ask about.
        host = M.customer_values(customer)
        theirs = M.company_host_values(full)
        M.keep_default_site_name(theirs, host, link.synced_values)
        changes = _conflicts(host, theirs, link.synced_values, COMPANY, "", kept)
    else:
        changes = [(rule.host, M.shown_value(mine), M.shown_value(theirs))
                   for rule, mine, theirs in M.company_differences(M.customer_values(customer), full,
                                                                   link.synced_values)
                   if cw_master or theirs not in ("", None)]
    changes += _contact_overwrites(session, client, customer, link, full, cw_master, kept)
    if not changes:
        return None
    synced = link.synced_at is None or link.linked_at is None or link.synced_at >= link.linked_at
    return Overwrite(customer.id, f"{customer.name} ({customer.account_number})", tuple(changes), synced=synced,
                     kept=tuple(kept))


def _unlinked_overwritten(session: Session, client: ConnectWiseClient, record: dict) -> Overwrite | None:
    """The values of the customer linked to no company whose account number is ``record``'s Company ID (the one the
    import links, :meth:`.company_import.CompanyImport._run`) that importing ``record`` would replace: the fields
    (and its contacts' the import matches by e-mail) where the customer holds a value and ConnectWise another — a
    blank in ConnectWise only while ConnectWise is the master. A value the customer lacks is only filled in: no
    question. Nor is a value ConnectWise changed after the customer (or the contact) was last saved in ChannelOnline
    (:func:`cw_changed_since`): the difference is ConnectWise's newer value, not the rep's edit, and taking it loses
    nothing of the rep's. None when no such customer, or nothing of its would be replaced. Reads the company whole,
    and its contacts when the customer has contacts the import could match (a request each)."""
    ident = str(record.get("identifier") or "")
    if not ident:
        return None
    customer = session.execute(select(Customer).where(Customer.account_number == ident).limit(1)).scalar()
    if customer is None or get_link(session, CUSTOMER, customer.id) is not None:
        return None  # (one linked to another company: the import refuses it, and says so)
    cw_master = cw_is_master(session)
    full = client.companies.get(int(record["id"]), fields=M.COMPANY_FIELDS)
    changes = [] if cw_changed_since(customer.updated_at, full, client.server_clock.ahead_high()) else [
        (rule.host, M.shown_value(mine), M.shown_value(theirs))
        for rule, mine, theirs in M.company_differences(M.customer_values(customer), full)
        if _replaced(mine, theirs, cw_master)]
    changes += _unlinked_contact_overwrites(session, client, customer, full, cw_master)
    if not changes:
        return None
    return Overwrite(customer.id, f"{customer.name} ({customer.account_number})", tuple(changes), linked=False,
                     cw_id=int(record["id"]))


def cw_changed_since(saved_at: dt.datetime | None, record: dict, cw_ahead: float = 0.0) -> bool:
    """ConnectWise last changed ``record`` (its ``_info.lastUpdated``, whole seconds, UTC) in a later second than
    ``saved_at``, when the ChannelOnline record was last saved (naive UTC), set by ``cw_ahead``, the seconds
    ConnectWise's clock is ahead of colcw's, taken high (``ServerClock.ahead_high``: on a doubt, the rep's value may be
    the newer): where the two differ, ConnectWise's value is the newer one. False when either time is unknown (the
    rep's value may be the newer: asked)."""
    changed = M.cw_time(record, "lastUpdated")
    if saved_at is None or changed is None:
        return False
    return changed > shifted(saved_at, cw_ahead).replace(microsecond=0)


def _replaced(mine, theirs, cw_master: bool) -> bool:
    """Importing ConnectWise's ``theirs`` over a customer's ``mine`` loses the rep's value: the customer holds one,
    and the import writes another (a blank in ConnectWise is written only while ConnectWise is the master)."""
    return mine not in ("", None) and not M.same(mine, theirs) and (cw_master or theirs not in ("", None))


def _unlinked_contact_overwrites(session: Session, client: ConnectWiseClient, customer: Customer, company: dict,
                                 cw_master: bool) -> list[tuple[str, str, str]]:
    """The fields of an unlinked customer's contacts that importing ``company`` would replace: each of its contacts
    the import updates (the one a company's contact is linked to, else the same person among those linked to none:
    the same e-mail, or the same name when one side has none, as :meth:`.company_import.CompanyImport._plan`
    matches them). One request, only when the
    customer has such contacts."""
    mine = {c.id: c for c in customer.contacts}
    links = {c.id: get_link(session, CONTACT, c.id) for c in customer.contacts}
    free = [(c.id, M.contact_values(c)) for c in customer.contacts if links[c.id] is None]
    linked_to = {link.cw_id: host_id for host_id, link in links.items() if link is not None}
    if not free and not linked_to:
        return []
    same = host_match(free)
    rows = client.contacts.list(conditions=C.eq("company/id", int(company["id"])), fields=M.CONTACT_FIELDS,
                                page_size=1000)
    default_id = (company.get("defaultContact") or {}).get("id")
    labels = CONTACT_TABLE.labels
    cw_ahead = client.server_clock.ahead_high()
    out = []
    for row in rows:
        if row.get("inactiveFlag"):
            continue
        theirs = M.contact_host_values(row, default_id)
        host_id = linked_to.get(int(row["id"]))
        if host_id is None:
            host_id = same_person(same, theirs)
        if host_id is None:
            continue
        same.take(host_id)
        contact = mine[host_id]
        if cw_changed_since(contact.updated_at, row, cw_ahead):
            continue  # ConnectWise's values are the newer: taking them loses nothing of the rep's
        values = M.contact_values(contact)
        # A blank of ConnectWise's erases the contact's value only over an earlier agreement: at the contact's first
        # link it erases nothing, whichever side is the master (the import's rule, CompanyImport._plan).
        agreed_before = links[host_id] is not None and links[host_id].synced_values is not None
        for key, value in theirs.items():
            if key != "is_default" and _replaced(values.get(key), value, cw_master and agreed_before):
                out.append((f"Contact {_contact_name(contact)}: {labels.get(key, key)}",
                            M.shown_value(values.get(key)), M.shown_value(value)))
    return out


def _edited_since_sync(customer: Customer, link: Link) -> bool:
    """The customer or one of its contacts was edited after its link was last synced: the panel's "Changed since
    export" (:func:`~colcw_plugin.models.edited_after`)."""
    return edited_after(customer, link.synced_at)


def _contact_overwrites(session: Session, client: ConnectWiseClient, customer: Customer, link: Link,
                        company: dict, cw_master: bool, kept: list[str]) -> list[tuple[str, str, str]]:
    """The fields of the customer's linked contacts edited since the company's last sync that the import would
    replace: ("Contact Ada Lovelace: Email", ChannelOnline's value, ConnectWise's); those it keeps go into ``kept``
    (ConnectWise the master, as :func:`_conflicts`)."""
    edited = [c for c in customer.contacts if c.updated_at is not None and c.updated_at > link.synced_at]
    links = {c.id: get_link(session, CONTACT, c.id) for c in edited}
    edited = [c for c in edited if links[c.id] is not None]
    if not edited:
        return []
    rows = client.contacts.list(conditions=C.eq("company/id", int(company["id"])), fields=M.CONTACT_FIELDS,
                                page_size=1000)
    theirs_by_id = {int(r["id"]): r for r in rows if not r.get("inactiveFlag")}
    labels = CONTACT_TABLE.labels
    default_id = (company.get("defaultContact") or {}).get("id")
    out = []
    for contact in edited:
        record = theirs_by_id.get(links[contact.id].cw_id)
        if record is None:
            continue
        mine, theirs = M.contact_values(contact), M.contact_host_values(record, default_id)
        if cw_master and links[contact.id].synced_values is not None:  # (as the customer's: :func:`overwritten`)
            out += _conflicts(mine, theirs, links[contact.id].synced_values, CONTACT_TABLE,
                              f"Contact {_contact_name(contact)}: ", kept)
            continue
        for key, value in theirs.items():
            if key == "is_default" or M.same(mine.get(key), value) or not (cw_master or value not in ("", None)):
                continue
            out.append((f"Contact {_contact_name(contact)}: {labels.get(key, key)}", M.shown_value(mine.get(key)),
                        M.shown_value(value)))
    return out


def _conflicts(host: dict, theirs: dict, agreement: dict, table: MappingTable, prefix: str,
               kept: list[str]) -> list[tuple[str, str, str]]:
    """ConnectWise the master, a linked record: the fields an import replaces a value of the rep's in (changed in
    ConnectWise since the link's ``agreement`` and in ChannelOnline too: :meth:`.company_import.CompanyImport._apply`'s
    rule), compared as ConnectWise holds them (a country's or site's spelling; a state spelled otherwise reads as
    changed, the state list not being read for a look-up). The rep's edits the import keeps (fields ConnectWise did not
    change) go into ``kept``, in the run log's words (:func:`.company_import.own_edits`). A field the agreement does
    not hold (a scan link agrees only on the fields both sides held equal then: links.scan_agreement) that differs is
    taken too, and nothing tells a rep's value from an old one: it is listed as well, as live updates note it."""
    compared = {k: v for k, v in theirs.items() if k != "is_default"}
    held = M.as_held(host, compared, StateList(()), table)
    base = M.as_held(agreement, compared, StateList(()), table)
    diffs = differences(held, compared, base, table.labels)
    kept += [prefix + edit for edit in own_edit_list(host, held, compared, diffs, table.labels)]
    return [(f"{prefix}{d.label}", M.shown_value(host.get(d.field)), M.shown_value(d.cw)) for d in diffs
            if d.conflict or d.field not in base]


def _contact_name(contact: Contact) -> str:
    return contact.name or f"#{contact.id}"


def looks_like(session: Session, client: ConnectWiseClient, record: dict) -> LooksLike | None:
    """The customer linked to no company that importing ``record`` as a new customer would likely duplicate, or
    None when the import would not create one (the company is linked, or a customer's account number is its
    Company ID: the import links that customer) or it looks like no such customer.

    A look-alike whose account number another ConnectWise company has as its Company ID (not deleted) is that
    company's customer by Company ID, linked or not: linking it to ``record`` would renumber it and write
    ``record``'s fields over its own, so it is not offered (the one with the same phone number may be, when that
    is another customer); when every look-alike is so, the answer names the first with that company
    (``held_by``), to import ``record`` as a new customer knowingly. One request reads ``record`` whole (for the
    fields importing it into the look-alike would change) and the companies holding the look-alikes' account
    numbers, each a quoted value."""
    if record.get("deletedFlag") or find_by_cw(session, CUSTOMER, int(record["id"])):
        return None
    ident = str(record.get("identifier") or "")
    if session.execute(select(Customer.id).where(Customer.account_number == ident).limit(1)).first() is not None:
        return None
    name, phone = str(record.get("name") or ""), str(record.get("phoneNumber") or "")
    unlinked = LikelyDuplicates(session, unlinked_only=True, read_all=False)
    unlinked.expect([(name, phone), (name, ""), ("", phone)])  # (one read for the three matches below)
    likes: list[tuple[Customer, str]] = []
    for by_name, by_phone in ((name, ""), ("", phone)):  # the same name first, as LikelyDuplicates.match
        like = unlinked.match(by_name, by_phone)
        if like is not None and all(like[0].id != c.id for c, _ in likes):
            customer = session.get(Customer, like[0].id)
            if customer is not None:
                likes.append((customer, like[1]))
    if not likes:
        # A look-alike linked to another company cannot take this one, but a second customer of the same name
        # is still likely a duplicate: the rep confirms it knowingly.
        like = LikelyDuplicates(session, read_all=False).match(name, phone)
        if like is None:
            return None
        match, why = like
        return LooksLike(match.id, match.label, why, linked_to=_linked_company(session, client, match.id))
    full, holders = _with_holders(client, record, [c.account_number or "" for c, _ in likes])
    free = [(c, why) for c, why in likes if (c.account_number or "").casefold() not in holders]
    if not free:
        customer, why = likes[0]
        holder = holders[(customer.account_number or "").casefold()]
        where = place(holder)
        return LooksLike(customer.id, _label(customer), why, held_ident=str(holder.get("identifier") or ""),
                         held_by=f"{holder.get('identifier')} “{holder.get('name') or ''}”"
                                 + (f" ({where})" if where else ""))
    customer, why = free[0]
    # What the import after the popup's link writes into the customer (the link agrees on nothing with ConnectWise
    # the master: links.link_for_import): ConnectWise's values, but for a blank one, which erases the customer's only
    # while ConnectWise is the master. The import's own rule (company_import.imported_values), not a copy of it.
    host = M.customer_values(customer)
    theirs = M.company_host_values(full)
    M.keep_default_site_name(theirs, host)
    after = imported_values(theirs, host, cw_is_master(session))
    changes = tuple((rule.host, M.shown_value(mine), M.shown_value(cw), M.shown_value(after.get(rule.host_attr)))
                    for rule, mine, cw in M.company_differences(host, full))
    return LooksLike(customer.id, _label(customer), why, changes)


def _label(customer: Customer) -> str:
    return f"{customer.name} ({customer.account_number})"


def _with_holders(client: ConnectWiseClient, record: dict, accounts: list[str]) -> tuple[dict, dict[str, dict]]:
    """``record`` read whole, and the other companies (not deleted) whose Company ID is one of ``accounts``, by
    that Company ID case-folded: one request (``id = … or identifier in (…)``). Rows are checked again here, as
    :func:`with_company_id` does (a ``*`` in a value may be taken as a wildcard)."""
    cw_id = int(record["id"])
    wanted = sorted({a for a in accounts if a.strip()})
    condition = C.eq("id", cw_id) if not wanted else C.or_(C.eq("id", cw_id), C.in_("identifier", wanted))
    rows = client.companies.list(conditions=condition, fields=M.COMPANY_FIELDS, order_by="id asc",
                                 page_size=MAX_SHOWN * 5)
    full = next((r for r in rows if int(r["id"]) == cw_id), None)
    if full is None:  # (past the page, which only wildcards could fill)
        full = client.companies.get(cw_id, fields=M.COMPANY_FIELDS)
    folded = {a.casefold() for a in wanted}
    holders: dict[str, dict] = {}
    for row in rows:
        key = str(row.get("identifier") or "").casefold()
        if int(row["id"]) != cw_id and not row.get("deletedFlag") and key in folded:
            holders.setdefault(key, row)
    return full, holders


def _linked_company(session: Session, client: ConnectWiseClient, customer_id: int) -> str:
    """The ConnectWise company a customer is linked to, as people know it: "CW0001 (Northwind Dental Group)" (its
    name as ConnectWise holds it now, else as last synced; its Company ID alone when neither is known)."""
    link = get_link(session, CUSTOMER, customer_id)
    if link is None:
        return ""
    identifier, name = link.cw_identifier or "", str((link.synced_values or {}).get("name") or "")
    try:
        company = client.companies.get(link.cw_id, fields=["id", "identifier", "name"])
    except NotFound:
        company = None
    if company is not None:
        identifier = str(company.get("identifier") or identifier)
        name = str(company.get("name") or name)
    if not identifier:
        return f"with ConnectWise record id {link.cw_id}"
    return f"{identifier} ({name})" if name else identifier


def by_company_id(client: ConnectWiseClient, ident: str) -> dict | None:
    """The company whose Company ID is ``ident`` (deleted or not), or else, for digits only, the company with that
    ConnectWise record id (an admin's run or command may name a company by it; the rep's popup never does)."""
    if not ident:
        return None
    hit = with_company_id(client.companies.list(conditions=C.eq("identifier", ident), fields=M.COMPANY_FIELDS,
                                                page_size=10), ident)
    if hit is not None or not ident.isdigit():
        return hit
    try:
        return client.companies.get(int(ident), fields=M.COMPANY_FIELDS)
    except NotFound:
        return None


def _searched(text: str) -> str:
    return " ".join(text.split())[:MAX_TEXT]


# What a search's URL holds beside its conditions: its other parameters ("&orderBy=name+asc&fields=…&page=1&pageSize=11",
# 118 characters encoded with FIELDS as they are), and the rest spare, so that a field added to FIELDS still fits.
_ROOM = 400


def _searching(client: ConnectWiseClient, text: str, exact: C.Condition | None = None) -> C.Condition:
    """``exact`` (the Company ID typed), or a company not deleted whose name or Company ID contains ``text``, or whose
    name holds its words whatever their accents, case and punctuation (:func:`.customer_matching.name_search_pattern`:
    each accented letter's forms; its vowels as any one character when the forms do not fit ConnectWise's URL
    length, the rows then checked by :func:`_holds`; the words left out when even that does not fit)."""
    room = client.max_url_length - len(client.base_url) - len("company/companies?conditions=") - _ROOM
    for vowels in (True, False):
        pattern = name_search_pattern(text, vowels=vowels)
        if pattern is None:
            break
        condition = _like(text, pattern, exact)
        if len(quote_plus(str(condition))) <= room:
            return condition
    return _like(text, None, exact)


def _like(text: str, pattern: str | None, exact: C.Condition | None) -> C.Condition:
    contained = C.or_(C.contains("name", text), C.like("name", pattern) if pattern else None,
                      C.contains("identifier", text))
    return C.or_(exact, C.and_(contained, C.eq("deletedFlag", False)))


def _holds(row: dict, text: str, regex: str | None) -> bool:
    """``row``'s name or Company ID contains ``text`` (case aside), or its name holds ``text``'s words as
    :func:`.customer_matching.name_search_regex` finds them (accents, case and punctuation aside)."""
    folded = text.casefold()
    name = str(row.get("name") or "")
    return folded in name.casefold() or folded in str(row.get("identifier") or "").casefold() or \
        bool(regex and re.search(regex, name))


def with_company_id(rows: list[dict], ident: str) -> dict | None:
    """The row the import of ``ident`` would take: the one whose Company ID it is (that case first, one not
    deleted first). Rows ConnectWise returned for ``identifier = "<ident>"`` are checked again here: its string
    comparisons may take ``*`` as a wildcard (API-NOTES §4.2), so "A*" could bring back "ABC"."""
    same = [r for r in rows if _same_identifier(r, ident)]
    if same:
        return min(same, key=lambda r: (r.get("identifier") != ident, bool(r.get("deletedFlag"))))
    return None


def _same_identifier(row: dict, ident: str) -> bool:
    return str(row.get("identifier") or "").casefold() == ident.casefold()


def _found(session: Session, rows: list[dict], text: str) -> Found:
    regex = name_search_regex(text)
    more, rows = len(rows) > MAX_SHOWN, [r for r in rows if _holds(r, text, regex)][:MAX_SHOWN]
    linked = _linked_names(session, [int(r["id"]) for r in rows])
    folded = text.casefold()

    def closeness(r: dict) -> tuple:
        name, ident = str(r.get("name") or "").casefold(), str(r.get("identifier") or "").casefold()
        starts = name.startswith(folded) or ident.startswith(folded) or \
            bool(regex and re.match(regex, str(r.get("name") or "")))
        return (not starts, name)

    return Found([_choice(r, linked.get(int(r["id"]), "")) for r in sorted(rows, key=closeness)], more)


def place(record: dict) -> str:
    """A company's "City, ST" as ConnectWise holds it ("" when it has neither)."""
    return ", ".join(p for p in (str(record.get("city") or "").strip(), str(record.get("state") or "").strip()) if p)


def _choice(row: dict, linked_to: str) -> CompanyChoice:
    status = (row.get("status") or {}).get("name") or ""
    return CompanyChoice(cw_id=int(row["id"]), identifier=str(row.get("identifier") or ""),
                         name=str(row.get("name") or ""), place=place(row),
                         active=not status or status.casefold() == M.ACTIVE.casefold(), linked_to=linked_to)


def _linked_names(session: Session, cw_ids: list[int]) -> dict[int, str]:
    """The name of the host customer each of these companies is linked to."""
    links = by_cw(session, CUSTOMER, cw_ids)
    hosts = {link.host_id for link in links.values() if link.host_id is not None}
    if not hosts:
        return {}
    names = dict(session.execute(select(Customer.id, Customer.name).where(among(session, Customer.id, hosts))).all())
    return {cw_id: names[link.host_id] for cw_id, link in links.items() if link.host_id in names}
