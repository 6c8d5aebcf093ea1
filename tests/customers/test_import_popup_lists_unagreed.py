"""The Import popup, ConnectWise the master, a customer linked with a partial agreement (Map customers' scan agrees
only on the fields both sides held equal: links.scan_agreement): a field the agreement lacks that differs is taken
by the import (nothing tells a rep's value from an old one, and ConnectWise is the master), so the popup lists it
among the values the import replaces. It listed only fields changed on both sides since the agreement, so the
rep's website went without a question. Against the sandbox over HTTP, the popup as the rep's browser gets it."""

from __future__ import annotations

from customer_support import export, import_popup, link_of, make_customer, text_of, update_customer

from colcw_plugin.models import CW_MASTER
from colcw_plugin.setup.live_updates import get_live
from host_stub.extensions import db
from host_stub.models import Customer


def test_a_field_the_agreement_lacks_is_listed_as_replaced(sync_ready, rep_client):
    customer = make_customer()
    assert export(customer.id).status == "succeeded"
    link = link_of("customer", customer.id)  # (expires the session: read first)
    get_live(db.session).customer_master = CW_MASTER
    # As the scan links it when the two held the website differently: no agreement on it.
    link.synced_values = {k: v for k, v in link.synced_values.items() if k != "website"}
    db.session.commit()
    update_customer(customer.id, website="https://acme-host.example")
    assert sync_ready.api("PATCH", f"company/companies/{link.cw_id}", json=[
        {"op": "replace", "path": "website", "value": "https://acme-cw.example"}]).status_code == 200

    asked = text_of(import_popup(rep_client, company="ACME1"))
    assert 'id="colcw-import-overwrite"' in asked, asked
    table = asked.split('id="colcw-import-overwrites"')[1].split("</table>")[0]
    assert "Website" in table and "https://acme-host.example" in table and "https://acme-cw.example" in table, table

    # Replace takes it, as listed.
    replaced = import_popup(rep_client, company="ACME1", choice="replace")
    assert "HX-Redirect" in replaced.headers, text_of(replaced)
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).website == "https://acme-cw.example"
