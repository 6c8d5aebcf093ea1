"""A document whose customer has no contact at all: its checklist's contact row says so and what to do (add one), as
the export's refusal does. It said "export the customer (with its contacts) first", and the customer's export, done,
changed nothing: the row stayed ✗ with no way forward."""

from __future__ import annotations

import html
import re

import pytest
from quote_support import items, line

from host_stub import services

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]


def _row(page: str, label: str) -> tuple[str, str]:
    row = next(r for r in re.findall(r"<tr class=\"[^\"]*\".*?</tr>", page, re.S) if label in r)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    return re.match(r'<tr class="([^"]*)"', row).group(1), " ".join(html.unescape(re.sub(r"<[^>]+>", "", cells[2])).split())


def test_the_contact_row_of_a_customer_without_contacts_says_to_add_one(world, rep_client):
    customer = services.save_customer({"name": "Quiet Clinic", "account_number": "QUIET1"})
    doc = services.save_document({"customer_id": customer.id, "contact_id": None}, [line("OPT-7010")],
                                 custom_fields={world.field_id: "Quiet deal"})
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    state, text = _row(page, "Contact (none) in ConnectWise")
    assert state == "error"
    assert text == ("Quiet Clinic has no contact, and both the customer and a contact must exist in ConnectWise to "
                    "export the document. Add a contact to Quiet Clinic, export the customer to ConnectWise, then "
                    "export this document again.")

    # The export says the same.
    [item] = items(world.export(doc.id))
    assert item.action == "failed"
    assert f"{item.message} {item.resolution}".endswith(text)
