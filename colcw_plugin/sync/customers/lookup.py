"""Finding a ConnectWise company for a rep who does not know its Company ID (Import From ConnectWise, §5.3).

The popup imports by Company ID. A rep often knows only the company's name, or part of its Company ID:
when no company has the Company ID typed, the popup offers the companies whose name or Company ID
contains it, each with its place and status and, when it is already linked, the ChannelOnline customer
an import would update. One request (a page of :data:`MAX_SHOWN` and one more, to tell that there are
more), with the rep's text quoted as a conditions value, never pasted into the expression.

:func:`for_import` asks first, in that same request, for the company that has the Company ID typed: the popup
imports (and records a run) only when one has it, so a rep who typed a name gets the list, and the job
history no failed import. When that company is linked to no customer, would not be linked by its Company ID
either, and looks like a customer linked to no company (the bulk import's and Map Customers' likely duplicate,
:class:`.customer_matching.LikelyDuplicates`), ``like`` names that customer: the popup asks the rep first
rather than create a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.bulk import among
from host_stub.models import Customer

from ...cw import ConnectWiseClient, NotFound
from ...cw import conditions as C
from ...models import CUSTOMER, find_by_cw
from ...setup.customer_matching import LikelyDuplicates
from ...setup.live_updates import cw_is_master
from ..shared import fields as M
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
    """The existing customer (linked to no company) that a company about to become a new customer looks like, and
    what importing the company into it would change: (field, the customer's value, the company's, the value
    after the import)."""

    customer_id: int
    label: str  # "Name (account number)"
    why: str  # "same name" or "same phone number"
    changes: tuple[tuple[str, str, str, str], ...] = ()


@dataclass(frozen=True)
class ForImport:
    """What a rep typed in the popup came to: the company with that Company ID (``company``: its id and Company
    ID), or else the companies whose name or Company ID contains it (``found``); ``like``: the customer that
    importing ``company`` as a new customer would likely duplicate."""

    company: CompanyChoice | None
    found: Found | None
    like: LooksLike | None = None


def companies_like(session: Session, client: ConnectWiseClient, text: str) -> Found:
    """The companies (not deleted) whose name or Company ID contains ``text``: those whose name or Company ID
    starts with it first, then by name."""
    text = _searched(text)
    if not text:
        return Found([], False)
    rows = client.companies.list(conditions=_like(text), fields=FIELDS, order_by="name asc",
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
    rows = client.companies.list(conditions=C.or_(exact, _like(text)), fields=FIELDS, order_by="name asc",
                                 page_size=MAX_SHOWN + 1)
    if len(rows) > MAX_SHOWN and not any(_same_identifier(r, ident) for r in rows):
        # The one with that Company ID may be past the page.
        hit = with_company_id(client.companies.list(conditions=exact, fields=FIELDS, page_size=MAX_SHOWN), ident)
    else:
        hit = with_company_id(rows, ident)
    if hit is not None:
        return ForImport(_choice(hit, ""), None, looks_like(session, client, hit))
    return ForImport(None, _found(session, rows, text))


def looks_like(session: Session, client: ConnectWiseClient, record: dict) -> LooksLike | None:
    """The customer linked to no company that importing ``record`` as a new customer would likely duplicate, or
    None when the import would not create one (the company is linked, or a customer's account number is its
    Company ID: the import links that customer) or it looks like no such customer. Only then is the company read
    whole (one request), for the fields importing it into that customer would change."""
    if record.get("deletedFlag") or find_by_cw(session, CUSTOMER, int(record["id"])):
        return None
    ident = str(record.get("identifier") or "")
    if session.execute(select(Customer.id).where(Customer.account_number == ident).limit(1)).first() is not None:
        return None
    like = LikelyDuplicates(session, unlinked_only=True).match(str(record.get("name") or ""),
                                                              str(record.get("phoneNumber") or ""))
    if like is None:
        return None
    match, why = like
    customer = session.get(Customer, match.id)
    full = client.companies.get(int(record["id"]), fields=M.COMPANY_FIELDS)
    # What an import into a customer writes: ConnectWise's values, but for a blank one, which erases the
    # customer's only while ConnectWise is the master (company_import.keep_host_values).
    cw_master = cw_is_master(session)
    changes = tuple((rule.host, M.shown_value(mine), M.shown_value(theirs),
                     M.shown_value(theirs if cw_master or theirs not in ("", None) else mine))
                    for rule, mine, theirs in M.company_differences(M.customer_values(customer), full))
    return LooksLike(match.id, match.label, why, changes)


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


def _like(text: str) -> C.Condition:
    return C.and_(C.or_(C.contains("name", text), C.contains("identifier", text)), C.eq("deletedFlag", False))


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
    more, rows = len(rows) > MAX_SHOWN, rows[:MAX_SHOWN]
    linked = _linked_names(session, [int(r["id"]) for r in rows])
    folded = text.casefold()

    def closeness(r: dict) -> tuple:
        name, ident = str(r.get("name") or "").casefold(), str(r.get("identifier") or "").casefold()
        return (not (name.startswith(folded) or ident.startswith(folded)), name)

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
