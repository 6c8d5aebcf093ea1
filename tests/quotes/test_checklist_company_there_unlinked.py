"""A document whose customer is not exported yet, while ConnectWise already has a company with the customer's Company
ID: the Customer row (still ✗: the export needs the link) says ConnectWise has that company, not linked yet, and that
exporting the customer links it rather than creating one — not "Not exported yet", which read as "ConnectWise does
not have it". The checklist reuses its one look-up of the company by Company ID (no request more)."""

from __future__ import annotations

import html
import re

import pytest
from quote_support import line, opportunity_status

from colcw_plugin.models import get_link
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime, sign_in
from host_stub import services
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]


def _row(page: str, label: str) -> tuple[str, str]:
    row = next(r for r in re.findall(r"<tr class=\"[^\"]*\".*?</tr>", page, re.S) if label in r)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    return re.match(r'<tr class="([^"]*)"', row).group(1), " ".join(html.unescape(re.sub(r"<[^>]+>", "", cells[2])).split())


def test_customer_row_names_the_unlinked_company_with_its_company_id_and_export_links_it(app, world):
    company = world.sandbox.api("POST", "company/companies", json={
        "identifier": "HARBOR1", "name": "Harbor Veterinary", "addressLine1": "2 Dock St", "city": "Austin",
        "state": "TX"}).json()
    contact = world.sandbox.api("POST", "company/contacts", json={
        "firstName": "Ana", "lastName": "Lopez", "company": {"id": company["id"]}}).json()
    resp = world.sandbox.api("POST", "sales/opportunities", json={
        "name": "Harbor deal", "company": {"id": company["id"]}, "contact": {"id": contact["id"]},
        "primarySalesRep": {"id": world.member_id}, "status": {"id": opportunity_status(world, "open")["id"]},
        "expectedCloseDate": "2026-12-31T00:00:00Z"})
    assert resp.status_code == 201, resp.text
    opp = resp.json()
    customer = services.save_customer({"name": "Harbor Vets", "account_number": "HARBOR1", "city": "Austin",
                                       "state": "TX"},
                                      [{"first_name": "Ana", "last_name": "Lopez", "is_default": True}])
    doc = services.save_document({"customer_id": customer.id, "contact_id": customer.contacts[0].id},
                                 [line("OPT-7010")], custom_fields={world.field_id: "Harbor deal"})
    rep = sign_in(app.test_client(), "riley@demo.example")
    page = rep.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    state, text = _row(page, "Customer Harbor Vets in ConnectWise")
    assert state == "error"
    assert text == ("ConnectWise already has company HARBOR1 “Harbor Veterinary” (same Company ID), not linked to this "
                    "customer yet: export the customer first. That links this company (and updates it from the "
                    "customer) rather than creating a new one.")
    assert "Not exported yet" not in text
    assert f"Goes to opportunity {opp['id']} “Harbor deal” (same name)" in _row(page, "Opportunity")[1]
    assert 'id="colcw-export-submit" disabled' in page

    # As said: the customer's export links that company (no second HARBOR1), then Export now adds the lines to its
    # opportunity.
    run = create_run(db.session, runtime().kinds, "customer_export", {"customer_id": customer.id})
    db.session.commit()
    assert runtime().execute(db.session, run.id).status == "succeeded"
    assert get_link(db.session, "customer", customer.id).cw_id == company["id"]
    assert len(world.api("company/companies", conditions='identifier="HARBOR1"')) == 1
    page = rep.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    assert _row(page, "Customer Harbor Vets in ConnectWise")[0] == "ok"
    assert 'id="colcw-export-submit" disabled' not in page
    assert world.export(doc.id).status == "succeeded"
    assert [p["catalogItem"]["identifier"] for p in world.products(opp["id"])] == ["OPT-7010"]


def test_customer_row_without_a_company_in_connectwise_still_says_not_exported_yet(app, world):
    customer = services.save_customer({"name": "Quay Clinic", "account_number": "QUAY1"},
                                      [{"first_name": "Bo", "last_name": "Lund", "is_default": True}])
    doc = services.save_document({"customer_id": customer.id, "contact_id": customer.contacts[0].id},
                                 [line("OPT-7010")], custom_fields={world.field_id: "Quay deal"})
    page = sign_in(app.test_client(), "riley@demo.example").get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    assert _row(page, "Customer Quay Clinic in ConnectWise") == ("error", "Not exported yet: export the customer first.")

