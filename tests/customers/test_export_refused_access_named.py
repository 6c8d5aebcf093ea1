"""An export that ConnectWise's security role stops before the customer's own result (a read it refuses with 403)
names the customer, says an admin must give the role access, and is the customer's latest result on its panel and
on All Customers, not the export before it."""

from __future__ import annotations

from html import unescape

from customer_support import make_customer, update_customer
from htmx_loads import loaded

from colcw_plugin.models import RecordState
from colcw_plugin.sync.customers.list_status import row_states
from helpers import csrf_from
from host_stub.extensions import db


def _export(rep_client, customer_id: int):
    token = csrf_from(rep_client.get("/customers/").get_data(as_text=True))
    return rep_client.post(f"/colcw/customers/{customer_id}/export", data={"csrf_token": token})


def test_a_refused_read_names_the_customer_and_asks_an_admin_and_the_panel_shows_it(sync_ready, rep_client):
    customer = make_customer()
    _export(rep_client, customer.id)
    update_customer(customer.id, phone="512-555-7777")
    sync_ready.deny(["company/contacts"])
    resp = _export(rep_client, customer.id)
    assert resp.status_code == 302
    page = " ".join(unescape(loaded(rep_client, f"/customers/{customer.id}")).split())
    said = ("Acme Corp (ACME1) was not exported: ConnectWise refused colcw's API member access to company/contacts "
            "(HTTP 403, a permission of its security role).")
    assert said in page, page
    assert ("Nothing in Acme Corp needs fixing: ask an admin to give the API member's security role access to "
            "company/contacts in ConnectWise") in page
    # The panel's latest result is this failure, not the export before it.
    assert "created in ConnectWise; default contact set." not in page
    assert page.count(said) >= 2  # the flash and the panel
    state = row_states(db.session, [customer.id])[customer.id]
    assert state.state is RecordState.FAILED and said in state.reason
