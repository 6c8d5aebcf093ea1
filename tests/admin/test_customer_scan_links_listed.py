"""An established reseller's first scan ("Read ConnectWise's companies"): the customers it links by Company ID =
account number are listed with their company and the fields that differ (ChannelOnline's value beside
ConnectWise's, and what the master setting keeps), in the scan's one pass; the customer page says "linked by
Company ID on …", not "last synced", until a sync goes through; and a likely duplicate says why (same name, or same
phone number)."""

from __future__ import annotations

import re

from admin_support import BASE
from htmx_loads import loaded
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, SyncItem, get_link
from colcw_plugin.setup.live_updates import get_live
from helpers import csrf_from
from host_stub.extensions import db
from host_stub.models import Customer


def _company(sandbox, **body) -> dict:
    resp = sandbox.api("POST", "company/companies", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _scan(admin_client):
    token = csrf_from(admin_client.get(BASE + "/").get_data(as_text=True))
    return admin_client.post(BASE + "/customers/scan", data={"csrf_token": token})


def _tenant(sandbox) -> dict[str, dict]:
    companies = {
        "sterling": _company(sandbox, identifier="H-STER", name="Sterling Dental Associates", city="Boise",
                             addressLine1="200 New Street"),
        "agrees": _company(sandbox, identifier="H-SAME", name="Agreeing Supply", city="Austin"),
        "pioneer": _company(sandbox, identifier="CW-PIO", name="Pioneer Outfitters West", city="Reno",
                            phoneNumber="625-555-0142"),
        "harbor": _company(sandbox, identifier="CW-HAR", name="Harbor Logistics Inc", city="Reno"),
    }
    db.session.add_all([
        Customer(account_number="H-STER", name="Sterling Dental", city="Boise", address1="1 Old Road"),
        Customer(account_number="H-SAME", name="Agreeing Supply", city="Austin"),
        Customer(account_number="H-PIO", name="Pioneer Supply", city="Reno", phone="(625) 555-0142"),
        Customer(account_number="H-HAR", name="Harbor Logistics", city="Reno"),
    ])
    db.session.commit()
    return companies


def _customer(account: str) -> Customer:
    return db.session.execute(select(Customer).where(Customer.account_number == account)).scalar_one()


def _company_reads(sandbox) -> int:
    return len([r for r in sandbox.requests() if r["path"].rstrip("/").endswith("company/companies")])


def test_the_scan_lists_the_customers_it_linked_with_what_differs(admin_client, connected):
    companies = _tenant(connected)
    connected.clear_requests()
    resp = _scan(admin_client)
    assert resp.status_code == 302 and "/customers/map?scan=" in resp.headers["Location"]
    assert _company_reads(connected) == 1  # one page holds every company: one request, as before
    html = admin_client.get(resp.headers["Location"]).get_data(as_text=True)
    section = html[html.index('id="scan-linked"'):]
    section = section[:section.index("</section>")]
    assert "The scan linked 2 ChannelOnline customers" in section
    sterling = _customer("H-STER")
    table = section[section.index(f'id="scan-changes-{sterling.id}"'):]
    table = table[:table.index("</table>")]
    assert "Sterling Dental (H-STER)" in table and "ConnectWise company H-STER (Sterling Dental Associates)" in table
    assert re.search(r"<td>Company Name</td><td>Sterling Dental</td><td>Sterling Dental Associates</td>"
                     r"<td>Sterling Dental \(ChannelOnline&#39;s\)</td>", table), table
    assert "<td>1 Old Road</td><td>200 New Street</td>" in table
    assert "Boise" not in table  # only the fields that differ
    assert "ChannelOnline is the master for customer data, so the customers keep their values below" in section
    agreeing = section[section.index('id="scan-agreeing"'):]
    assert "Agreeing Supply (H-SAME)" in agreeing and "every mapped field" in agreeing
    assert get_link(db.session, "customer", sterling.id).cw_id == companies["sterling"]["id"]

    # The customer page: linked by Company ID on the scan's day, not "last synced".
    page = loaded(admin_client, f"/customers/{sterling.id}")
    status = page[page.index('id="colcw-link-status"'):]
    status = status[:status.index("</p>")]
    assert "linked by Company ID on" in status and "not synced since" in status
    assert "last synced" not in status
    last = page[page.index('id="colcw-last-result"'):]
    last = last[:last.index("</p>")]
    assert "Map customers&#39; scan" in last and "Sterling Dental Associates" in last
    assert "Company Name “Sterling Dental” here, “Sterling Dental Associates” in ConnectWise" in last.replace(
        "&#34;", '"')


def test_with_connectwise_the_master_the_list_says_its_values_replace_the_customers(admin_client, connected):
    _tenant(connected)
    get_live(db.session).customer_master = CW_MASTER
    db.session.commit()
    resp = _scan(admin_client)
    html = admin_client.get(resp.headers["Location"]).get_data(as_text=True)
    section = html[html.index('id="scan-linked"'):]
    assert "ConnectWise is the master for customer data, so the next live update or safety-net pass replaces" in section
    assert "<td>Sterling Dental Associates (ConnectWise&#39;s)</td>" in section
    note = db.session.execute(select(SyncItem.message).where(SyncItem.direction == "scan",
                                                             SyncItem.host_id == _customer("H-STER").id)).scalar_one()
    assert "ConnectWise is the master for customer data" in note


def test_a_likely_duplicate_says_why(admin_client, connected):
    companies = _tenant(connected)
    _scan(admin_client)
    html = admin_client.get(BASE + "/customers/map").get_data(as_text=True)
    table = html[html.index('id="unmatched"'):]

    def row(key):
        found = table[table.index(f'id="company-{companies[key]["id"]}"'):]
        return found[:found.index("</tr>")]

    pioneer = row("pioneer")
    assert "Pioneer Supply (H-PIO)</button> — same phone number ((625) 555-0142)" in pioneer
    harbor = row("harbor")
    assert "Harbor Logistics (H-HAR)</button> — similar name" in harbor  # ("Harbor Logistics Inc" in ConnectWise)


def test_the_scan_of_a_large_tenant_sends_as_many_requests_as_the_scan_alone(admin_client, connected, cw_client):
    """The pages the scan reads carry the mapped fields too: as many pages (requests), only longer."""
    from colcw_plugin.setup.customer_matching import scan

    connected.generate(companies=2300, contacts_per_company=0)
    generated = connected.api("GET", "company/companies", params={"conditions": 'identifier="GEN002250"'}).json()[0]
    db.session.add(Customer(account_number="GEN002250", name="Generated match"))
    db.session.commit()
    connected.clear_requests()
    scan(db.session, cw_client, "tests")  # the scan on its own, with a plain client
    db.session.rollback()
    alone = _company_reads(connected)
    connected.clear_requests()
    resp = _scan(admin_client)
    assert _company_reads(connected) == alone >= 3
    html = admin_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "The scan linked 1 ChannelOnline customer" in html
    customer = _customer("GEN002250")
    assert f'id="scan-changes-{customer.id}"' in html and f"GEN002250 ({generated['name']})" in html
