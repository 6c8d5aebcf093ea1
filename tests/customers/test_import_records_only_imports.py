"""Import From ConnectWise records a run only for an import: a name typed in the popup (no company has it as its
Company ID) lists the companies that contain it, or says nothing was found, and leaves the job history as it
was; an exact Company ID imports with one look-up request before the import, and its run is recorded."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import func, select

from colcw_plugin.models import SyncItem, SyncRun
from colcw_plugin.sync.customers import lookup
from helpers import csrf_from
from host_stub.extensions import db
from host_stub.models import Customer


def _company(sandbox, identifier: str, name: str) -> dict:
    resp = sandbox.api("POST", "company/companies", json={"identifier": identifier, "name": name, "city": "Austin",
                                                          "state": "TX"})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _post(sandbox, rep_client, text: str):
    token = csrf_from(rep_client.get("/colcw/import").get_data(as_text=True))
    sandbox.clear_requests()
    answer = rep_client.post("/colcw/import", data={"csrf_token": token, "company": text},
                             headers={"HX-Request": "true"})
    asked = [r for r in sandbox.requests() if "/apis/3.0/" in r["path"]]
    return answer, asked


def _runs() -> list[SyncRun]:
    db.session.expire_all()
    return list(db.session.execute(select(SyncRun).order_by(SyncRun.id)).scalars())


def test_a_name_typed_lists_its_companies_with_one_request_and_records_no_run(connected, rep_client):
    _company(connected, "NW1", "Northwind Traders")
    _company(connected, "NW2", "Northwind Health")
    _company(connected, "OTH3", "Contoso")
    answer, asked = _post(connected, rep_client, "Northwind")
    html = unescape(answer.get_data(as_text=True))
    assert answer.status_code == 200 and re.findall(r'data-company="([^"]+)"', html) == ["NW2", "NW1"], html
    assert "No company has the Company ID “Northwind”" in html
    assert len(asked) == 1 and asked[0]["path"].endswith("company/companies"), asked
    assert _runs() == []
    assert db.session.execute(select(func.count()).select_from(SyncItem)).scalar_one() == 0


def test_nothing_found_records_no_run(connected, rep_client):
    answer, _ = _post(connected, rep_client, "Nowhere Ltd")
    html = unescape(answer.get_data(as_text=True))
    assert "No ConnectWise company has the Company ID “Nowhere Ltd”" in html
    assert "No company's name contains it either" in html and "colcw-import-choices" not in html
    assert _runs() == []


def test_an_exact_company_id_imports_after_one_look_up_and_records_its_run(connected, rep_client):
    _company(connected, "NW1", "Northwind Traders")
    _company(connected, "NW10", "Northwind Outlet")  # its Company ID contains the one typed
    answer, asked = _post(connected, rep_client, "nw1")  # a Company ID is matched whatever its case
    customer = db.session.execute(select(Customer).where(Customer.account_number == "NW1")).scalar_one()
    assert answer.headers["HX-Redirect"].endswith(f"/customers/{customer.id}") and customer.name == "Northwind Traders"
    (run,) = _runs()
    assert run.kind == "customer_import" and run.status == "succeeded" and run.params == {"company": "nw1"}
    # The look-up, then the import's own company and contacts requests.
    assert sorted(r["path"].rsplit("/", 1)[1] for r in asked) == ["companies", "companies", "contacts"], asked


def test_a_company_id_past_a_full_page_of_names_containing_it_is_still_imported(connected, rep_client):
    for i in range(lookup.MAX_SHOWN + 1):
        _company(connected, f"ACM{i:02d}", f"Acme Widgets {i:02d}")
    _company(connected, "ACME", "Zenith Acme Holdings")  # by name, after the first page
    answer, _ = _post(connected, rep_client, "ACME")
    customer = db.session.execute(select(Customer).where(Customer.account_number == "ACME")).scalar_one()
    assert answer.headers["HX-Redirect"].endswith(f"/customers/{customer.id}")
    assert [r.kind for r in _runs()] == ["customer_import"]


def test_a_company_own_record_id_typed_imports_nothing_and_records_no_run(connected, rep_client):
    """The popup takes a Company ID: digits that are only a company's ConnectWise record id name no company."""
    company = _company(connected, "IDONLY", "Only By Id Inc")
    answer, _ = _post(connected, rep_client, str(company["id"]))
    html = unescape(answer.get_data(as_text=True))
    assert "HX-Redirect" not in answer.headers and f"No ConnectWise company has the Company ID “{company['id']}”" in html
    assert db.session.execute(select(Customer).where(Customer.account_number == "IDONLY")).first() is None
    assert _runs() == []


def test_connectwise_failing_the_look_up_says_so_and_records_no_run(connected, rep_client):
    connected.add_fault(status=503, path="company/companies")
    try:
        answer, _ = _post(connected, rep_client, "Northwind")
    finally:
        connected.clear_faults()
    html = unescape(answer.get_data(as_text=True))
    assert "Nothing was imported: ConnectWise answered with a server error." in html, html
    assert "HTTP 503" in html and "Try again in a few minutes" in html
    assert _runs() == []
