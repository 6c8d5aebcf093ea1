"""Paging loops, in-list chunking, counts, discovery and rediscovery (mocked HTTP)."""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from cwtest_support import BASE, COMPANY_INFO_BODY, COMPANYINFO

from colcw_plugin.cw import BadRequest, DiscoveryError, NotFound, PagingStalled
from colcw_plugin.cw import conditions as C

URL = BASE + "company/companies"


def _query(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def _list_calls(rsps) -> list:
    return [c for c in rsps.calls if urlsplit(c.request.url).path.endswith("company/companies")]


def test_navigable_paging_stops_on_a_short_page(rsps, make_client):
    rsps.get(URL, json=[{"id": i} for i in range(1, 4)])
    rsps.get(URL, json=[{"id": i} for i in range(4, 7)])
    rsps.get(URL, json=[{"id": 7}])
    client = make_client()
    ids = [r["id"] for r in client.companies.iterate(order_by="name asc", page_size=3)]
    assert ids == list(range(1, 8))
    pages = [_query(c)["page"] for c in _list_calls(rsps)]
    assert pages == [["1"], ["2"], ["3"]]
    assert client.stats.counts["GET company/companies"] == 3


def test_navigable_paging_stops_when_link_has_no_next(rsps, make_client):
    rsps.get(URL, json=[{"id": 1}, {"id": 2}], headers={"Link": f'<{URL}?page=1>; rel="first"'})
    rows = list(make_client().companies.iterate(order_by="id asc", page_size=2))
    assert len(rows) == 2 and len(_list_calls(rsps)) == 1


def test_navigable_paging_that_repeats_a_page_raises(rsps, make_client):
    rsps.get(URL, json=[{"id": 1}, {"id": 2}])  # a server that ignores `page`
    with pytest.raises(PagingStalled):
        list(make_client().companies.iterate(order_by="id asc", page_size=2))


def _pages_of(rsps, total: int, size: int, *, gate=None, bad_page: int | None = None,
              links: bool = False) -> list[int]:
    """Answer page n of companies 1..total (``size`` a page) whatever order the requests come in; the page
    numbers asked for, in order of arrival. ``gate(page)`` runs before a page is answered. With ``links``, each
    answer carries ConnectWise's ``Link`` header (``next`` before the last page, ``last`` always); ``total`` may
    then be a callable, read at each answer (a listing that grows while it is read)."""
    asked: list[int] = []

    def answer(request):
        page = int(_query_of(request.url)["page"][0])
        asked.append(page)
        if gate is not None:
            gate(page)
        if page == bad_page:
            return 400, {}, '{"code": "InvalidObject", "message": "bad page"}'
        count = total() if callable(total) else total
        ids = range((page - 1) * size + 1, min(page * size, count) + 1)
        headers = {"Content-Type": "application/json"}
        if links:
            last = max(1, -(-count // size))
            headers["Link"] = ", ".join(([f'<{URL}?page={page + 1}&pageSize={size}>; rel="next"'] if page < last else [])
                                        + [f'<{URL}?page={last}&pageSize={size}>; rel="last"'])
        return 200, headers, json.dumps([{"id": i} for i in ids])

    rsps.add_callback(responses.GET, URL, callback=answer)
    return asked


def _query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_pages_asked_for_two_at_once_come_in_order_two_requests_out_after_the_first(rsps, make_client):
    both_out = threading.Barrier(2, timeout=5)  # pages 2 and 3 are answered only once both were asked for

    def gate(page):
        if page in (2, 3):
            both_out.wait()

    asked = _pages_of(rsps, total=10, size=3, gate=gate)
    pages = make_client().companies.iterate_pages(order_by="id asc", page_size=3, at_once=2)
    assert [[r["id"] for r in page] for page in pages] == [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10]]
    assert asked[0] == 1 and sorted(asked) in ([1, 2, 3, 4], [1, 2, 3, 4, 5])  # past the last (4): one at most


@pytest.mark.parametrize("at_once", [2, 3])
def test_pages_asked_for_at_once_stop_at_the_last_page_the_link_header_names(rsps, make_client, at_once):
    asked = _pages_of(rsps, total=12, size=3, links=True)  # four full pages: only the Link header says it ends
    pages = make_client().companies.iterate_pages(order_by="id asc", page_size=3, at_once=at_once)
    assert [r["id"] for page in pages for r in page] == list(range(1, 13))
    assert sorted(asked) == [1, 2, 3, 4]  # none past the last


def test_pages_asked_for_at_once_follow_a_listing_that_grows_past_the_last_page_first_named(rsps, make_client):
    grown = threading.Event()  # page 1 names page 2 as the last; then the listing grows to three pages

    def gate(page):
        if page == 2:
            grown.set()

    asked = _pages_of(rsps, total=lambda: 8 if grown.is_set() else 6, size=3, gate=gate, links=True)
    pages = make_client().companies.iterate_pages(order_by="id asc", page_size=3, at_once=2)
    assert [r["id"] for page in pages for r in page] == list(range(1, 9))
    assert sorted(asked) == [1, 2, 3]


def test_a_listing_of_one_page_asked_for_at_once_costs_one_request(rsps, make_client):
    asked = _pages_of(rsps, total=2, size=3)
    pages = make_client().companies.iterate_pages(order_by="id asc", page_size=3, at_once=2)
    assert [[r["id"] for r in page] for page in pages] == [[1, 2]]
    assert asked == [1]


def test_pages_asked_for_at_once_raise_an_error_where_its_page_comes(rsps, make_client):
    _pages_of(rsps, total=9, size=3, bad_page=2)
    pages = make_client().companies.iterate_pages(order_by="id asc", page_size=3, at_once=2)
    assert [r["id"] for r in next(pages)] == [1, 2, 3]
    with pytest.raises(BadRequest, match="bad page"):
        next(pages)
    assert next(pages, None) is None  # nothing after the error


def test_pages_asked_for_at_once_stop_when_a_server_repeats_a_page(rsps, make_client):
    rsps.get(URL, json=[{"id": 1}, {"id": 2}])  # a server that ignores `page`
    with pytest.raises(PagingStalled):
        list(make_client().companies.iterate_pages(order_by="id asc", page_size=2, at_once=2))


def test_pages_asked_for_at_once_send_nothing_more_once_closed(rsps, make_client):
    asked = _pages_of(rsps, total=30, size=3)
    pages = make_client().companies.iterate_pages(order_by="id asc", page_size=3, at_once=2)
    assert [r["id"] for r in next(pages)] == [1, 2, 3]  # taking page 1 sent pages 2 and 3
    deadline = time.monotonic() + 5
    while len(asked) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    pages.close()
    assert next(pages, None) is None
    time.sleep(0.2)
    assert sorted(asked) == [1, 2, 3]  # page 4 would have gone out when page 2 was taken


def test_forward_only_pages_cannot_be_asked_for_at_once(make_client):
    with pytest.raises(ValueError):
        make_client().companies.iterate_pages(page_size=2, at_once=2)


def test_forward_only_follows_page_id(rsps, make_client):
    rsps.get(URL, json=[{"id": 1}, {"id": 5}], headers={"Link": f'<{URL}?pageSize=2&pageId=5>; rel="next"'})
    rsps.get(URL, json=[{"id": 9}, {"id": 12}], headers={"Link": f'<{URL}?pageSize=2&pageId=12>; rel="next"'})
    rsps.get(URL, json=[{"id": 13}], headers={"Link": ""})
    ids = [r["id"] for r in make_client().companies.iterate(page_size=2, fields=["name"])]
    assert ids == [1, 5, 9, 12, 13]
    calls = _list_calls(rsps)
    assert all(c.request.headers["pagination-type"] == "forward-only" for c in calls)
    assert [_query(c).get("pageId") for c in calls] == [None, ["5"], ["12"]]
    assert _query(calls[0])["fields"] == ["id,name"]  # id added so the loop can advance
    assert "orderBy" not in _query(calls[0]) and "page" not in _query(calls[0])


def test_forward_only_stops_on_a_full_last_page_with_an_empty_link(rsps, make_client):
    rsps.get(URL, json=[{"id": 1}, {"id": 2}], headers={"Link": ""})
    assert len(list(make_client().companies.iterate(page_size=2))) == 2
    assert len(_list_calls(rsps)) == 1


def test_forward_only_keeps_no_response_body_while_a_page_is_used():
    """A reader ahead holds the page generator at its yield while the page waits in its queue: the response it
    came in (its raw body, about 1 MB for 1,000 companies) is let go by then, and the paging still follows the
    cursor the response named."""
    import weakref

    from colcw_plugin.cw.paging import iterate_forward_only

    sent: list[weakref.ref] = []
    asked: list[dict] = []

    def fetch(query, headers):
        asked.append(dict(query))
        after = query.get("pageId", 0)
        ids = [i for i in (1, 5, 9, 12, 13) if i > after][:2]
        resp = requests.Response()
        resp.status_code, resp._content = 200, json.dumps([{"id": i} for i in ids]).encode()
        if len(ids) == 2:
            resp.headers["Link"] = f'<{URL}?pageSize=2&pageId={ids[-1]}>; rel="next"'
        sent.append(weakref.ref(resp))
        return resp

    seen = []
    for page in iterate_forward_only(fetch, {}, page_size=2, path="company/companies"):
        assert sent[-1]() is None, "the page's response is still held while the page is used"
        seen += [r["id"] for r in page]
    assert seen == [1, 5, 9, 12, 13]
    assert [q.get("pageId") for q in asked] == [None, 5, 12]


def test_forward_only_that_ignores_page_id_raises(rsps, make_client):
    rsps.get(URL, json=[{"id": 1}, {"id": 2}])
    with pytest.raises(PagingStalled):
        list(make_client().companies.iterate(page_size=2, forward_only=True))


def test_forward_only_refuses_order_by(make_client):
    with pytest.raises(ValueError):
        list(make_client().companies.iterate(order_by="name asc", forward_only=True))


@pytest.mark.parametrize("bad", ["name; drop", "name asc desc", "na me", ""])
def test_order_by_is_validated(make_client, bad):
    with pytest.raises(ValueError):
        make_client().companies.list(order_by=bad)


def test_list_count_and_params(rsps, make_client):
    rsps.get(URL + "/count", json={"count": 42})
    rsps.get(URL, json=[{"id": 1}])
    client = make_client()
    assert client.companies.count(C.eq("deletedFlag", False)) == 42
    assert client.companies.list(conditions=C.eq("name", "a b"), fields=["id", "name"], page=2, page_size=10)
    q = _query(rsps.calls[-1])
    assert q == {"conditions": ['name = "a b"'], "fields": ["id,name"], "page": ["2"], "pageSize": ["10"]}
    assert _query(rsps.calls[-2]) == {"conditions": ["deletedFlag = False"]}
    with pytest.raises(ValueError):
        client.companies.list(page_size=1001)


def test_in_lists_are_chunked_under_the_url_limit(make_client):
    ids = list(range(100_000, 102_000))
    names = [f'Company "{i}" [x] 100% ü' for i in range(300)]
    seen_ids: list[int] = []
    urls: list[str] = []

    def reply(request):
        urls.append(request.url)
        return 200, {}, "[]"

    with responses.RequestsMock() as rsps:
        rsps.get(COMPANYINFO, json=COMPANY_INFO_BODY)
        rsps.add_callback(responses.GET, URL, callback=reply)
        client = make_client()
        list(client.companies.iterate_in("id", ids + ids[:10], conditions=C.eq("deletedFlag", False)))
        for url in urls:
            cond = parse_qs(urlsplit(url).query)["conditions"][0]
            inner = cond.split("in (", 1)[1].split(")", 1)[0]
            seen_ids += [int(x) for x in inner.split(", ")]
        urls_for_ids = list(urls)
        urls.clear()
        list(client.companies.iterate_in("name", names, fields=["id", "name"]))
    assert sorted(seen_ids) == ids  # every id once, duplicates dropped
    assert len(urls_for_ids) > 1
    # Paging adds at most "&pageId=NNNNNNNNNN" or "&page=N&pageSize=1000" on later pages.
    for url in urls_for_ids + urls:
        assert len(url) + 20 <= 2000, len(url)
    assert len(urls) > 1


def test_a_single_value_too_long_for_a_url_is_refused(make_client, rsps):
    with pytest.raises(ValueError):
        list(make_client().companies.iterate_in("name", ["x" * 3000]))


def test_discovery_builds_the_base_url(rsps, make_client):
    client = make_client()
    assert client.base_url == BASE
    assert client.company_info.is_cloud is True and client.company_info.codebase == "v2025_1/"


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        ({"body": "null", "content_type": "application/json"}, "unknown_company"),
        ({"body": "<html>login</html>"}, "bad_response"),
        ({"json": {"CompanyName": "x"}}, "bad_response"),
        ({"json": {"Codebase": "../../evil/"}}, "bad_response"),
        ({"status": 404}, "bad_response"),
        ({"body": requests.exceptions.ConnectionError("refused")}, "unreachable"),
        ({"body": requests.exceptions.SSLError("bad cert")}, "tls"),
    ],
)
def test_discovery_failures_are_classified(make_client, reply, kind):
    with responses.RequestsMock() as rsps:
        rsps.get(COMPANYINFO, **reply)
        with pytest.raises(DiscoveryError) as info:
            make_client(max_attempts=1).discover()
    assert info.value.kind == kind
    assert info.value.hint


