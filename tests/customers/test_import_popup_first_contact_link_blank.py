"""Import From ConnectWise asks before it replaces an unlinked customer's values; with ConnectWise the master it named
a contact's fields ConnectWise holds blank as replaced ("Title: CFO → (blank)"), but the import erases nothing at a
contact's first link (no earlier agreement: the host keeps its value, the next export fills it in). It now asks only
about the values the import does replace. Against the sandbox over HTTP."""

from __future__ import annotations

import time

from customer_support import acme_with_a_bare_ada, import_popup, make_customer, text_of

from colcw_plugin.models import CW_MASTER
from colcw_plugin.setup.live_updates import get_live
from host_stub.extensions import db


def test_the_popup_names_no_blank_of_connectwise_at_a_contacts_first_link(sync_ready, rep_client):
    acme_with_a_bare_ada(sync_ready)
    time.sleep(1.05)  # ConnectWise dates records in whole seconds: the customer is saved a second later (the newer)
    make_customer()  # ACME1, Ada: CFO, her phones, Austin TX; linked to nothing
    get_live(db.session).customer_master = CW_MASTER
    db.session.commit()

    html = text_of(import_popup(rep_client, company="ACME1"))
    assert 'id="colcw-import-overwrites"' in html, html
    rows = html.split('id="colcw-import-overwrites"')[1].split("</table>")[0]
    assert "512-555-0777" in rows, rows  # ConnectWise's other phone replaces Ada's: asked
    assert "Title" not in rows and "(blank)" not in rows, rows  # its blanks erase nothing: not asked
