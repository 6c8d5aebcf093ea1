"""A contact moved to another company in ConnectWise: it still exists there, so it is neither deleted nor to be
created again.

Live updates and the safety net tell a move from the contact they read (its ``company`` is another company): the
contact's link keeps pointing at it (marked broken, as the company no longer holds it) and remembers where it went
(:data:`MOVED` in the link's agreement). An export of the customer it left never creates the person again (it would be
a second contact in ConnectWise with the same e-mail): it fails the contact, naming the company ConnectWise has them
under; an import of that company does not make a second ChannelOnline contact of them while the first still exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MOVED = "moved_to"  # in a contact link's agreement: {"company": id, "identifier": …, "name": …}


def moved_to(agreement: Mapping[str, Any] | None) -> dict | None:
    """Where ConnectWise moved the linked contact (None: not known to have moved)."""
    value = (agreement or {}).get(MOVED)
    return value if isinstance(value, dict) else None


def mark(company: Mapping[str, Any] | None) -> dict:
    """The marker for a contact read under ``company`` (the contact's ``company`` reference)."""
    company = company or {}
    return {"company": company.get("id"), "identifier": str(company.get("identifier") or ""),
            "name": str(company.get("name") or "")}


def where(moved: Mapping[str, Any]) -> str:
    """"Northwind Dental (Company ID DEMO00001)"."""
    name = moved.get("name") or f"company id {moved.get('company')}"
    return f"{name} (Company ID {moved['identifier']})" if moved.get("identifier") else name


def export_refused(label: str, cw_id: int, moved: Mapping[str, Any], customer: str) -> tuple[str, str]:
    """What an export of the customer the contact left says instead of creating them again."""
    return (f"{label}: ConnectWise has this person under {where(moved)} (contact id {cw_id}): they were moved there in "
            "ConnectWise; not created again under this company (that would make a second contact of them).",
            f"If they work for {where(moved)} now, delete them from {customer} in ChannelOnline (and import "
            f"{moved.get('identifier') or 'that company'} to have them there); if the move was a mistake, move them "
            "back to this company in ConnectWise.")
