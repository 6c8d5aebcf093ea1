"""Advice that several features give in the same words."""

from __future__ import annotations

from ...cw import places
from ...setup import pages

# What a rep is told when ConnectWise refuses colcw itself, not the record: the export's failure and the checklist's
# connection row give the same fix, each in its own sentence.
ASK_ADMIN_FOR_KEYS = f"ask an admin to check the API keys and run Test Connection ({pages.CONNECTION.name})"


def ask_admin_for_access(area: str | None = None) -> str:
    """A 403 is no wrong key: the API member's security role lacks ``area`` (None: the area ConnectWise named)."""
    return (f"ask an admin to give the API member's security role access to {area or 'this area'} in ConnectWise "
            f"({places.SECURITY_ROLES})")


def deleted_company_fix(cw_identifier: str, account_number: str) -> str:
    """What works when a customer's linked company was deleted in ConnectWise (the customer page, an export, a live
    update say it alike). ConnectWise keeps a deleted company's Company ID and refuses a new company with it, so
    clearing the link alone is a way out only when the customer's account number is another Company ID."""
    fix = ("Restore the company in ConnectWise and export again, or link the customer to another company (Link to "
           "Company ID on the customer's page)")
    if (cw_identifier or "").casefold() == (account_number or "").casefold():
        return (f"{fix}, or give the customer another account number and clear the link: the next export then "
                f"creates a new company (ConnectWise keeps the deleted company's Company ID {account_number}, so a "
                "new company cannot have it).")
    return f"{fix}, or clear the link: the next export then creates a new company with the Company ID {account_number}."


# A live update under ChannelOnline as the master found ConnectWise's changes and did not take them: what to do. The
# customer's page shows it with its last result (customers/links.status), as long as it holds: once ConnectWise is the
# master, making it the master is done and an export no longer puts ChannelOnline's values back.
HOST_MASTER_DRIFT_FIX = ("Export the customer to put ChannelOnline's values back into ConnectWise, or make ConnectWise "
                         "the master for customer data (Connection page, Live updates).")
CW_MASTER_SINCE = ("ConnectWise has since been made the master for customer data: live updates take its values into "
                   "ChannelOnline when they read this company again.")


def current_fix(resolution: str, cw_master: bool) -> str:
    """A stored result's advice as it holds under the master of now (``cw_master``: ConnectWise is)."""
    return CW_MASTER_SINCE if cw_master and resolution == HOST_MASTER_DRIFT_FIX else resolution
