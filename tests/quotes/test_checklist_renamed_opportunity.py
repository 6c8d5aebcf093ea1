"""An exported document whose opportunity-name field is changed afterwards stays linked to its opportunity by id:
its checklist says where the export goes (ConnectWise's answer) and that the new name neither renames that
opportunity nor moves the lines, and how to get either; the export then does just that."""

from __future__ import annotations

import html
import re

import pytest
from quote_support import line

from helpers import sign_in
from host_stub import services

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]


def _opportunity_row(app, doc_id: int) -> str:
    with app.app_context():
        rep = sign_in(app.test_client(), "riley@demo.example")
        page = rep.get(f"/colcw/documents/{doc_id}/export").get_data(as_text=True)
    row = re.search(r'<tr class="ok" id="colcw-check-opportunity">(.*?)</tr>', page, re.S).group(1)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())


def test_the_checklist_of_a_renamed_exported_quote_says_the_name_changes_nothing_and_what_does(world, app):
    quote = world.quote([line("OPT-7010", qty=2)], name="Original name")
    assert world.export(quote.id).status == "succeeded"
    [opp] = world.opportunities()
    services.set_locked(quote.id, False)
    services.save_document({}, None, document_id=quote.id, custom_fields={world.field_id: "Renamed"})

    row = _opportunity_row(app, quote.id)
    assert f"Goes to opportunity {opp['id']} “Original name”, open." in row  # what ConnectWise said
    assert (f"The opportunity name on the document is now “Renamed”, but an exported quote stays linked to its "
            f"opportunity by id: the export neither renames opportunity {opp['id']} nor moves these lines to another "
            "one. To rename it, rename it in ConnectWise; for a new opportunity “Renamed”, put the lines on a new "
            "quote with that name and export that one.") in row

    # The export does what the row says: the same opportunity, its name and lines as they were.
    run = world.export(quote.id)
    assert run.status == "succeeded", run.message
    assert [(o["id"], o["name"]) for o in world.opportunities()] == [(opp["id"], "Original name")]
    assert [p["quantity"] for p in world.products(opp["id"])] == [2]
    # And the way it names: a new quote of that name makes the new opportunity.
    other = world.quote([line("OPT-7010", qty=2)], name="Renamed")
    assert world.export(other.id).status == "succeeded"
    assert sorted(o["name"] for o in world.opportunities()) == ["Original name", "Renamed"]


def test_a_renamed_sales_order_is_told_to_use_a_new_quote_which_the_host_can_make(world, app):
    """The host makes a sales order only by converting a quote (Quotes → New quote, no New sales order): the way to a
    new opportunity it names is a new quote."""
    order = world.quote([line("OPT-7010")], name="Order deal", doc_type="order")
    assert world.export(order.id).status == "succeeded"
    [opp] = world.opportunities()
    services.set_locked(order.id, False)
    services.save_document({}, None, document_id=order.id, custom_fields={world.field_id: "Renamed order"})

    row = _opportunity_row(app, order.id)
    assert (f"The opportunity name on the document is now “Renamed order”, but an exported sales order stays linked "
            f"to its opportunity by id: the export neither renames opportunity {opp['id']} nor moves these lines to "
            "another one. To rename it, rename it in ConnectWise; for a new opportunity “Renamed order”, put the "
            "lines on a new quote with that name and export that one.") in row
