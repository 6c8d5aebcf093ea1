"""A linked company deleted in ConnectWise: the advice given (customer page, export, live update) is what works
there (F8). ConnectWise keeps a deleted company and its Company ID, and refuses a new company with that ID; the
ways out are restoring the company, linking to another one, or a new account number and a cleared link."""

from __future__ import annotations

from customer_support import companies, company, export, items, link_of, make_customer, run, update_customer
from htmx_loads import loaded
from sqlalchemy import select

from colcw_plugin.models import SyncItem, SyncRun
from colcw_plugin.sync.inbound import LIVE_KIND
from helpers import csrf_from
from host_stub.extensions import db

RESTORE = "Restore the company in ConnectWise and export again, or link the customer to another company"
RENUMBER = ("give the customer another account number and clear the link: the next export then creates a new company "
            "(ConnectWise keeps the deleted company's Company ID ACME1, so a new company cannot have it).")


def _token(client) -> str:
    return csrf_from(client.get("/customers/").get_data(as_text=True))


def _deleted(sandbox):
    customer = make_customer(contacts=[])
    export(customer.id)
    cid = link_of("customer", customer.id).cw_id
    assert sandbox.api("DELETE", f"company/companies/{cid}").status_code == 204
    return customer, cid


def test_connectwise_refuses_a_new_company_with_a_deleted_companys_id(sync_ready):
    _, cid = _deleted(sync_ready)
    assert company(sync_ready, cid)["deletedFlag"] is True
    resp = sync_ready.api("POST", "company/companies", json={"identifier": "ACME1", "name": "Acme Corp", "city": "c"})
    assert resp.status_code == 400 and "ObjectExists" in resp.text


def test_every_place_gives_the_advice_that_works(sync_ready, rep_client):
    customer, cid = _deleted(sync_ready)
    item = items(export(customer.id), "customer")[0]
    assert item.action == "failed" and item.resolution.startswith(RESTORE) and item.resolution.endswith(RENUMBER)
    page = loaded(rep_client, f"/customers/{customer.id}")
    assert RESTORE in page and RENUMBER.replace("'", "&#39;") in page
    assert "clear the link to export it as a new company" not in page
    # Live updates say it alike (a link not yet marked broken, as when the callback comes before any export).
    link = link_of("customer", customer.id)
    link.status = "ok"
    db.session.commit()
    run(LIVE_KIND, {"records": {"company": [cid]}})
    live = db.session.execute(select(SyncItem).join(SyncRun).where(SyncRun.kind == LIVE_KIND)).scalars().one()
    assert "was deleted in ConnectWise" in live.message and live.resolution.endswith(RENUMBER)


def test_clearing_alone_is_not_offered_as_the_way_out_and_says_why(sync_ready, rep_client):
    customer, _ = _deleted(sync_ready)
    export(customer.id)  # marks the link broken
    resp = rep_client.post(f"/colcw/customers/{customer.id}/clear-link", data={"csrf_token": _token(rep_client)},
                           follow_redirects=True)
    assert ("ConnectWise keeps the deleted company&#39;s Company ID ACME1, so an export cannot create a new company "
            "with it: change the customer&#39;s account number, then export") in resp.get_data(as_text=True)
    item = items(export(customer.id), "customer")[0]
    assert item.action == "failed" and "deleted company with the Company ID ACME1" in item.message
    assert len(companies(sync_ready)) == 1


def test_a_new_account_number_and_a_cleared_link_create_a_new_company(sync_ready, rep_client):
    customer, cid = _deleted(sync_ready)
    export(customer.id)
    update_customer(customer.id, account_number="ACME2")
    # With another account number, clearing the link is enough: the panel and the export say so.
    page = loaded(rep_client, f"/customers/{customer.id}")
    assert "or clear the link: the next export then creates a new company with the Company ID ACME2." in page
    rep_client.post(f"/colcw/customers/{customer.id}/clear-link", data={"csrf_token": _token(rep_client)})
    assert items(export(customer.id), "customer")[0].action == "created"
    new = link_of("customer", customer.id).cw_id
    assert new != cid and company(sync_ready, new)["identifier"] == "ACME2"


def test_a_restored_company_is_exported_again(sync_ready):
    customer, cid = _deleted(sync_ready)
    export(customer.id)
    assert link_of("customer", customer.id).status == "missing_in_cw"
    sync_ready.edit_company(cid, {"deletedFlag": False})  # restored in ConnectWise
    update_customer(customer.id, phone="512-555-0777")
    assert items(export(customer.id), "customer")[0].action == "updated"
    assert company(sync_ready, cid)["phoneNumber"] == "512-555-0777"
    assert len(companies(sync_ready)) == 1
