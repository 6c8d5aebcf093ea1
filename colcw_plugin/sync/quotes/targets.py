"""Where a document's export goes, and what a person must confirm before it goes there: one definition for the
export checklist (:func:`.picker.export_target`, which asks) and the export itself (:mod:`.export`, which refuses,
in a run nobody confirmed, what the checklist would have asked: a bulk export from a list, a schedule, a Retry).

A person confirms exporting into a closed, Won or Lost opportunity (:func:`closed_warning`), and creating a new
opportunity whose name differs from one of the customer's only by upper and lower case (:func:`case_slip_warning`).
A confirmation is for one target (:func:`confirm_token`): the opportunity it names, reached the way it was shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


class _Document(Protocol):
    """What the warnings need of a document: a host :class:`~host_stub.models.Document` or the export's held one."""

    number: str

    @property
    def is_quote(self) -> bool: ...


@dataclass(frozen=True)
class OpportunityChoice:
    """One ConnectWise opportunity as the picker shows it."""

    id: int
    name: str
    company_id: int | None
    status: str
    closed: bool
    won: bool
    lost: bool
    stage: str
    expected_close: dt.date | None
    amount: Decimal
    company_name: str = ""

    @property
    def state(self) -> str:
        """Won, Lost, Closed or Open, from ConnectWise's status flags (never the status name)."""
        return "Won" if self.won else "Lost" if self.lost else "Closed" if self.closed else "Open"

    @property
    def is_closed(self) -> bool:
        return self.closed or self.won or self.lost


def choice_of(row: dict, flags: dict[int, dict], amounts: dict[int, Decimal] | None = None) -> OpportunityChoice:
    """An opportunity as ConnectWise answered it (``flags``: its statuses by id, for their flags; ``amounts``: the
    opportunities' totals, when read)."""
    status = row.get("status") or {}
    flag = flags.get(status.get("id"), {})
    close = str(row.get("expectedCloseDate") or "")[:10]
    return OpportunityChoice(
        id=int(row["id"]), name=str(row.get("name", "")), company_id=(row.get("company") or {}).get("id"),
        status=str(status.get("name") or flag.get("name") or ""), closed=bool(flag.get("closedFlag")),
        won=bool(flag.get("wonFlag")), lost=bool(flag.get("lostFlag")), stage=str((row.get("stage") or {}).get("name", "")),
        expected_close=dt.date.fromisoformat(close) if close else None, amount=(amounts or {}).get(int(row["id"]), Decimal(0)),
        company_name=str((row.get("company") or {}).get("name") or ""))


def confirm_token(how: str, opportunity_id: int | None) -> str:
    """A confirmation of one target: ``how`` the export reaches it ("linked", "quote": a sales order's quote's, "name",
    "new"), and the opportunity's id (None: a new one)."""
    return f"{how}:{opportunity_id if opportunity_id is not None else 'new'}"


def closed_warning(choice: OpportunityChoice, doc: _Document) -> str | None:
    """What exporting ``doc`` into a closed, Won or Lost opportunity does (None for an open one)."""
    if not choice.is_closed:
        return None
    what = f"Opportunity {choice.id} “{choice.name}” is {choice.state} in ConnectWise (status “{choice.status}”)."
    if not doc.is_quote:
        if choice.won:
            return None  # a sales order turns its opportunity Won anyway: nothing unexpected
        return f"{what} Exporting sales order {doc.number} adds its lines to it and sets it Won."
    return (f"{what} Exporting quote {doc.number} adds its lines to it; its status stays {choice.state}. "
            "Reopen it in ConnectWise first if the deal is live again, or choose an open opportunity.")


def case_slip_warning(customer_name: str, slips: Sequence[OpportunityChoice], name: str) -> str:
    """What creating a new opportunity ``name`` does when the customer has ``slips``, opportunities named like it but
    for upper and lower case."""
    names = ", ".join(f"{c.id} “{c.name}”" for c in slips)
    return (f"{customer_name} already has opportunity {names} in ConnectWise, named like “{name}” but for upper and "
            f"lower case. Exporting creates a second opportunity “{name}”. Link the document to the existing one "
            "instead, or correct the name — or confirm that you want a new one.")