def test_codebase_change_is_rediscovered_after_a_404(make_client):
    new_base = "https://api-na.myconnectwise.net/v2025_2/apis/3.0/"
    with responses.RequestsMock() as rsps:
        rsps.get(COMPANYINFO, json=COMPANY_INFO_BODY)
        rsps.get(BASE + "system/info", json={"version": "1"})
        client = make_client()
        client.system_info()  # the old base works once...
        rsps.replace(responses.GET, COMPANYINFO, json={**COMPANY_INFO_BODY, "Codebase": "v2025_2/"})
        rsps.replace(responses.GET, BASE + "system/info", status=404)  # ...then the tenant moves
        rsps.get(new_base + "system/info", json={"version": "2"})
        assert client.system_info() == {"version": "2"}
        assert client.base_url == new_base


def test_a_404_without_a_codebase_change_is_raised(make_client):
    with responses.RequestsMock() as rsps:
        rsps.get(COMPANYINFO, json=COMPANY_INFO_BODY)
        rsps.get(BASE + "company/companies/1", json={"id": 1})
        rsps.get(BASE + "system/info", status=404, json={"code": "NotFound", "message": "gone"})
        client = make_client()
        client.companies.get(1)
        with pytest.raises(NotFound):
            client.system_info()  # (no record's own 404: only a codebase gone makes it)
        assert [c.request.url for c in rsps.calls].count(COMPANYINFO) == 2  # re-read once


