"""A sales order's checklist says the opportunity its export creates is created Won (a quote's is open), and the
export does just that."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from quote_support import line

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]


def _opportunity_row(client, doc_id: int) -> str:
    page = client.get(f"/colcw/documents/{doc_id}/export").get_data(as_text=True)
    row = re.search(r'<tr class="ok" id="colcw-check-opportunity">(.*?)</tr>', page, re.S).group(1)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", row)).split())


def test_a_sales_orders_new_opportunity_is_said_to_be_created_won(world, rep_client):
    order = world.quote([line("OPT-7010")], name="Granite hires order", doc_type="order")
    assert ("Creates a new opportunity “Granite hires order” for Acme Dental, Won: a sales order's new opportunity is "
            "Won.") in _opportunity_row(rep_client, order.id)
    quote = world.quote([line("OPT-7010")], name="Granite hires quote")
    row = _opportunity_row(rep_client, quote.id)
    assert "Creates a new opportunity “Granite hires quote” for Acme Dental." in row and "Won" not in row

    run = world.export(order.id)  # what the row said
    assert run.status == "succeeded", run.message
    [opp] = world.opportunities()
    assert opp["name"] == "Granite hires order" and world.status_of(opp["id"])["wonFlag"]
