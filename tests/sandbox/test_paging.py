"""Lists: bare arrays, page/pageSize with Link headers, forward-only, conditions, orderBy, fields, count."""

from __future__ import annotations

import pytest
import requests


def _page_numbers(resp) -> dict[str, int]:
    out = {}
    for rel, link in resp.links.items():
        query = dict(p.split("=", 1) for p in link["url"].split("?", 1)[1].split("&"))
        out[rel] = int(query.get("page", 0))
    return out


def test_default_page_size_is_25_and_links_omit_prev_on_the_first_page(cw_sandbox):
    resp = cw_sandbox.api("GET", "procurement/manufacturers")
    assert len(resp.json()) == 25
    total = cw_sandbox.api("GET", "procurement/manufacturers/count").json()["count"]
    last = -(-total // 25)
    assert _page_numbers(resp) == {"first": 1, "next": 2, "last": last}


def test_paging_2500_companies_with_link_headers(cw_sandbox):
    cw_sandbox.generate(2600, contacts_per_company=0)
    seen, url, pages = [], cw_sandbox.api_url + "company/companies?pageSize=1000&conditions=deletedFlag%3Dfalse", 0
    while url:
        resp = requests.get(url, auth=cw_sandbox.auth, headers={"clientId": "x"}, timeout=30)
        assert resp.status_code == 200
        seen += [c["id"] for c in resp.json()]
        pages += 1
        links = _page_numbers(resp)
        assert links["first"] == 1 and links["last"] == 3
        assert ("prev" in links) == (pages > 1)
        url = resp.links.get("next", {}).get("url")
    assert pages == 3 and len(seen) == len(set(seen)) == 2600 and seen == sorted(seen)


def test_page_size_above_1000_is_clamped_to_1000(cw_sandbox):
    cw_sandbox.generate(1100, contacts_per_company=0)
    resp = cw_sandbox.api("GET", "company/companies", params={"pageSize": 5000})
    assert len(resp.json()) == 1000
    assert "pageSize=1000" in resp.links["next"]["url"]


@pytest.mark.parametrize("params", [{"pageSize": "abc"}, {"page": "0"}, {"pageSize": "-1"}])
def test_bad_paging_parameters_are_400(cw_sandbox, params):
    assert cw_sandbox.api("GET", "company/states", params=params).status_code == 400


def test_page_past_the_end_is_an_empty_array(cw_sandbox):
    resp = cw_sandbox.api("GET", "company/states", params={"page": 99, "pageSize": 25})
    assert resp.status_code == 200 and resp.json() == []
    assert "next" not in resp.links


def test_forward_only_paging_follows_page_id_and_ends_with_an_empty_link(cw_sandbox):
    cw_sandbox.generate(1000, contacts_per_company=2.5)
    total = cw_sandbox.api("GET", "company/contacts/count").json()["count"]
    headers = {"clientId": "x", "pagination-type": "forward-only"}
    url, ids = cw_sandbox.api_url + "company/contacts?pageSize=1000&fields=id", []
    while url:
        resp = requests.get(url, auth=cw_sandbox.auth, headers=headers, timeout=30)
        ids += [c["id"] for c in resp.json()]
        assert "Link" in resp.headers
        url = resp.links.get("next", {}).get("url")
        if url:
            assert f"pageId={ids[-1]}" in url
    assert resp.headers["Link"] == ""
    assert len(ids) == total and ids == sorted(ids)


def test_forward_only_rejects_order_by(cw_sandbox):
    resp = cw_sandbox.api("GET", "company/states", params={"orderBy": "name desc"},
                          headers={"pagination-type": "forward-only"})
    assert resp.status_code == 400


def test_conditions_order_by_fields_and_count(cw_sandbox):
    api = cw_sandbox.api
    rows = api("GET", "company/states", params={"conditions": 'name like "New%"', "orderBy": "name desc",
                                                "fields": "id,identifier,country/name"}).json()
    assert [r["identifier"] for r in rows] == ["NY", "NM", "NJ", "NH"]
    assert set(rows[0]) == {"id", "identifier", "country"} and rows[0]["country"] == {"name": "United States"}
    assert api("GET", "company/states/count", params={"conditions": 'name like "New%"'}).json() == {"count": 4}
    assert api("GET", "company/states", params={"conditions": "name = = 1"}).status_code == 400


def test_child_conditions_find_contacts_by_email(cw_sandbox_demo):
    contact = cw_sandbox_demo.api("GET", "company/contacts").json()[3]
    email = next(i["value"] for i in contact["communicationItems"] if i["communicationType"] == "Email")
    rows = cw_sandbox_demo.api("GET", "company/contacts", params={
        "childConditions": f'communicationItems/value = "{email.upper()}" AND communicationItems/communicationType="Email"'}).json()
    assert [r["id"] for r in rows] == [contact["id"]]


def test_last_updated_condition_for_incremental_sync(cw_sandbox, company):
    comp, _ = company
    stamp = comp["_info"]["lastUpdated"]
    rows = cw_sandbox.api("GET", "company/companies", params={"conditions": f"lastUpdated>=[{stamp}]"}).json()
    assert [r["id"] for r in rows] == [comp["id"]]
    assert cw_sandbox.api("GET", "company/companies", params={"conditions": f"lastUpdated>[{stamp}]"}).json() == []
