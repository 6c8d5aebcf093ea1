"""All Customers' ConnectWise column, its filter and the customer page's panel name one state per customer, and each
filter option selects exactly the rows that show its label (walkthrough). With ChannelOnline the master for customer
data, a live update that did not take ConnectWise's changes moved "last synced", and the customer read "Synced" while
ConnectWise differed: it reads "Synced — ConnectWise differs (not taken)" while those notes are open (not dismissed).
A customer whose export stopped at a look-alike company says so, not "links … or creates it"."""

from __future__ import annotations

import html as html_lib

import pytest
from customer_support import export, make_customer, run
from htmx_loads import loaded

from colcw_plugin.models import HOST_MASTER, get_link
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.inbound import LIVE_KIND
from helpers import csrf_from, list_states
from host_stub.extensions import db

pytestmark = pytest.mark.postgres

DIFFERS = "Synced — ConnectWise differs (not taken)"


_rows = list_states


def _link_status(client, customer_id: int) -> str:
    page = loaded(client, f"/customers/{customer_id}")
    return " ".join(html_lib.unescape(page.split('id="colcw-link-status">')[1].split("</p>")[0]).split())


def _live_update(cw_id: int) -> None:
    run(LIVE_KIND, {"records": {"company": [cw_id]}})
    db.session.expire_all()


def test_a_live_update_that_took_nothing_says_connectwise_differs_until_the_notes_are_dismissed(sync_ready,
                                                                                               rep_client):
    get_live(db.session).customer_master = HOST_MASTER
    db.session.commit()
    customer = make_customer(name="Differ Dental", account_number="DIFF1", city="Boise", contacts=[])
    quiet = make_customer(name="Quiet Quilts", account_number="QUIET1", contacts=[])
    export(customer.id)
    export(quiet.id)
    cw_id = get_link(db.session, "customer", customer.id).cw_id
    sync_ready.edit_company(cw_id, {"city": "Nampa"})  # changed in ConnectWise: not taken (ChannelOnline the master)
    _live_update(cw_id)
    assert db.session.get(type(customer), customer.id).city == "Boise"

    rows = _rows(loaded(rep_client, "/customers/"))
    assert rows["DIFF1"][0] == DIFFERS, rows["DIFF1"]
    assert "did not take them" in rows["DIFF1"][1] and "export it" in rows["DIFF1"][1]
    assert rows["QUIET1"][0] == "Synced"
    # The filter: each option selects the rows showing its label, and only those.
    assert set(_rows(loaded(rep_client, "/customers/?cw=cw_differs"))) == {"DIFF1"}
    assert set(_rows(loaded(rep_client, "/customers/?cw=synced"))) == {"QUIET1"}
    assert f'<option value="cw_differs">{DIFFERS}</option>' in html_lib.unescape(loaded(rep_client, "/customers/"))
    # The customer's panel says the same state, beside its last synced time.
    status = _link_status(rep_client, customer.id)
    assert "last synced" in status and DIFFERS in status and "Changed since export" not in status, status

    # Dismissed ("Keep ChannelOnline's value"), the note no longer counts: synced, on both pages.
    page = loaded(rep_client, f"/customers/{customer.id}")
    resp = rep_client.post(f"/colcw/customers/{customer.id}/notes/dismiss", data={
        "note": f"customer:{customer.id}:city", "seen": "Nampa", "csrf_token": csrf_from(page)})
    assert resp.status_code == 302
    assert _rows(loaded(rep_client, "/customers/"))["DIFF1"][0] == "Synced"
    assert DIFFERS not in _link_status(rep_client, customer.id)


def test_a_customer_stopped_at_a_look_alike_says_the_export_stops_there(sync_ready, rep_client):
    customer = make_customer()  # "Acme Corp", ACME1
    assert sync_ready.api("POST", "company/companies", json={"identifier": "ACMEOLD", "name": "ACME CORP.",
                                                             "city": "Austin"}).status_code == 201
    token = csrf_from(rep_client.get("/customers/").get_data(as_text=True))
    rep_client.post(f"/colcw/customers/{customer.id}/export", data={"csrf_token": token})
    label, reason = _rows(loaded(rep_client, "/customers/"))["ACME1"]
    assert label == "Failed"
    assert "or creates it" not in reason
    assert "so no company was created for it" in reason and "Link to Company ID ACMEOLD" in reason \
        and "confirm creating a new company" in reason, reason
