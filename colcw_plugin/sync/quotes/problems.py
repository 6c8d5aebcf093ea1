"""Why a document could not be exported: a message, the fix, and the lines at fault.

Every refusal names the record, the reason and the fix (Appendix C style), so the run log,
the document page and the command line can show it as is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..shared.advice import deleted_company_fix

if TYPE_CHECKING:
    from ...setup.opportunity_defaults import Missing


@dataclass(frozen=True)
class LineProblem:
    """One document line that cannot become an opportunity product."""

    line_id: int
    position: int
    item_number: str
    message: str
    resolution: str

    @property
    def label(self) -> str:
        return f"Line {self.position} ({self.item_number})"


@dataclass
class ExportRefused(Exception):
    """The document was not exported (nothing was written for it in ConnectWise, unless ``partly``: its lines were,
    and ConnectWise then refused the opportunity's own update)."""

    message: str
    resolution: str = ""
    lines: list[LineProblem] = field(default_factory=list)
    partly: bool = False
    required: Missing | None = None  # fields ConnectWise said this tenant makes mandatory (remembered: ..setup)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    @property
    def sentence(self) -> str:
        """The message and the fix, as one text (a checklist row, a flash)."""
        return f"{self.message} {self.resolution}".strip()


def converted(number: str, order_number: str | None) -> tuple[str, str]:
    """Why a quote converted to a sales order is not exported (the order is), and what to do instead."""
    order = order_number or "a sales order"
    return f"{number} was converted to {order}, which carries its lines.", f"Export {order} instead."


def refuses_no_lines(line_count: int, exported: bool) -> bool:
    """Whether the export refuses a document for having no lines: one never exported (an exported document whose
    lines were all removed is exported to take them off its opportunity). The checklist and the export both ask."""
    return line_count == 0 and not exported


def no_lines(number: str) -> ExportRefused:
    """A document never exported that has no lines: nothing to put on an opportunity."""
    return ExportRefused(f"{number} has no lines.", "Add the products to the document, then export it.")


# The checklist's Lines row for such a document (:func:`refuses_no_lines`).
NO_LINES_CHECK = "The document has no lines: add products, then export."


def long_name(name: str, limit: int = 100) -> ExportRefused:
    """An opportunity name longer than ConnectWise holds (``limit``: opportunities.NAME_MAX)."""
    return ExportRefused(f"The opportunity name \"{name[:40]}...\" is longer than {limit} characters.",
                         "Shorten the opportunity name on the document.")


def company_deleted(customer_name: str, cw_identifier: str, account_number: str) -> ExportRefused:
    """A document whose customer's linked company was deleted in ConnectWise: the export refuses it (it would write
    into the deleted company's opportunity), and the export page says so before, as the customer's page does."""
    return ExportRefused(f"{customer_name}'s ConnectWise company {cw_identifier} was deleted in ConnectWise.",
                         deleted_company_fix(cw_identifier, account_number) + " Then export this document again.")


# The Options field that says which quote header field holds the opportunity name (views/forms.py).
NAME_FIELD_OPTION = "“Opportunity name comes from the quote header field”"


def no_name_field(options_page: str) -> ExportRefused:
    """Every document's export, while no header field is chosen to hold the opportunity name (and empty names are not
    allowed): the document may well hold a name; an admin's choice is missing, not the rep's."""
    return ExportRefused("no quote header field is chosen to hold the opportunity name, so no document has one yet.",
                         f"An admin chooses it under {options_page} ({NAME_FIELD_OPTION}), or allows empty opportunity "
                         "names there to use the document number.")


def no_contact(customer_name: str) -> ExportRefused:
    """A document whose customer has no contact at all: the export refuses it, and the export page says so before
    (exporting the customer alone cannot help)."""
    return ExportRefused(f"{customer_name} has no contact, and both the customer and a contact must exist in "
                         "ConnectWise to export the document.",
                         f"Add a contact to {customer_name}, export the customer to ConnectWise, then export "
                         "this document again.")


def other_company(number: str, opportunity_id: int, opportunity_name: str, company_name: str) -> ExportRefused:
    """A document linked to an opportunity of another ConnectWise company than its customer's (its customer
    changed after it was exported): the export refuses it, and the export page says so before."""
    return ExportRefused(
        f"{number} is linked to opportunity {opportunity_id} \"{opportunity_name}\" of another ConnectWise company "
        f"({company_name}); its customer changed after it was exported.",
        "Move the opportunity to the new company in ConnectWise, or create a new quote for this customer with the same "
        "lines (Quotes → New quote) and export that.")


def customer_not_linked(customer_name: str, account_number: str, also: str = "") -> str:
    """Why a document's customer has no opportunities to choose from yet, and what to do: it is not linked to a
    ConnectWise company (the company may well exist: the customer's export links it, or creates it). ``also``:
    another way out, said before the full stop."""
    return (f"{customer_name} is not linked to a ConnectWise company yet: export the customer first (it is linked to "
            f"the company whose Company ID is {account_number or 'its account number'}, or that company is created), "
            f"then choose one of its opportunities{also}.")
