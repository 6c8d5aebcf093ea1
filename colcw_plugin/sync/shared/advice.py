"""Advice that several features give in the same words."""

from __future__ import annotations


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
