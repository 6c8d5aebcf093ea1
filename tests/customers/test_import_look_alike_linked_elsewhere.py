"""A bulk import that meets a company looking like a ChannelOnline customer already linked to another company (linked
before, by Company ID on the same page, or created by the same run from another company) does not tell a person to
map the company to that customer, which Map customers cannot do: it says, as Map customers says, that the company may
be a duplicate in ConnectWise, and gives Map customers' advice (merge them in ConnectWise, or import another company
by its Company ID), one definition for both. Against the sandbox over HTTP."""

from __future__ import annotations

import html
import re

from customer_support import items, make_customer, run

from colcw_plugin.models import set_link
from colcw_plugin.setup.customer_matching import LINKED_LOOK_ALIKE_FIX
from helpers import csrf_from
from host_stub.extensions import db
from host_stub.models import Customer
from host_stub.seed import seed_demo

MAP = "/admin/integration/connectwise/customers/map"


def _company(sandbox, **fields) -> dict:
    resp = sandbox.api("POST", "company/companies", json={"city": "Austin", **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _failed(run_) -> dict[str, object]:
    return {i.label: i for i in items(run_, "customer") if i.action == "failed"}


def test_a_company_like_a_customer_linked_elsewhere_gets_map_customers_advice(connected, admin_client):
    # Linked before the import: Northwind Dental (LOCAL7) to NORTH1.
    north1 = _company(connected, identifier="NORTH1", name="Northwind Dental", phoneNumber="512-555-0101")
    _company(connected, identifier="NORTH2", name="Northwind Dental LLC", phoneNumber="512-555-0102")
    northwind = make_customer(name="Northwind Dental", account_number="LOCAL7", phone="737-555-0177", contacts=[])
    set_link(db.session, "customer", northwind.id, north1["id"], cw_identifier="NORTH1",
             values={"name": "Northwind Dental"})
    # Linked by this import, by Company ID = account number, on the same page.
    _company(connected, identifier="BAY1", name="Bayview Clinic", phoneNumber="512-555-0103")
    _company(connected, identifier="BAYX", name="Bayview Clinic, Inc.", phoneNumber="512-555-0104")
    make_customer(name="Bayview Clinic", account_number="BAY1", phone="737-555-0178", contacts=[])
    # Created by this import from another company.
    _company(connected, identifier="FRESH1", name="Fresh Co", phoneNumber="512-555-0105")
    _company(connected, identifier="FRESH2", name="Fresh Co Ltd", phoneNumber="512-555-0106")
    db.session.commit()

    done = run("customer_import", {"mode": "all"})

    failed = _failed(done)
    assert sorted(failed) == ["Bayview Clinic, Inc. (BAYX)", "Fresh Co Ltd (FRESH2)", "Northwind Dental LLC (NORTH2)"]
    assert failed["Northwind Dental LLC (NORTH2)"].message == (
        "Northwind Dental LLC (NORTH2): not imported: it looks like the ChannelOnline customer Northwind Dental "
        "(LOCAL7) (similar name), which is already linked to ConnectWise company NORTH1 (Northwind Dental): this "
        "company may be a duplicate in ConnectWise.")
    assert "already linked to ConnectWise company BAY1: this company may be a duplicate" in \
        failed["Bayview Clinic, Inc. (BAYX)"].message
    assert "Fresh Co (FRESH1) (similar name), which is already linked to ConnectWise company FRESH1 (Fresh Co)" in \
        failed["Fresh Co Ltd (FRESH2)"].message
    for item in failed.values():
        assert item.resolution == LINKED_LOOK_ALIKE_FIX
        assert "Map the company to that customer" not in item.resolution
    assert "Company Merge" in LINKED_LOOK_ALIKE_FIX and "by its Company ID" in LINKED_LOOK_ALIKE_FIX
    # Nothing created for them: the host holds the three customers, none from NORTH2, BAYX or FRESH2.
    db.session.expire_all()
    assert sorted(db.session.query(Customer.account_number)) == [("BAY1",), ("FRESH1",), ("LOCAL7",)]

    # Map customers gives the same advice, in the same words, for the companies no customer is left to map to.
    token = csrf_from(admin_client.get(MAP).get_data(as_text=True))
    admin_client.post("/admin/integration/connectwise/customers/scan", data={"csrf_token": token})
    page = " ".join(html.unescape(admin_client.get(MAP).get_data(as_text=True)).split())
    hint = re.search(r'id="nothing-to-map">(.*?)</p>', page)
    assert hint and LINKED_LOOK_ALIKE_FIX in hint.group(1), page[-3000:]
    assert "Looks like ChannelOnline's Northwind Dental (LOCAL7), which is already linked to ConnectWise company " \
           "NORTH1: this company may be a duplicate in ConnectWise" in page


def test_the_demo_import_of_all_says_northwind_dental_may_be_a_duplicate(connected_demo):
    # QA #7: the demo's customers, DEMO00001 "Northwind Dental" among them; ConnectWise has DEMO00001 and CW0004
    # "Northwind Dental": the import links DEMO00001 by Company ID and fails CW0004 with Map customers' advice.
    seed_demo(db.session, customers=24, quotes=0)
    demo1 = db.session.query(Customer).filter_by(account_number="DEMO00001").one()
    assert demo1.name == "Northwind Dental"
    done = run("customer_import", {"mode": "all"})
    failed = _failed(done)
    item = failed["Northwind Dental (CW0004)"]
    assert "looks like the ChannelOnline customer Northwind Dental (DEMO00001) (same name), which is already linked " \
           "to ConnectWise company DEMO00001" in item.message, item.message
    assert item.resolution == LINKED_LOOK_ALIKE_FIX
    assert all("Map the company to that customer" not in i.resolution for i in failed.values()
               if "already linked" in i.message)
