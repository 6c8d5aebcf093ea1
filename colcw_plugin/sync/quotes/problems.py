"""Why a document could not be exported: a message, the fix, and the lines at fault.

Every refusal names the record, the reason and the fix (Appendix C style), so the run log,
the document page and the command line can show it as is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from ...text import ELLIPSIS, cw_cut, cw_length_said
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
    """A document never exported that has no lines: nothing to put on an opportunity. One wording for both: the
    checklist's ✗ Lines row says its :attr:`~ExportRefused.sentence`, the refused export its message and fix."""
    return ExportRefused(f"{number} has no lines.", "Add the products to the document, then export it.")


# A line's quantity or amount (quantity × price) from which the checklist asks whether it is meant: far above any
# ordinary quote line, and well below the typo of a field filled with nines (9,999,999,999 in a quantity).
MAX_QUANTITY = Decimal(10_000)
MAX_LINE_AMOUNT = Decimal(1_000_000)


def _money(value: Decimal) -> str:
    return f"{'-' if value < 0 else ''}${abs(value):,.2f}"


def _quantity(value: Decimal) -> str:
    return f"{value.normalize():,f}" if value == value.to_integral_value() else f"{value:,}"


def odd_lines(lines: Iterable[tuple[int, int, str, Decimal, Decimal]]) -> list[tuple[str, tuple[int, str, str]]]:
    """The lines (id, position, item number, quantity, price) whose quantity or amount looks wrong, each in words
    with what identifies it as it is (id, quantity, price): a zero quantity (it adds nothing), a negative quantity
    or price (a credit line, which may be meant), a quantity or line amount from :data:`MAX_QUANTITY` /
    :data:`MAX_LINE_AMOUNT` (a typo, likely). The checklist asks to confirm them; an export sends them as they are."""
    out = []
    for line_id, position, item, quantity, price in sorted(lines, key=lambda x: (x[1], x[0])):
        qty, price = Decimal(quantity or 0), Decimal(price or 0)
        where, amount = f"line {position} ({item})", qty * price
        if qty == 0:
            said = f"{where} has quantity 0: it adds nothing to the opportunity"
        elif qty < 0 or price < 0:
            said = (f"{where} is a credit line ({_quantity(qty)} × {_money(price)} = {_money(amount)}): it lowers the "
                    "opportunity's total")
        elif qty >= MAX_QUANTITY or amount >= MAX_LINE_AMOUNT:
            said = (f"{where} is {_quantity(qty)} × {_money(price)} = {_money(amount)}, above "
                    f"{_quantity(MAX_QUANTITY)} units or {_money(MAX_LINE_AMOUNT)} a line: check it for a typo")
        else:
            continue
        out.append((said, (line_id, str(qty), str(price))))
    return out


# The checklist's warnings (⚠): what a person confirms with a tick before Export now, and what the run of that export
# says they confirmed. A confirmation is a token naming exactly what the row showed (a hash, no user text): the export
# computes it again from what it sends, so a run says "confirmed" only of what was confirmed.
DRIFT = "Changes made in ConnectWise since the last export"
AMOUNTS = "Quantities and amounts"


def warning_token(kind: str, what) -> str:
    """A confirmation of exactly what a warning shows (``what``, as JSON): anything changed since asks again."""
    return f"{kind}:" + hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:16]


def overwritten(changes: Iterable[dict] | None) -> list[dict]:
    """The changes made in ConnectWise since the last export that exporting sets back (a product's quantity, price,
    cost or description) or puts back (a removed product): all but the products added by hand, left as they are."""
    return [c for c in changes or [] if c.get("kind") != "added"]


def drift_token(changes: list[dict]) -> str:
    """The confirmation of overwriting these changes (:func:`overwritten`)."""
    return warning_token("drift", changes)


def amounts_token(odd: list[tuple[str, tuple[int, str, str]]]) -> str:
    """The confirmation of sending these lines as they are (:func:`odd_lines`)."""
    return warning_token("amounts", [flagged for _, flagged in odd])


def long_name(name: str, limit: int = 100) -> ExportRefused:
    """An opportunity name longer than ConnectWise holds (``limit``: opportunities.NAME_MAX), its length said as a
    customer's field too long is (:func:`..shared.fields.customer_length_problems`): counted as ConnectWise counts it,
    in UTF-16 code units, with the reason where that is more than the characters a rep sees
    (:func:`...text.cw_length_said`). The start of the name it quotes is cut as a value sent to ConnectWise is
    (:func:`...text.cw_cut`): within 40 units, never inside what a reader sees as one character, and ends with an ellipsis
    (…) as :func:`...text.shorten` ends what it cuts."""
    return ExportRefused(f"The opportunity name \"{cw_cut(name, 40)}{ELLIPSIS}\" is {cw_length_said(name)}; "
                         f"ConnectWise allows at most {limit}.",
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
