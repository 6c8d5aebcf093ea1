"""Import From ConnectWise's "Link to … and import", posted from a popup opened before ConnectWise changed, links
nothing the popup would no longer offer: another company got the look-alike's account number as its Company ID
meanwhile (it is that company's customer now), so the popup's answer now is shown instead. Against the sandbox over
HTTP."""

from __future__ import annotations

from customer_support import import_popup, make_customer, text_of
from sqlalchemy import func, select

from colcw_plugin.models import CUSTOMER, get_link
from host_stub.extensions import db
from host_stub.models import Customer


def _company(sandbox, **fields) -> dict:
    resp = sandbox.api("POST", "company/companies", json=fields)
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_a_stale_link_choice_links_nothing_and_shows_the_popups_answer_now(sync_ready, rep_client):
    customer = make_customer(name="Seaside Widgets", account_number="SEA1", city="Tampa", state="FL",
                             phone="", contacts=[])
    seax = _company(sync_ready, identifier="SEAX", name="Seaside Widgets", city="Miami", state="FL")
    asked = text_of(import_popup(rep_client, company="SEAX"))
    assert 'id="colcw-import-link-existing"' in asked, asked  # offered: link Seaside Widgets (SEA1) and import
    # Meanwhile someone creates SEA1 in ConnectWise: Seaside Widgets is that company's customer by Company ID now.
    _company(sync_ready, identifier="SEA1", name="Seaside Widgets", city="Tampa", state="FL")
    customers = db.session.execute(select(func.count(Customer.id))).scalar()

    resp = import_popup(rep_client, company="SEAX", choice="link", customer=str(customer.id), cw_id=str(seax["id"]))
    html = text_of(resp)
    assert "HX-Redirect" not in resp.headers, html
    db.session.expire_all()
    assert get_link(db.session, CUSTOMER, customer.id) is None  # not linked to SEAX
    assert db.session.execute(select(func.count(Customer.id))).scalar() == customers  # nothing imported
    assert db.session.get(Customer, customer.id).city == "Tampa"
    assert "Nothing was linked or imported: SEAX can no longer be linked to the customer shown" in html, html
    likely = html.split('id="colcw-import-likely"')[1]
    assert "ConnectWise already has company SEA1 “Seaside Widgets” (Tampa, FL)" in likely, likely
    assert 'id="colcw-import-link-existing"' not in likely
