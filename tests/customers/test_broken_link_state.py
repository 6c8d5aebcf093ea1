"""All Customers says "Broken link" — not "Failed", which reads as an export that failed — for a customer whose
ConnectWise company was deleted, or one of whose contacts was deleted in ConnectWise: the reason (on hover) says what
happened with its fix, as the customer page does, and the page's panel shows the same state. A real failure beside it
still reads "Failed"."""

from __future__ import annotations

from customer_support import export, items, link_of, make_customer
from htmx_loads import loaded

from helpers import list_states


def _panel_status(client, customer_id: int) -> str:
    import re
    from html import unescape

    page = loaded(client, f"/customers/{customer_id}")
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page.split('id="colcw-link-status">')[1].split("</p>")[0]))
                    .split())


def test_a_company_deleted_in_connectwise_is_a_broken_link(sync_ready, rep_client):
    customer = make_customer()  # Acme Corp, ACME1
    export(customer.id)
    sync_ready.api("DELETE", f"company/companies/{link_of('customer', customer.id).cw_id}")
    export(customer.id)  # refused: the company is gone

    label, reason = list_states(loaded(rep_client, "/customers/"))["ACME1"]
    assert label == "Broken link", (label, reason)
    assert reason.startswith("The linked ConnectWise company ACME1 was deleted in ConnectWise. Restore the company "
                             "in ConnectWise"), reason
    assert list_states(loaded(rep_client, "/customers/?cw=broken_link"))["ACME1"][0] == "Broken link"
    assert "ACME1" not in list_states(loaded(rep_client, "/customers/?cw=failed"))
    status = _panel_status(rep_client, customer.id)
    assert status.startswith("Broken link Linked company ACME1"), status


def test_a_contact_deleted_in_connectwise_is_a_broken_link(sync_ready, rep_client):
    customer = make_customer()  # Ada Lovelace and Charles Babbage
    export(customer.id)
    ada = next(c for c in customer.contacts if c.first_name == "Ada")
    sync_ready.api("DELETE", f"company/contacts/{link_of('contact', ada.id).cw_id}")
    result = export(customer.id)
    said = next(i for i in items(result, "contact") if i.host_id == ada.id)
    assert said.action == "failed" and "was deleted in ConnectWise" in said.message

    label, reason = list_states(loaded(rep_client, "/customers/"))["ACME1"]
    assert label == "Broken link", (label, reason)
    assert reason.startswith(said.message) and said.resolution in reason, reason
    status = _panel_status(rep_client, customer.id)
    assert "Broken link" in status and "see the contact below" in status, status
