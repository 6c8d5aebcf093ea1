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


def said(label: str, cw_id: int, moved: Mapping[str, Any], here: str,
         there: tuple[str, str] | None) -> tuple[str, str]:
    """What live updates say of a contact of the customer ``here`` (its name) moved in ConnectWise to ``moved``, and
    the fix; ``there``: the ChannelOnline customer linked to that company (name, account number), or None. The run log
    and the customer page say it alike."""
    if there is not None:
        name, account = there
        linked = (f"which is linked to the ChannelOnline customer {name} ({account}); ChannelOnline has no way to move "
                  "a contact between customers, so")
        fix = (f"If they work for {name} now, delete them from {here} in ChannelOnline, then Import From ConnectWise "
               f"with Company ID {moved.get('identifier') or account} to have them there; if the move was a mistake, "
               "move them back in ConnectWise (the next live update restores the link).")
    else:
        linked = "which is linked to no ChannelOnline customer;"
        fix = (f"Link or import {where(moved)} to follow them there, then delete them from {here} in ChannelOnline; "
               "or move them back in ConnectWise (the next live update restores the link).")
    return (f"{label}: moved in ConnectWise to {where(moved)} (contact id {cw_id}), {linked} they stay under {here} "
            "here, linked to that ConnectWise contact; exports of this customer will not create them again.", fix)


def clear_refused(name: str, moved: Mapping[str, Any]) -> str:
    """Why a contact's link to the contact ConnectWise moved to another company is not cleared: the next export would
    create the person again under this company."""
    return (f"The ConnectWise link of {name} was not cleared: ConnectWise has this person under {where(moved)}, where "
            "they were moved; without the link the next export would create them again under this company (a second "
            "ConnectWise contact of the same person). If they work there now, delete them from this customer in "
            f"ChannelOnline (and import {moved.get('identifier') or 'that company'} to have them there); if the move "
            "was a mistake, move them back in ConnectWise (the next live update restores the link).")


def export_refused(label: str, cw_id: int, moved: Mapping[str, Any], customer: str) -> tuple[str, str]:
    """What an export of the customer the contact left says instead of creating them again."""
    return (f"{label}: ConnectWise has this person under {where(moved)} (contact id {cw_id}): they were moved there in "
            "ConnectWise; not created again under this company (that would make a second contact of them).",
            f"If they work for {where(moved)} now, delete them from {customer} in ChannelOnline (and import "
            f"{moved.get('identifier') or 'that company'} to have them there); if the move was a mistake, move them "
            "back to this company in ConnectWise.")