def test_ids_cannot_inject_paths(make_client):
    client = make_client()
    for bad in ("1/../../system", "1?x=1", -1.5, True):
        with pytest.raises(ValueError):
            client.companies.get(bad)


@pytest.mark.parametrize("extra", [-40, -1, 0, 1, 40])
def test_the_url_limit_holds_to_the_character_however_the_query_is_encoded(rsps, make_client, extra):
    """Measured on the URL as sent (a quick estimate only spares the measuring well under the limit)."""
    client = make_client()
    rsps.get(URL, json=[])
    probe = requests.Request("GET", URL, params={"conditions": 'name = "é & ü"', "fields": "id"}).prepare().url
    room = client.max_url_length - len(probe)
    value = 'name = "é & ü' + "x" * (room + extra) + '"'
    sent = requests.Request("GET", URL, params={"conditions": value, "fields": "id"}).prepare().url
    if len(sent) > client.max_url_length:
        with pytest.raises(ValueError):
            client.get("company/companies", params={"conditions": value}, fields=["id"])
        assert _list_calls(rsps) == []
    else:
        assert client.get("company/companies", params={"conditions": value}, fields=["id"]) == []
        assert len(_list_calls(rsps)[-1].request.url) == len(sent) <= client.max_url_length


def test_bodies_decode_accented_text_and_bad_bodies_are_reported_as_not_json(rsps, make_client):
    from colcw_plugin.cw import BadResponse

    client = make_client()
    rsps.get(URL, body='[{"id": 1, "name": "Zoé \\"Bakery\\" & Co 東京", "n": 12345678901, "x": 1.5, "f": null}]',
             content_type="application/json")
    assert client.companies.list() == [{"id": 1, "name": 'Zoé "Bakery" & Co 東京', "n": 12345678901, "x": 1.5,
                                        "f": None}]
    rsps.get(URL + "/1", json={"id": 1, "name": "Åsa"})
    assert client.companies.get(1) == {"id": 1, "name": "Åsa"}
    for bad in ("<html>Service unavailable</html>", "[{\"id\": 1,"):
        rsps.replace(responses.GET, URL, body=bad, content_type="application/json")
        with pytest.raises(BadResponse, match="not JSON"):
            client.companies.list()
    rsps.replace(responses.GET, URL + "/1", body="nope", content_type="application/json")
    with pytest.raises(BadResponse, match="not JSON"):
        client.companies.get(1)
