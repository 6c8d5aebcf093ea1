"""The export checklist of a document whose customer is not in ConnectWise yet asks ConnectWise where the export goes
all the same: a type chosen for new opportunities that ConnectWise no longer accepts (an admin's fix) shows at once,
beside "export the customer first", not after the rep has exported the customer and come back. It used to ask only
once every other check was ticked, so the rep exported the customer and only then learnt the export was refused."""

from __future__ import annotations

import html
import re

import pytest
from quote_support import line, opportunity_status

from colcw_plugin.setup.connection import read_settings
from helpers import csrf_from, sign_in
from host_stub import services
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

BASE = "/admin/integration/connectwise"
INACTIVE = "The opportunity type “Renewal” chosen for new opportunities is inactive in ConnectWise."


def _row(page: str, label: str) -> tuple[str, str]:
    row = next(r for r in re.findall(r"<tr class=\"[^\"]*\".*?</tr>", page, re.S) if label in r)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    return re.match(r'<tr class="([^"]*)"', row).group(1), " ".join(html.unescape(re.sub(r"<[^>]+>", "", cells[2])).split())


def _rep_page(app, doc_id: int) -> str:
    with app.app_context():  # (a context of its own: the test's remembers the admin signed in)
        rep = sign_in(app.test_client(), "riley@demo.example")
        return rep.get(f"/colcw/documents/{doc_id}/export").get_data(as_text=True)


def _renewal_inactive(world, admin_client) -> None:
    renewal = next(r["id"] for r in world.api("sales/opportunities/types") if r["description"] == "Renewal")
    token = csrf_from(admin_client.get(BASE + "/new-opportunities").get_data(as_text=True))
    resp = admin_client.post(BASE + "/new-opportunities", data={
        "csrf_token": token, "type_id": str(renewal), "stage_id": "", "status_id": ""})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    resp = world.sandbox.api("PATCH", f"sales/opportunities/types/{renewal}",
                             json=[{"op": "replace", "path": "inactiveFlag", "value": True}])
    assert resp.status_code == 200, resp.text


def test_an_unexported_customers_document_shows_the_refused_type_with_the_customer_row(app, world, admin_client):
    _renewal_inactive(world, admin_client)
    customer = services.save_customer({"name": "Harbor Vets", "account_number": "HARBOR1"},
                                      [{"first_name": "Ana", "last_name": "Lopez", "is_default": True}])
    doc = services.save_document({"customer_id": customer.id, "contact_id": customer.contacts[0].id},
                                 [line("OPT-7010")], custom_fields={world.field_id: "Harbor deal"})
    page = _rep_page(app, doc.id)
    assert _row(page, "Customer Harbor Vets in ConnectWise") == ("error", "Not exported yet: export the customer first.")
    state, text = _row(page, "Opportunity")
    assert state == "error" and INACTIVE in text
    assert 'id="colcw-export-submit" disabled' in page


def test_an_unexported_customers_document_with_nothing_refused_keeps_its_opportunity_ticked(world, rep_client):
    customer = services.save_customer({"name": "Dune Cafe", "account_number": "DUNE1"},
                                      [{"first_name": "Ben", "last_name": "Ito", "is_default": True}])
    doc = services.save_document({"customer_id": customer.id, "contact_id": customer.contacts[0].id},
                                 [line("OPT-7010")], custom_fields={world.field_id: "Dune deal"})
    page = rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    state, text = _row(page, "Opportunity")
    assert state == "ok" and "“Dune deal”" in text
    assert world.opportunities() == [] and world.api("company/companies", conditions='identifier="DUNE1"') == []


def test_an_empty_name_allowed_goes_by_the_document_number_as_the_export_does(app, world, admin_client):
    """With empty names allowed, the export looks up and creates the opportunity by the document number: the
    checklist asks ConnectWise the same (it used to ask nothing, and showed no refusal for an inactive type)."""
    _renewal_inactive(world, admin_client)
    read_settings(db.session).allow_empty_opportunity_name = True
    db.session.commit()
    doc = world.quote([line("OPT-7010")], name=None)
    page = _rep_page(app, doc.id)
    state, text = _row(page, "Opportunity")
    assert state == "error" and INACTIVE in text


def test_an_unexported_customer_whose_company_connectwise_holds_gets_its_opportunities_checked(app, world):
    """The customer's export links the company whose Company ID is its account number: the checklist goes by the name
    among that company's opportunities before the customer is exported, so a Won one of that name asks first (it
    said "Adds the lines to the customer's opportunity named exactly …, or creates it" until the customer was
    exported)."""
    company = world.sandbox.api("POST", "company/companies", json={
        "identifier": "GRANITE9", "name": "Granite Dental", "city": "Austin"}).json()
    contact = world.sandbox.api("POST", "company/contacts", json={
        "firstName": "Ivy", "lastName": "Moss", "company": {"id": company["id"]}}).json()
    resp = world.sandbox.api("POST", "sales/opportunities", json={
        "name": "Granite chairs", "company": {"id": company["id"]}, "contact": {"id": contact["id"]},
        "primarySalesRep": {"id": world.member_id},
        "status": {"id": opportunity_status(world, "wonFlag")["id"]}, "expectedCloseDate": "2026-12-31T00:00:00Z"})
    assert resp.status_code == 201, resp.text
    opp = resp.json()
    customer = services.save_customer({"name": "Granite Dental", "account_number": "GRANITE9"},
                                      [{"first_name": "Ivy", "last_name": "Moss", "is_default": True}])
    doc = services.save_document({"customer_id": customer.id, "contact_id": customer.contacts[0].id},
                                 [line("OPT-7010")], custom_fields={world.field_id: "Granite chairs"})
    page = _rep_page(app, doc.id)
    state, text = _row(page, "Opportunity")
    assert state == "ok" and f"Goes to opportunity {opp['id']} “Granite chairs” (same name), won." in text, text
    assert f"Opportunity {opp['id']} “Granite chairs” is Won in ConnectWise" in " ".join(html.unescape(page).split())
