"""Person changes through the control API (and the sandbox page) fire callbacks exactly like API writes."""

from __future__ import annotations

import pytest
import requests

from cw_sandbox.callback_testing import SandboxControlError


@pytest.fixture
def demo(cw_sandbox_demo, receiver):
    """The demo tenant with owner-level company, contact and opportunity callbacks to the receiver."""
    for ctype in ("company", "contact", "opportunity"):
        resp = cw_sandbox_demo.api("POST", "system/callbacks", json={
            "url": receiver.url(f"/{ctype}"), "type": ctype, "level": "owner", "objectId": 0})
        assert resp.status_code == 201
    return cw_sandbox_demo


def first(sandbox, path, **params):
    return sandbox.api("GET", path, params={"pageSize": 1, **params}).json()[0]


def heard(sandbox, receiver):
    sandbox.wait_for_deliveries()
    return [(c.path.strip("/"), c.json["Action"], c.json["ID"], c.json["MemberId"]) for c in receiver.calls]


def test_setting_a_status_by_name_or_id_fires_the_opportunity_callback(demo, receiver):
    opp = first(demo, "sales/opportunities", conditions='status/name="Open"')
    won = demo.set_opportunity_status(opp["id"], "won")
    assert won["status"]["name"] == "Won" and won["closedDate"]
    forecast = demo.api("GET", f"sales/opportunities/{opp['id']}/forecast").json()
    assert {item["status"]["name"] for c in forecast for item in c["forecastItems"]} == {"Won"}  # the official shape
    lost = first(demo, "sales/opportunities/statuses", conditions='name="Lost"')
    assert demo.set_opportunity_status(opp["id"], lost["id"], member="rrep")["status"]["id"] == lost["id"]
    assert heard(demo, receiver) == [("opportunity", "updated", opp["id"], "admin1"),
                                     ("opportunity", "updated", opp["id"], "rrep")]
    assert receiver.calls[0].entity["status"]["name"] == "Won"
    assert receiver.calls[1].entity["status"]["name"] == "Lost"
    assert demo.api("GET", f"sales/opportunities/{opp['id']}").json()["_info"]["updatedBy"] == "rrep"


@pytest.mark.parametrize(("call", "status", "says"), [
    (lambda s, oid: s.set_opportunity_status(oid, "Maybe"), 400, "Open (1), Won (2), Lost (3)"),
    (lambda s, oid: s.set_opportunity_status(oid, "Won", member="ghost"), 400, "no member 'ghost'"),
    (lambda s, oid: s.set_opportunity_status(99999, "Won"), 404, "99999"),
    (lambda s, oid: s.edit_opportunity(oid, {"nonsense": 1}), 400, "nonsense"),
    (lambda s, oid: s.edit_record("members", 1, {"title": "x"}), 400, "companies, contacts"),
    (lambda s, oid: s.edit_company(oid, {}), 400, "at least one field"),
])
def test_refused_changes_say_why_and_fire_nothing(demo, receiver, call, status, says):
    opp = first(demo, "sales/opportunities")
    with pytest.raises(SandboxControlError) as err:
        call(demo, opp["id"])
    assert err.value.status == status and says in str(err.value)
    assert heard(demo, receiver) == []


def test_editing_and_deleting_a_company(demo, receiver):
    company = first(demo, "company/companies")
    edited = demo.edit_company(company["id"], {"addressLine1": "2 New Street", "city": "Dallas"})
    assert (edited["addressLine1"], edited["city"]) == ("2 New Street", "Dallas")
    demo.delete_company(company["id"], member="aadmin")
    after = demo.api("GET", f"company/companies/{company['id']}").json()
    assert after["deletedFlag"] is True and after["deletedBy"] == "aadmin"
    assert heard(demo, receiver) == [("company", "updated", company["id"], "admin1"),
                                     ("company", "deleted", company["id"], "aadmin")]
    assert receiver.calls[0].entity["addressLine1"] == "2 New Street"


def test_editing_and_deleting_a_contact(demo, receiver):
    opp = first(demo, "sales/opportunities")
    with pytest.raises(SandboxControlError) as err:
        demo.delete_contact(opp["contact"]["id"])  # an opportunity still uses it
    assert err.value.status == 409
    spare = demo.api("POST", "company/contacts", json={"firstName": "Spare", "company": opp["company"]}).json()
    demo.edit_contact(spare["id"], {"title": "Office manager", "lastName": None})
    demo.delete_contact(spare["id"])
    assert demo.api("GET", f"company/contacts/{spare['id']}").status_code == 404
    assert heard(demo, receiver) == [("contact", "added", spare["id"], "APIMember"),
                                     ("contact", "updated", spare["id"], "admin1"),
                                     ("contact", "deleted", spare["id"], "admin1")]
    assert receiver.calls[1].entity["title"] == "Office manager"


