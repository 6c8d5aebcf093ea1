"""Import From ConnectWise's likely-duplicate prompt never offers to link a company to a ChannelOnline customer whose
account number another ConnectWise company holds as its Company ID (that customer's own match by Company ID): it says
so, and offers importing the company as a new customer (QA walkthrough of `make demo`: BAYV2 "Bayview Logistics" in
Tampa was offered "Link to Bayview Logistics (DEMO00037) and import", which renumbered that customer and blanked its
address, though ConnectWise holds DEMO00037 "Bayview Logistics" in Denver). The check costs no ConnectWise request
of its own: the company read for the prompt's table asks for the look-alikes' Company IDs too. Against the sandbox's
demo tenant over HTTP."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from customer_support import import_popup, text_of
from sqlalchemy import func, select

from colcw_plugin.models import CUSTOMER, get_link
from host_stub.extensions import db
from host_stub.models import Customer
from host_stub.seed import seed_demo
from host_stub.services import save_customer

API = "/apis/3.0/"


@pytest.fixture()
def demo(connected_demo):
    seed_demo(db.session, customers=37, quotes=0)  # DEMO00037 "Bayview Logistics" (Denver), linked to nothing
    return connected_demo






def _customer(account: str) -> Customer | None:
    db.session.expire_all()
    return db.session.execute(select(Customer).where(Customer.account_number == account)).scalar_one_or_none()


def _conditions(request: dict) -> str:
    return parse_qs(request["query"]).get("conditions", [""])[0]


def _asked(sandbox, rep_client, ident: str) -> tuple[str, list[dict]]:
    """The popup's answer to ``ident`` and the ConnectWise API requests it made."""
    sandbox.clear_requests()
    html = text_of(import_popup(rep_client, company=ident))
    return html, [r for r in sandbox.requests() if API in r["path"]]


def test_a_look_alike_whose_account_number_another_company_holds_is_not_offered_for_linking(demo, rep_client):
    resp = demo.api("POST", "company/companies", json={"identifier": "BAYV2", "name": "Bayview Logistics",
                                                       "city": "Tampa", "state": "FL"})
    assert resp.status_code == 201, resp.text
    bayview = _customer("DEMO00037")
    kept = (bayview.name, bayview.address1, bayview.zip, bayview.website, bayview.phone)
    customers = db.session.execute(select(func.count(Customer.id))).scalar()

    html, requests = _asked(demo, rep_client, "BAYV2")
    assert 'id="colcw-import-likely"' in html, html
    likely = html.split('id="colcw-import-likely"')[1]
    assert 'id="colcw-import-link-existing"' not in likely, likely  # no link to the customer DEMO00037 matches
    assert "Bayview Logistics (DEMO00037)" in likely
    assert "ConnectWise already has company DEMO00037 “Bayview Logistics” (Denver, CO)" in likely, likely
    assert "renumber" in likely, likely
    assert 'id="colcw-import-new-anyway"' in likely and "Import BAYV2 as a new customer" in likely, likely
    # The look-up, then one read for the prompt: the company and the look-alike's Company ID together, the
    # account number a quoted value.
    assert len(requests) == 2, requests
    asked = _conditions(requests[1])
    assert 'identifier in ("DEMO00037")' in asked, asked
    assert _customer("DEMO00037") is not None and _customer("BAYV2") is None  # nothing imported yet

    created = import_popup(rep_client, company="BAYV2", choice="new")
    assert "HX-Redirect" in created.headers, text_of(created)
    assert db.session.execute(select(func.count(Customer.id))).scalar() == customers + 1
    bayview = _customer("DEMO00037")
    assert (bayview.name, bayview.address1, bayview.zip, bayview.website, bayview.phone) == kept
    assert get_link(db.session, CUSTOMER, bayview.id) is None
    assert _customer("BAYV2").city == "Tampa"


def test_a_look_alike_no_company_holds_is_still_offered_its_account_number_sent_quoted(demo, rep_client):
    # CW0003 "Lighthouse Marine" is in the demo tenant only; the customer's account number has a double quote.
    customer = save_customer({"name": "Lighthouse Marine", "account_number": 'LH"1 or 1=1', "active": True})
    html, requests = _asked(demo, rep_client, "CW0003")
    assert 'id="colcw-import-link-existing"' in html, html
    assert "Link to Lighthouse Marine (LH\"1 or 1=1) and import" in html
    assert "ConnectWise already has company" not in html
    assert len(requests) == 2, requests
    assert r'identifier in ("LH\"1 or 1=1")' in _conditions(requests[1])
    assert get_link(db.session, CUSTOMER, customer.id) is None  # nothing linked yet


def test_the_look_alike_by_phone_is_offered_when_the_one_by_name_is_another_companys(demo, rep_client):
    harbor = _customer("DEMO00023")  # "Harbor Logistics": no ConnectWise company has its account number
    resp = demo.api("POST", "company/companies", json={"identifier": "BAYV3", "name": "Bayview Logistics",
                                                       "city": "Tampa", "state": "FL", "phoneNumber": harbor.phone})
    assert resp.status_code == 201, resp.text
    html, requests = _asked(demo, rep_client, "BAYV3")
    likely = html.split('id="colcw-import-likely"')[1]
    assert "looks like the ChannelOnline customer <strong>Harbor Logistics (DEMO00023)</strong> (same phone number)" \
        in likely, likely
    assert "Link to Harbor Logistics (DEMO00023) and import" in likely
    assert len(requests) == 2, requests
    assert 'identifier in ("DEMO00023", "DEMO00037")' in _conditions(requests[1])
