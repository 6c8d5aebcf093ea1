"""Map customers: a company that looks like a ChannelOnline customer already linked to another company (a likely
duplicate in ConnectWise, with no customer left to map it to) gives, on its own row, the advice a bulk import's
failure of such a company gives (customer_matching.LINKED_LOOK_ALIKE_FIX, one definition): the row said only that it
may be a duplicate, and the advice showed only when no customer at all was left to map to."""

from __future__ import annotations

import html

from admin_support import BASE

from colcw_plugin.setup.customer_matching import LINKED_LOOK_ALIKE_FIX
from helpers import csrf_from
from host_stub.extensions import db
from host_stub.seed import seed_demo


def _row(page: str, identifier: str) -> str:
    row = page[page.index(f'data-identifier="{identifier}"'):]
    return " ".join(html.unescape(row[:row.index("</tr>")]).split())


def test_a_look_alike_linked_elsewhere_gets_the_merge_advice_on_its_row(admin_client, connected_demo):
    seed_demo(db.session, customers=24, quotes=0)
    token = csrf_from(admin_client.get(BASE + "/").get_data(as_text=True))
    admin_client.post(BASE + "/customers/scan", data={"csrf_token": token})
    page = admin_client.get(BASE + "/customers/map").get_data(as_text=True)
    table = page[page.index('id="unmatched"'):]
    assert 'id="nothing-to-map"' not in table  # customers are left to map to: the table's own hint is not shown
    # CW0004 "Northwind Dental" looks like ChannelOnline's Northwind Dental, linked to DEMO00001 by the scan.
    row = _row(table, "CW0004")
    assert "which is already linked to ConnectWise company DEMO00001: this company may be a duplicate in " \
           "ConnectWise" in row, row
    assert LINKED_LOOK_ALIKE_FIX in row, row
    # A look-alike linked to nothing is offered for mapping, with no merge advice.
    row = _row(table, "CW0006")
    assert "Likely the same as ChannelOnline's" in row and LINKED_LOOK_ALIKE_FIX not in row, row
