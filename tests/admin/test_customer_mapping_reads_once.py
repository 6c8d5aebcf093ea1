"""Map customers reads the companies it links once per Save: an unconfirmed Save read them for its preview (every
mapped field, by id) and, when the preview had no differences to show, the save read them again by id to refuse
one deleted since the scan. The preview's answer is the save's now: one request to ConnectWise's companies."""

from __future__ import annotations

from urllib.parse import unquote_plus

from admin_support import BASE
from sqlalchemy import select

from colcw_plugin.models import get_link
from colcw_plugin.sync.shared import fields as M
from helpers import csrf_from
from host_stub.extensions import db
from host_stub.models import Customer


def _company(sandbox, **body) -> dict:
    resp = sandbox.api("POST", "company/companies", json=body)
    assert resp.status_code == 201, resp.text
    rows = sandbox.api("GET", "company/companies", params={"conditions": f"id={resp.json()['id']}",
                                                           "fields": ",".join(M.COMPANY_FIELDS)}).json()
    return rows[0]


def _scan(admin_client):
    token = csrf_from(admin_client.get(BASE + "/").get_data(as_text=True))
    assert admin_client.post(BASE + "/customers/scan", data={"csrf_token": token}).status_code == 302


def _company_reads(sandbox) -> list[str]:
    return [unquote_plus(r["query"]) for r in sandbox.requests() if r["path"].rstrip("/").endswith("company/companies")]


def test_an_unconfirmed_save_with_nothing_to_preview_reads_the_companies_once(admin_client, connected):
    same = _company(connected, identifier="CWSAME", name="Agreeing Supply", city="Austin")
    gone = _company(connected, identifier="CWGONE", name="Gone Supply", city="Austin")
    # A customer that agrees with its company on every mapped field: Save has nothing to show before linking.
    agreeing = Customer(**{**M.company_host_values(same), "account_number": "H-SAME"})
    other = Customer(account_number="H-GONE", name="Gone Supply", city="Austin")
    db.session.add_all([agreeing, other])
    db.session.commit()
    _scan(admin_client)
    # Same Company ID on both sides but for the account number: give it the customer's so nothing differs.
    connected.api("PATCH", f"company/companies/{same['id']}",
                  json=[{"op": "replace", "path": "identifier", "value": "H-SAME"}])
    assert connected.api("DELETE", f"company/companies/{gone['id']}").status_code == 204
    connected.clear_requests()
    token = csrf_from(admin_client.get(BASE + "/customers/map").get_data(as_text=True))
    resp = admin_client.post(BASE + "/customers/map", data={"csrf_token": token, f"map-{same['id']}": str(agreeing.id),
                                                            f"map-{gone['id']}": str(other.id)})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409, html  # the deleted company refused, the other linked, without a preview
    assert 'id="link-confirm"' not in html
    assert "Linked 1 ConnectWise company to ChannelOnline customers." in html
    assert "CWGONE (Gone Supply) " in html and "after ConnectWise&#39;s companies were read" in html
    db.session.expire_all()
    assert get_link(db.session, "customer", agreeing.id).cw_id == same["id"]
    assert get_link(db.session, "customer", other.id) is None
    reads = _company_reads(connected)
    assert len(reads) == 1, reads
    assert reads[0].startswith(f"conditions=id in ({same['id']}, {gone['id']})")


def test_a_save_with_differences_reads_once_and_its_confirmation_once(admin_client, connected):
    company = _company(connected, identifier="CWDIFF", name="Differing Supply", city="Austin")
    customer = Customer(account_number="H-DIFF", name="Differing Supply", city="Dallas")
    db.session.add(customer)
    db.session.commit()
    _scan(admin_client)
    connected.clear_requests()
    token = csrf_from(admin_client.get(BASE + "/customers/map").get_data(as_text=True))
    data = {"csrf_token": token, f"map-{company['id']}": str(customer.id)}
    html = admin_client.post(BASE + "/customers/map", data=data).get_data(as_text=True)
    assert 'id="link-confirm"' in html and "Dallas" in html
    assert len(_company_reads(connected)) == 1
    connected.clear_requests()
    assert admin_client.post(BASE + "/customers/map", data={**data, "confirm": "1"}).status_code == 302
    assert len(_company_reads(connected)) == 1
    customer_id = db.session.execute(select(Customer.id).where(Customer.account_number == "H-DIFF")).scalar_one()
    assert get_link(db.session, "customer", customer_id).cw_id == company["id"]
