"""Reading records deleted in ConnectWise costs no companyinfo lookup each (cw/client.py ``_record_missing``): every
404 on a base URL that had worked looked the codebase up again, so a run reading deleted records paid one lookup per
record. A record's own 404, in ConnectWise's error body, just after the client looked the codebase up, is taken as
it is; a 404 on a list or count, one without ConnectWise's body, or one met after ``RECORD_404_LOOKUP_SECONDS`` still
looks the codebase up (a moved codebase is still found). Mocked at the HTTP edge, and against the sandbox."""

from __future__ import annotations

import pytest
import responses
from cwtest_support import BASE, COMPANY_INFO_BODY, COMPANYINFO
from test_client_sandbox import sandbox_settings

from colcw_plugin.cw import ConnectWiseClient, NotFound
from colcw_plugin.cw.client import RECORD_404_LOOKUP_SECONDS

MISSING = {"code": "NotFound", "message": "Contact recId 7 not found."}


def _lookups(rsps) -> int:
    return [c.request.url for c in rsps.calls].count(COMPANYINFO)


def test_reading_five_deleted_records_sends_no_company_lookup(make_client):
    with responses.RequestsMock() as rsps:
        rsps.get(COMPANYINFO, json=COMPANY_INFO_BODY)
        rsps.get(BASE + "company/contacts/1", json={"id": 1})
        for rid in range(2, 7):
            rsps.get(BASE + f"company/contacts/{rid}", status=404, json=MISSING)
        client = make_client()
        assert client.contacts.get(1) == {"id": 1}  # the base URL works
        for rid in range(2, 7):
            with pytest.raises(NotFound):
                client.contacts.get(rid)
        assert _lookups(rsps) == 1  # the client's own, at its start


def test_a_deleted_record_read_later_looks_the_codebase_up_once_more(make_client, fake_time):
    with responses.RequestsMock() as rsps:
        rsps.get(COMPANYINFO, json=COMPANY_INFO_BODY)
        rsps.get(BASE + "company/contacts/1", json={"id": 1})
        rsps.get(BASE + "company/contacts/2", status=404, json=MISSING)
        client = make_client()
        client.contacts.get(1)
        fake_time.now += RECORD_404_LOOKUP_SECONDS + 1
        for _ in range(3):
            with pytest.raises(NotFound):
                client.contacts.get(2)
        assert _lookups(rsps) == 2  # once for the three: the lookup it made vouches for the next ones


def test_a_codebase_moved_since_the_lookup_is_still_found_by_a_404_without_connectwise_body(make_client):
    new_base = "https://api-na.myconnectwise.net/v2025_2/apis/3.0/"
    with responses.RequestsMock() as rsps:
        rsps.get(COMPANYINFO, json=COMPANY_INFO_BODY)
        rsps.get(BASE + "company/contacts/1", json={"id": 1})
        client = make_client()
        client.contacts.get(1)
        rsps.replace(responses.GET, COMPANYINFO, json={**COMPANY_INFO_BODY, "Codebase": "v2025_2/"})
        rsps.get(BASE + "company/contacts/2", status=404, body="<html>Not Found</html>")  # a web server's page
        rsps.get(new_base + "company/contacts/2", json={"id": 2})
        assert client.contacts.get(2) == {"id": 2}
        assert client.base_url == new_base


def test_against_the_sandbox_reading_five_deleted_contacts_sends_no_company_lookup(cw_sandbox):
    made = cw_sandbox.api("POST", "company/companies", json={"identifier": "GONE1", "name": "Gone Ltd", "city": "X"})
    assert made.status_code == 201, made.text
    company = made.json()
    ids = []
    for i in range(5):
        made = cw_sandbox.api("POST", "company/contacts", json={"firstName": f"Gone{i}", "lastName": "Person",
                                                               "company": {"id": company["id"]}})
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    for rid in ids:
        assert cw_sandbox.api("DELETE", f"company/contacts/{rid}").status_code == 204
    with ConnectWiseClient(sandbox_settings(cw_sandbox)) as client:
        assert client.companies.get(company["id"])["identifier"] == "GONE1"
        cw_sandbox.clear_requests()
        for rid in ids:
            with pytest.raises(NotFound):
                client.contacts.get(rid)
    sent = [r["path"] for r in cw_sandbox.requests()]
    assert not [p for p in sent if p.startswith("/login/companyinfo/")], sent
    assert len([p for p in sent if "/company/contacts/" in p]) == 5, sent


def test_against_the_sandbox_a_moved_codebase_is_still_found_by_a_list_404(cw_sandbox):
    with ConnectWiseClient(sandbox_settings(cw_sandbox)) as client:
        assert client.companies.count() == 0
        cw_sandbox.set_codebase("v2025_9/")  # a cloud upgrade: the old codebase answers 404
        assert client.companies.count() == 0
        assert client.base_url == cw_sandbox.api_url
