"""What a rep reads when ConnectWise refuses or fails: the reason as it was (a server error is not a timeout),
and the fix said once."""

from __future__ import annotations

from html import unescape

from customer_support import export, items, make_customer

from colcw_plugin.models import CUSTOMER, set_link
from helpers import csrf_from
from host_stub.extensions import db


def test_a_server_error_on_an_import_from_the_popup_is_called_one_not_a_timeout(connected, rep_client):
    connected.add_fault(status=503, path="company/companies")
    token = csrf_from(rep_client.get("/colcw/import").get_data(as_text=True))
    html = unescape(rep_client.post("/colcw/import", data={"csrf_token": token, "company": "ACME1"},
                                    headers={"HX-Request": "true"}).get_data(as_text=True))
    connected.clear_faults()
    assert "ConnectWise answered with a server error." in html, html
    assert "did not answer in time" not in html
    assert "HTTP 503" in html and "Try again in a few minutes, once ConnectWise answers again." in html


def test_a_refused_export_says_the_fix_once(sync_ready):
    taken = sync_ready.api("POST", "company/companies", json={"identifier": "TAKEN1", "name": "Other Co",
                                                                "city": "Austin"}).json()
    mine = sync_ready.api("POST", "company/companies", json={"identifier": "MINE1", "name": "Acme Corp",
                                                               "city": "Austin"}).json()
    customer = make_customer(account_number="TAKEN1", contacts=[])
    set_link(db.session, CUSTOMER, customer.id, mine["id"], cw_identifier="MINE1")
    db.session.commit()
    run = export(customer.id)
    (item,) = items(run, "customer")
    assert item.action == "failed"
    assert "identifier" in item.message and item.message.endswith(".")
    # The fix is the resolution; the message does not say it too ("…and save again Correct the fields…").
    assert "Correct the fields" not in item.message, item.message
    # The field ConnectWise named, as the host labels it (tests/customers/test_export_refusals_named.py).
    assert "ConnectWise refused the Customer Number of Acme Corp" in item.message, item.message
    assert item.resolution == "Correct the customer's Customer Number in ChannelOnline and export again."
    assert sync_ready.api("GET", f"company/companies/{taken['id']}").json()["name"] == "Other Co"
