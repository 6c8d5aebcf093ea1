"""An export refused because the company with the customer's account number as its Company ID is linked to another
customer names that customer as a rep knows it: it said "another ChannelOnline customer (id 1)"."""

from __future__ import annotations

from customer_support import export, items, link_of, make_customer


def test_the_refusal_names_the_customer_the_company_is_linked_to(sync_ready):
    acme = make_customer(contacts=[])
    assert export(acme.id).status == "succeeded"
    company_id = link_of("customer", acme.id).cw_id
    assert sync_ready.api("PATCH", f"company/companies/{company_id}", json=[
        {"op": "replace", "path": "identifier", "value": "BETA1"}]).status_code == 200  # renamed in ConnectWise
    beta = make_customer(contacts=[], name="Beta Co", account_number="BETA1")

    [item] = items(export(beta.id), "customer")
    assert item.action == "failed"
    assert item.message == ("Beta Co (BETA1): the ConnectWise company BETA1 is already linked to another "
                            "ChannelOnline customer, Acme Corp (ACME1)."), item.message
