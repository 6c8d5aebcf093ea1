"""The client prepares each request itself (cheaper than ``Session.request``): what goes on the wire is what
``Session.request`` would have sent — the session's headers, cookies and params merged under the call's."""

from __future__ import annotations

from urllib.parse import parse_qsl

import requests
import responses
from cwtest_support import BASE

from colcw_plugin.cw import conditions as C


def _as_session_would(session: requests.Session, sent: requests.PreparedRequest, **call) -> requests.PreparedRequest:
    """What ``Session.request`` prepares for the same call."""
    return session.prepare_request(requests.Request(method=call.pop("method"), url=call.pop("url"),
                                                    data=call.pop("data", None) or {},
                                                    params=call.pop("params", None) or {}, **call))


def _same(a: requests.PreparedRequest, b: requests.PreparedRequest) -> None:
    assert (a.method, a.url, a.body) == (b.method, b.url, b.body)
    assert dict(a.headers) == dict(b.headers)


def test_a_post_and_a_listing_are_sent_as_session_request_would_send_them(make_client, rsps):
    client = make_client()
    session = client.session
    assert session.trust_env is False  # the client's own session: the cheaper preparation applies
    session.cookies.set("ARRAffinity", "abc123", domain="api-na.myconnectwise.net", path="/")
    rsps.post(BASE + "company/contacts", json={"id": 7})
    rsps.get(BASE + "company/companies", json=[{"id": 1}])
    rsps.patch(BASE + "company/companies/1", json={"id": 1})

    assert client.contacts.create({"firstName": "Åsa", "lastName": "O'Neil", "company": {"id": 1}}) == {"id": 7}
    client.companies.list(conditions=C.and_(C.eq("name", 'é & "ü"'), C.in_("id", [1, 2])), fields=["id", "name"])
    client.companies.patch(1, {"name": "Acme"})

    posted, listed, patched = (c.request for c in rsps.calls if "companyinfo" not in c.request.url)
    # The session's own headers (User-Agent, Accept-Encoding, Connection), its cookie, the call's headers.
    assert posted.headers["Cookie"] == "ARRAffinity=abc123"
    assert posted.headers["User-Agent"] == session.headers["User-Agent"]
    assert posted.headers["Content-Type"] == "application/json" and posted.headers["clientId"]
    assert posted.headers["Authorization"].startswith("Basic ")
    assert posted.headers["Accept"].startswith("application/vnd.connectwise.com+json")
    _same(posted, _as_session_would(session, posted, method="POST", url=BASE + "company/contacts", data=posted.body,
                                    headers=client._transport.headers(auth=True, body=True)))
    listing_headers = client._transport.headers(auth=True, body=False)
    query = dict(p.split("=", 1) for p in listed.url.split("?", 1)[1].split("&"))
    assert "%C3%A9" in query["conditions"] and query["fields"] == "id%2Cname"
    params = parse_qsl(listed.url.split("?", 1)[1])
    _same(listed, _as_session_would(session, listed, method="GET", url=BASE + "company/companies",
                                    params=params, headers=listing_headers))
    assert patched.method == "PATCH" and patched.headers["Content-Length"] == str(len(patched.body))


def test_a_session_that_reads_the_environment_still_goes_through_session_request(make_client, monkeypatch):
    client = make_client()
    client.session.trust_env = True
    seen: list[tuple] = []
    real = requests.Session.request

    def request(self, method, url, **kwargs):
        seen.append((method, url))
        return real(self, method, url, **kwargs)

    monkeypatch.setattr(requests.Session, "request", request)
    with responses.RequestsMock() as rsps:
        rsps.get("https://na.myconnectwise.net/login/companyinfo/acme",
                 json={"Codebase": "v2025_1/", "CompanyName": "Acme", "VersionCode": "v2025.1",
                       "VersionNumber": "v4.6.1", "CompanyID": "acme", "IsCloud": "True"})
        rsps.get(BASE + "company/companies/1", json={"id": 1})
        assert client.companies.get(1) == {"id": 1}
    assert ("GET", BASE + "company/companies/1") in seen


def test_queries_headers_and_bodies_match_session_request_case_by_case(make_client, rsps):
    """Each shape of call the transport may get: a query of lists, None values and numbers, a URL that
    already holds a query, no body on a PATCH, a session header the call removes (None) or overrides."""
    client = make_client()
    transport, session = client._transport, client.session
    session.headers["X-Session"] = "kept"
    session.headers["X-Gone"] = "session"
    rsps.get(BASE + "company/companies", json=[])
    rsps.patch(BASE + "company/companies/1", json={})
    calls = [
        ("GET", BASE + "company/companies", {"conditions": 'name like "A&B%"', "page": 2, "pageSize": 1000,
                                            "fields": ["id", "name"], "orderBy": None, "childConditions": "x = 1"},
         None, {"X-Gone": None, "Accept": "application/json"}),
        ("GET", BASE + "company/companies?clientFlag=true", {"page": 1}, None, {}),
        ("GET", BASE + "company/companies", {"orderBy": None}, None, {}),
        ("PATCH", BASE + "company/companies/1", None, None, {"X-Session": "call"}),
        ("PATCH", BASE + "company/companies/1", None, b'[{"op": "replace"}]', {"Content-Type": "application/json"}),
    ]
    for method, url, params, data, headers in calls:
        before = len(rsps.calls)
        transport._request(method, url, params=params, data=data, headers=dict(headers), verify=True)
        sent = rsps.calls[before].request
        _same(sent, _as_session_would(session, sent, method=method, url=url, params=params, data=data,
                                      headers=dict(headers)))
        assert "X-Gone" not in sent.headers or headers.get("X-Gone", "") is not None
