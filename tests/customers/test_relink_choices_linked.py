"""The companies Link to Company ID lists for a name (or part of a Company ID) say plainly which can be linked: the
company this customer is linked to already says so and has no Link (it said "linked to Pioneer Dental: linking it
needs that customer's link cleared first" on Pioneer Dental's own page), and one linked to another customer has its
Link disabled with the reason (typing "47" offered an enabled Link on Granite Law Group's company that then failed
with "Clear that customer's link first.")."""

from __future__ import annotations

import html
import re

from customer_support import export, make_customer

from helpers import csrf_from


def _choices(client, customer_id: int, typed: str) -> dict[str, str]:
    """Each company listed (by Company ID) → its list item's HTML."""
    resp = client.post(f"/colcw/customers/{customer_id}/relink",
                       data={"company": typed, "csrf_token": csrf_from(client.get("/customers/").get_data(as_text=True))})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    page = html.unescape(resp.get_data(as_text=True))
    assert 'id="colcw-relink-choices"' in page, page
    return dict(re.findall(r'<li data-company="([^"]+)">(.*?)</li>', page, re.S))


def _button(item: str) -> str:
    found = re.search(r"<button[^>]*>", item)
    return found.group(0) if found else ""


def test_this_customers_own_company_and_another_customers_are_not_offered_a_working_link(sync_ready, rep_client):
    pioneer = make_customer(name="Pioneer Dental", account_number="DEMO00031", contacts=[])
    granite = make_customer(name="Granite Law Group", account_number="DEMO00047", contacts=[])
    assert export(pioneer.id).status == "succeeded"
    assert export(granite.id).status == "succeeded"
    lab = sync_ready.api("POST", "company/companies", json={
        "identifier": "PDLAB1", "name": "Pioneer Dental Lab", "addressLine1": "1 Way", "city": "Austin",
        "state": "TX", "phoneNumber": "512-555-0177"})
    assert lab.status_code == 201, lab.text

    listed = _choices(rep_client, pioneer.id, "Pioneer Dental")
    own = listed["DEMO00031"]
    assert "already linked to this customer" in own and "linked to Pioneer Dental" not in own, own
    assert _button(own) == "", own  # nothing to link
    assert "disabled" not in _button(listed["PDLAB1"]) and "linked" not in listed["PDLAB1"]

    listed = _choices(rep_client, pioneer.id, "47")
    other = listed["DEMO00047"]
    assert "linked to Granite Law Group: clear that customer's link on its page first to link it here" in other, other
    assert "disabled" in _button(other), other
