"""The opportunity picker for a quote whose customer is not linked yet says so — it does not claim the company
is missing from ConnectWise (it may well be there: the customer's export links it)."""

from __future__ import annotations

from html import unescape

from quote_support import line

from colcw_plugin.models import remove_link
from host_stub.extensions import db


def test_the_picker_says_the_customer_is_not_linked_yet_not_that_connectwise_lacks_it(world, rep_client):
    doc = world.quote([line("OPT-7010")])
    remove_link(db.session, "customer", world.customer_id)  # the company ACME01 is still in ConnectWise
    db.session.commit()
    html = unescape(rep_client.get(f"/colcw/documents/{doc.id}/opportunities").get_data(as_text=True))
    assert ("Acme Dental is not linked to a ConnectWise company yet: export the customer first (it is linked to the "
            "company whose Company ID is ACME01, or that company is created), then choose one of its opportunities "
            "(or keep the name field to create a new one).") in html, html
    assert "is not in ConnectWise yet" not in html
