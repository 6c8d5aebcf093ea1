"""Validated header sets are shared by the clients of a process (``Transport._merged_headers``) without the
credentials: each client's requests carry its own Authorization, the shared sets hold none, and a bad one still
fails the request as before."""

from __future__ import annotations

import base64

import pytest
from cwtest_support import BASE

from colcw_plugin.cw import transport as T
from colcw_plugin.cw.errors import ConnectWiseError


def _user(request) -> str:
    return base64.b64decode(request.headers["Authorization"].split()[1]).decode().split(":")[0]


def test_two_clients_send_their_own_credentials_and_the_shared_sets_hold_none(make_client, rsps):
    first = make_client()
    second = make_client(public_key="otherpub", private_key="otherpriv")
    rsps.get(BASE + "company/companies/1", json={"id": 1})
    rsps.post(BASE + "company/companies", json={"id": 2})
    for client in (first, second, first):
        client.companies.get(1)
        client.companies.create({"name": "Acme"})
    sent = [c.request for c in rsps.calls if "companyinfo" not in c.request.url]
    assert [_user(r).split("+")[1] for r in sent] == [first.settings.public_key] * 2 + ["otherpub"] * 2 + \
        [first.settings.public_key] * 2
    assert [r.headers["Content-Type"] for r in sent if r.method == "POST"] == ["application/json"] * 3
    kept = [value for merged in T._HEADER_SETS.values() for value in merged.values()]
    assert kept and T._AUTH_STAND_IN in kept
    assert not any(first._transport._auth == v or second._transport._auth == v for v in kept)
    assert not any(first._transport._auth in repr(key) or second._transport._auth in repr(key) for key in T._HEADER_SETS)


def test_a_session_with_credentials_of_its_own_keeps_its_sets_to_its_client(make_client, rsps):
    client = make_client()
    client.session.headers["Authorization"] = "Basic c2Vzc2lvbjpzZWNyZXQ="
    rsps.get(BASE + "company/companies/1", json={"id": 1})
    client.companies.get(1)
    assert rsps.calls[-1].request.headers["Authorization"] == client._transport._auth  # (the call's, over it)
    assert not any("c2Vzc2lvbjpzZWNyZXQ=" in repr(key) for key in T._HEADER_SETS)
    assert client._transport._header_sets


def test_an_invalid_authorization_fails_the_request_unsent(make_client, rsps):
    client = make_client()
    client._transport._auth = "Basic bad\nvalue"
    rsps.get(BASE + "company/companies/1", json={"id": 1})
    with pytest.raises(ConnectWiseError):
        client.companies.get(1)
    assert not [c for c in rsps.calls if "company/companies" in c.request.url]