def test_a_person_adds_a_contact_to_a_company(demo, receiver):
    company = first(demo, "company/companies")
    added = demo.add_contact({"firstName": "Grace", "lastName": "Hopper", "company": {"id": company["id"]}},
                             member="rrep")
    assert demo.api("GET", f"company/contacts/{added['id']}").json()["firstName"] == "Grace"
    assert heard(demo, receiver) == [("contact", "added", added["id"], "rrep")]
    with pytest.raises(SandboxControlError) as err:
        demo.add_contact({"lastName": "No company"})
    assert err.value.status == 400


def test_adding_editing_and_removing_a_product_line(demo, receiver):
    opp = first(demo, "sales/opportunities")
    item = first(demo, "procurement/catalog")
    line = demo.add_product(opp["id"], {"catalogItem": {"identifier": item["identifier"]}, "quantity": 2.0})
    assert line["opportunity"]["id"] == opp["id"] and line["catalogItem"]["id"] == item["id"]
    edited = demo.edit_product(line["id"], {"quantity": 5.0, "price": 10.0})
    assert (edited["quantity"], edited["extPrice"]) == (5.0, 50.0)
    assert demo.api("GET", f"procurement/products/{line['id']}").json()["quantity"] == 5.0
    demo.delete_product(line["id"])
    assert demo.api("GET", f"procurement/products/{line['id']}").status_code == 404
    assert heard(demo, receiver) == [("opportunity", "updated", opp["id"], "admin1")] * 3
    with pytest.raises(SandboxControlError) as err:
        demo.add_product(opp["id"], {"quantity": 1.0})
    assert err.value.status == 400 and err.value.body["errors"][0]["field"] == "catalogItem"


def test_person_changes_are_not_api_requests(demo, receiver):
    demo.clear_requests()
    demo.add_fault(status=503)  # API faults do not reach the screens a person uses
    opp = demo.tenant.store.all("opportunities")[0]
    demo.set_opportunity_status(opp["id"], "Lost")
    assert demo.requests() == []
    demo.clear_faults()
    assert heard(demo, receiver) == [("opportunity", "updated", opp["id"], "admin1")]


def test_the_sandbox_page_lists_opportunities_and_sets_a_status(demo, receiver):
    opp = first(demo, "sales/opportunities", conditions='status/name="Open"')
    demo.edit_opportunity(opp["id"], {"name": "<b>Bold</b> & co"})
    page = requests.get(f"{demo.base_url}/__sandbox__/ui", timeout=10)
    assert page.status_code == 200 and "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in page.text and "<b>Bold" not in page.text
    lost = first(demo, "sales/opportunities/statuses", conditions='name="Lost"')
    resp = requests.post(f"{demo.base_url}/__sandbox__/ui/opportunities/{opp['id']}/status",
                         data={"status": str(lost["id"]), "member": "rrep"}, timeout=10)
    assert resp.status_code == 200 and resp.history[0].status_code == 303
    assert f"Opportunity {opp['id']} (&lt;b&gt;Bold&lt;/b&gt; &amp; co) is now Lost." in resp.text
    assert demo.api("GET", f"sales/opportunities/{opp['id']}").json()["status"]["name"] == "Lost"
    assert heard(demo, receiver)[-1] == ("opportunity", "updated", opp["id"], "rrep")
    bad = requests.post(f"{demo.base_url}/__sandbox__/ui/opportunities/{opp['id']}/status",
                        data={"status": "999"}, timeout=10)
    assert bad.status_code == 400 and "no opportunity status" in bad.text


def test_a_person_marks_an_opportunity_lost_on_the_sandbox_page(demo, receiver, page):
    opp = first(demo, "sales/opportunities", conditions='status/name="Open"')
    page.goto(f"{demo.base_url}/__sandbox__/ui")
    row = page.locator(f"#opportunity-{opp['id']}")
    row.get_by_label("Status").select_option(label="Lost")
    row.get_by_role("button", name="Set status").click()
    page.get_by_role("status").filter(has_text=f"Opportunity {opp['id']}").wait_for()
    assert page.locator(f"#opportunity-{opp['id']} .status").inner_text() == "Lost"
    (call,) = [c for c in receiver.wait_for(1) if c.json["ID"] == opp["id"]]
    assert call.entity["status"]["name"] == "Lost" and call.json["MemberId"] == "admin1"
