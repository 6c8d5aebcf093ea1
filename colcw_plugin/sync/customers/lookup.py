"""Finding a ConnectWise company for a rep who does not know its Company ID (Import From ConnectWise, §5.3).

The popup imports by Company ID. A rep often knows only the company's name, or part of its Company ID:
when no company has the Company ID typed, the popup offers the companies whose name or Company ID
contains it, each with its place and status and, when it is already linked, the ChannelOnline customer
an import would update. One request (a page of :data:`MAX_SHOWN` and one more, to tell that there are
more), with the rep's text quoted as a conditions value, never pasted into the expression.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.bulk import among
from host_stub.models import Customer

from ...cw import ConnectWiseClient
from ...cw import conditions as C
from ...models import CUSTOMER
from ..shared import fields as M
from .link_batch import by_cw

MAX_SHOWN = 10
MAX_TEXT = 100  # what is searched for (the popup's field holds as much)
FIELDS = ["id", "identifier", "name", "city", "state", "status", "deletedFlag"]


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


def companies_like(session: Session, client: ConnectWiseClient, text: str) -> Found:
    """The companies (not deleted) whose name or Company ID contains ``text``: those whose name or Company ID
    starts with it first, then by name."""
    text = " ".join(text.split())[:MAX_TEXT]
    if not text:
        return Found([], False)
    wanted = C.and_(C.or_(C.contains("name", text), C.contains("identifier", text)), C.eq("deletedFlag", False))
    rows = client.companies.list(conditions=wanted, fields=FIELDS, order_by="name asc", page_size=MAX_SHOWN + 1)
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
