"""The rep-facing customer sync pages through the Flask test client (CSRF on)."""

from __future__ import annotations

import time

from customer_support import companies, link_of, make_customer, update_customer
from htmx_loads import loaded
from sqlalchemy import select

from colcw_plugin.models import SyncRun
from helpers import csrf_from, sign_in, tune_runtime
from host_stub.extensions import db
from host_stub.models import Customer


def _token(client) -> str:
    return csrf_from(client.get("/customers/").get_data(as_text=True))


def test_all_customers_page_holds_the_import_popup(sync_ready, rep_client):
    html = rep_client.get("/customers/").get_data(as_text=True)
    assert 'id="colcw-import-link"' in html and 'id="colcw-import-dialog"' in html
    assert 'hx-get="/colcw/import" hx-trigger="colcw-open once"' in html  # its form loads when it opens
    form = rep_client.get("/colcw/import", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'action="/colcw/import"' in form and 'name="csrf_token"' in form and "<html" not in form


def test_import_by_company_id_opens_the_imported_customer(sync_ready_demo, rep_client):
    resp = rep_client.post("/colcw/import", data={"company": "CW0002", "csrf_token": _token(rep_client)})
    assert resp.status_code == 302
    customer = db.session.execute(select(Customer).where(Customer.account_number == "CW0002")).scalar_one()
    assert resp.headers["Location"].endswith(f"/customers/{customer.id}")
    page = rep_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Imported Orchard Street Pharmacy (CW0002) from ConnectWise" in page
    run = db.session.execute(select(SyncRun)).scalar_one()
    assert run.kind == "customer_import" and run.requested_by == "riley@demo.example"


def test_import_of_an_unknown_company_id_says_what_to_do(sync_ready_demo, rep_client):
    resp = rep_client.post("/colcw/import", data={"company": "NOPE", "csrf_token": _token(rep_client)})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "No ConnectWise company has the Company ID “NOPE”" in html and "Check the Company ID" in html


def test_import_without_csrf_token_is_refused(sync_ready_demo, rep_client):
    resp = rep_client.post("/colcw/import", data={"company": "CW0002"})
    assert resp.status_code == 400
    assert db.session.execute(select(Customer)).scalars().all() == []


def test_export_from_the_customer_page_shows_the_result(sync_ready, rep_client):
    customer = make_customer()
    page = loaded(rep_client, f"/customers/{customer.id}")
    assert 'id="colcw-sync-panel"' in page and "Not linked to a ConnectWise company" in page
    assert page.count(">Export to ConnectWise<") == 1  # one control: the action link (it posts with JavaScript)
    assert f'data-colcw-post="/colcw/customers/{customer.id}/export"' in page
    resp = rep_client.post(f"/colcw/customers/{customer.id}/export", data={"csrf_token": _token(rep_client)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/customers/{customer.id}")
    page = loaded(rep_client, f"/customers/{customer.id}")
    assert "Created in ConnectWise: Acme Corp (ACME1). Contacts: 2 created." in page
    assert "Linked to company <strong>ACME1</strong>" in page
    assert "Acme Corp (ACME1): created in ConnectWise; default contact set." in page  # the panel's last result
    assert [c["identifier"] for c in companies(sync_ready)] == ["ACME1"]


def test_export_failure_is_flashed_with_its_resolution(connected, rep_client):
    customer = make_customer()
    rep_client.post(f"/colcw/customers/{customer.id}/export", data={"csrf_token": _token(rep_client)})
    page = loaded(rep_client, f"/customers/{customer.id}")
    assert "Export to ConnectWise failed: Customer export did not occur" in page
    assert "Make sure that the Sales Rep is mapped" in page


def test_export_while_connectwise_keeps_failing_says_so_on_the_customer_page(sync_ready, rep_client, app, monkeypatch):
    """ConnectWise answering 503 to every company create: the rep comes back to the customer's page with what
    happens (it answered 500 when the record ended "not attempted"): the export waits for ConnectWise and colcw tries
    it again by itself (tests/customers/test_export_transient_hands_over.py), nothing for the rep to click."""
    # The run's two pauses between passes: the first, which the page is read in, as long as production's (2 s); the
    # second, which the test only waits out, 1 s, not 10.
    tune_runtime(monkeypatch, app, record_retry_intervals=(2, 1))
    customer = make_customer()
    sync_ready.add_fault(status=503, method="POST", path="company/companies$")
    resp = rep_client.post(f"/colcw/customers/{customer.id}/export", data={"csrf_token": _token(rep_client)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/customers/{customer.id}")
    page = " ".join(loaded(rep_client, f"/customers/{customer.id}").split())
    assert ("Acme Corp is still being exported to ConnectWise (running, 1 customer waiting for ConnectWise (HTTP 503 "
            "The service is unavailable); trying it again at ") in page, page
    assert "ConnectWise is failing or busy, so colcw tries again by itself (nothing to click)" in page
    deadline = time.monotonic() + 60  # (the attempt under way ends waiting for its next one, queued in RQ)
    while _export_run().status != "waiting" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _export_run().status == "waiting", _export_run().message
    page = " ".join(loaded(rep_client, f"/customers/{customer.id}").split())
    assert "An export to ConnectWise is under way (waiting to retry at " in page, page
    assert companies(sync_ready) == []


def _export_run() -> SyncRun:
    db.session.expire_all()
    return db.session.execute(select(SyncRun).where(SyncRun.kind == "customer_export")).scalar_one()


def test_the_customer_panel_says_changed_since_export_as_all_customers_does(sync_ready, rep_client):
    customer = make_customer()
    rep_client.post(f"/colcw/customers/{customer.id}/export", data={"csrf_token": _token(rep_client)})
    assert 'id="colcw-changed"' not in loaded(rep_client, f"/customers/{customer.id}")
    update_customer(customer.id, phone="555-0199")
    page = loaded(rep_client, f"/customers/{customer.id}")
    assert '<span class="badge" id="colcw-changed">Changed since export</span> Export it again' in page
    listing = loaded(rep_client, "/customers/")
    assert "Changed since export" in listing
    rep_client.post(f"/colcw/customers/{customer.id}/export", data={"csrf_token": _token(rep_client)})
    assert 'id="colcw-changed"' not in loaded(rep_client, f"/customers/{customer.id}")
    assert [c["phoneNumber"] for c in companies(sync_ready)] == ["555-0199"]


def test_export_link_without_javascript_asks_to_confirm(sync_ready, rep_client):
    customer = make_customer()
    html = rep_client.get(f"/colcw/customers/{customer.id}/export").get_data(as_text=True)
    assert "Not linked yet" in html and 'id="colcw-export-submit"' in html
    assert companies(sync_ready) == []


def test_clear_and_relink_from_the_customer_page(sync_ready, rep_client):
    customer = make_customer()
    rep_client.post(f"/colcw/customers/{customer.id}/export", data={"csrf_token": _token(rep_client)})
    cid = link_of("customer", customer.id).cw_id
    sync_ready.api("DELETE", f"company/companies/{cid}")
    rep_client.post(f"/colcw/customers/{customer.id}/export", data={"csrf_token": _token(rep_client)})
    page = loaded(rep_client, f"/customers/{customer.id}")
    assert "was deleted in" in page and 'id="colcw-clear-link"' in page
    rep_client.post(f"/colcw/customers/{customer.id}/clear-link", data={"csrf_token": _token(rep_client)})
    assert link_of("customer", customer.id) is None
    other = sync_ready.api("POST", "company/companies", json={"identifier": "ACME-B", "name": "B", "city": "c"}).json()
    # Named otherwise than the customer: it asks first, then links once confirmed.
    resp = rep_client.post(f"/colcw/customers/{customer.id}/relink",
                           data={"company": "ACME-B", "csrf_token": _token(rep_client)})
    assert resp.status_code == 200 and "ConnectWise company ACME-B is “B” (c), not Acme Corp (ACME1)" in \
        resp.get_data(as_text=True)
    assert link_of("customer", customer.id) is None
    resp = rep_client.post(f"/colcw/customers/{customer.id}/relink",
                           data={"company": "ACME-B", "confirm": str(other["id"]), "csrf_token": _token(rep_client)})
    assert resp.status_code == 302
    assert link_of("customer", customer.id).cw_id == other["id"]
    resp = rep_client.post(f"/colcw/customers/{customer.id}/relink",
                           data={"company": "MISSING", "csrf_token": _token(rep_client)})
    assert resp.status_code == 400
    assert ("No ConnectWise company has the Company ID “MISSING”. No company&#39;s name contains it either. "
            "Check it in ConnectWise and try again.") in resp.get_data(as_text=True)
    # A rep who typed the name instead is offered the companies meant, each with Link (tests/customers/test_relink_*).
    resp = rep_client.post(f"/colcw/customers/{customer.id}/relink",
                           data={"company": "b", "csrf_token": _token(rep_client)})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'data-company="ACME-B"' in html and 'value="b"' in html
    # A company another customer is linked to: that customer is named as a person knows it, not by its row id.
    second = make_customer(name="Second Co", account_number="SECOND1", contacts=[])
    resp = rep_client.post(f"/colcw/customers/{second.id}/relink",
                           data={"company": "ACME-B", "csrf_token": _token(rep_client)})
    assert ("ConnectWise company ACME-B is already linked to another ChannelOnline customer, Acme Corp (ACME1). "
            "Clear that customer&#39;s link first.") in resp.get_data(as_text=True)
    assert link_of("customer", second.id) is None


def test_pages_need_a_signed_in_user(sync_ready, client):
    customer = make_customer()
    assert client.get("/colcw/import").status_code == 302
    assert client.get(f"/colcw/customers/{customer.id}/export").status_code == 302
    sign_in(client, "sam@demo.example")
    assert client.get("/colcw/import").status_code == 200
