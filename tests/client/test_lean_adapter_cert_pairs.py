"""A client certificate pair given as a list (``session.cert = [cert, key]``) goes through the clients' adapter as the
same pair as a tuple goes through requests' own (same pool key and pool), not a TypeError on every request (requests
2.34's own adapter raises one: its pool key holds the list); so does a pair as any other sequence."""

from __future__ import annotations

from collections import UserList

import pytest
import requests
from requests.adapters import HTTPAdapter

from colcw_plugin.cw.connections import LeanAdapter

URL = "https://api-na.myconnectwise.net/v2025_1/apis/3.0/company/companies?page=2"


def _pool(pool) -> tuple:
    return (type(pool).__name__, pool.scheme, pool.host, pool.port, getattr(pool, "cert_file", None),
            getattr(pool, "key_file", None))


@pytest.mark.parametrize("cert", [["/tmp/c.pem", "/tmp/k.pem"], UserList(["/tmp/c.pem", "/tmp/k.pem"])])
@pytest.mark.parametrize("verify", [True, False])
def test_a_cert_pair_as_a_list_gets_requests_own_pool(cert, verify):
    lean, plain = LeanAdapter(), HTTPAdapter()
    request = requests.Request("GET", URL).prepare()
    for _ in range(2):  # (the second time from what the lean adapter kept)
        assert lean.build_connection_pool_key_attributes(request, verify, cert) == \
            plain.build_connection_pool_key_attributes(request, verify, tuple(cert))
        pool = lean.get_connection_with_tls_context(request, verify, None, cert)
        assert _pool(pool) == _pool(plain.get_connection_with_tls_context(request, verify, None, tuple(cert)))
    assert (pool.cert_file, pool.key_file) == ("/tmp/c.pem", "/tmp/k.pem")
    # The same pair as a tuple is the same pool.
    assert lean.get_connection_with_tls_context(request, verify, None, tuple(cert)) is pool


def _outcome(adapter, request, cert):
    try:
        return _pool(adapter.get_connection_with_tls_context(request, True, None, cert))
    except TypeError as e:
        return type(e)


def test_a_cert_that_is_no_pair_is_left_to_requests():
    request = requests.Request("GET", URL).prepare()
    for odd in ([["/tmp/c.pem"], "/tmp/k.pem"], 7):
        assert _outcome(LeanAdapter(), request, odd) == _outcome(HTTPAdapter(), request, odd)
