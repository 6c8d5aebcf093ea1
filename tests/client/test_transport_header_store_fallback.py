"""The transport's header sets (transport._Headers) are copied through requests' private CaseInsensitiveDict._store
only when requests keeps it as known, checked once at import; otherwise the public way (each header set again), with
the same headers on the wire. And a call given its prepared URL sends that one URL whichever way the session goes:
the transport gets no second encoding of the query."""

from __future__ import annotations

from collections.abc import MutableMapping

import requests
import responses
from cwtest_support import BASE
from requests.structures import CaseInsensitiveDict

from colcw_plugin.cw import conditions as C
from colcw_plugin.cw import transport as T


class _OtherStore(MutableMapping):
    """A CaseInsensitiveDict as a later requests might write it: the same behaviour, its store under another name."""

    def __init__(self, data=None):
        self._entries = {}
        self.update(data or {})

    def __setitem__(self, key, value):
        self._entries[key.lower()] = (key, value)

    def __getitem__(self, key):
        return self._entries[key.lower()][1]

    def __delitem__(self, key):
        del self._entries[key.lower()]

    def __iter__(self):
        return (k for k, _ in self._entries.values())

    def __len__(self):
        return len(self._entries)


class _OtherShape(CaseInsensitiveDict):
    """A _store that holds the values alone (not (name, value))."""

    def __init__(self, data=None):
        self._store = {}
        for k, v in (data or {}).items():
            self._store[k.lower()] = v


def test_the_import_check_takes_the_store_only_when_it_is_requests_known_one():
    assert T._store_copies(CaseInsensitiveDict) is True  # the installed requests: the fast copy
    assert T._STORE_COPIES is True
    assert T._store_copies(_OtherStore) is False
    assert T._store_copies(_OtherShape) is False


def _copies(headers: T._Headers) -> None:
    copied = headers.copy()
    assert type(copied) is T._Headers and copied is not headers
    assert dict(copied) == dict(headers) and copied["content-TYPE"] == "application/json"
    copied["Authorization"] = "Basic x"
    assert "Authorization" not in headers  # its own store


def test_without_the_known_store_headers_are_copied_the_public_way(monkeypatch, make_client, rsps):
    headers = T._Headers({"Content-Type": "application/json", "Accept": "*/*"})
    _copies(headers)
    monkeypatch.setattr(T, "_STORE_COPIES", False)
    _copies(headers)
    T._HEADER_SETS.clear()
    client = make_client()
    rsps.post(BASE + "company/contacts", json={"id": 7})
    assert client.contacts.create({"firstName": "Ann", "company": {"id": 1}}) == {"id": 7}
    assert client.contacts.create({"firstName": "Ann", "company": {"id": 1}}) == {"id": 7}  # a set seen before
    first, second = (c.request for c in rsps.calls if c.request.url.endswith("company/contacts"))
    assert dict(first.headers) == dict(second.headers)
    assert first.headers["Authorization"].startswith("Basic ") and first.headers["Content-Type"] == "application/json"
    assert first.headers["User-Agent"] == client.session.headers["User-Agent"]


def test_a_prepared_url_is_the_one_sent_by_either_path(make_client, monkeypatch):
    conditions = C.and_(C.eq("name", 'é & "ü" 100%'), C.in_("id", [1, 2]))
    urls = []
    for trust_env in (False, True):
        client = make_client()
        client.session.trust_env = trust_env
        handed: list = []
        real = client._transport._request

        def spy(method, url, *, params, handed=handed, real=real, **kw):
            handed.append((url, params, kw.get("prepared_url")))
            return real(method, url, params=params, **kw)

        monkeypatch.setattr(client._transport, "_request", spy)
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            rsps.get("https://na.myconnectwise.net/login/companyinfo/acme",
                     json={"Codebase": "v2025_1/", "CompanyName": "Acme", "VersionCode": "v2025.1",
                           "VersionNumber": "v4.6.1", "CompanyID": "acme", "IsCloud": "True"})
            rsps.get(BASE + "company/companies", json=[])
            client.companies.list(conditions=conditions, fields=["id", "name"])
            [sent] = [c.request.url for c in rsps.calls if "company/companies" in c.request.url]
        urls.append(sent)
        [(url, params, prepared)] = [h for h in handed if "company/companies" in h[0]]
        assert params is None and url == prepared == sent  # one encoding of the query, the one sent
    assert urls[0] == urls[1]
    expected = requests.Request("GET", BASE + "company/companies",
                                params={"conditions": conditions, "fields": "id,name"}).prepare().url
    assert urls[0].split("?")[0] == expected.split("?")[0]
    assert set(expected.split("?")[1].split("&")) <= set(urls[0].split("?")[1].split("&"))  # (with page, pageSize)
