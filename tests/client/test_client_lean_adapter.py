"""The clients' adapter (:class:`colcw_plugin.cw.connections.LeanAdapter`) skips the proxy look-ups requests makes for
every request and works a site's pool key out once: the URL it sends, the pool key and the connection pool it picks
must be those ``HTTPAdapter`` picks, for each site, TLS setting and with proxies."""

from __future__ import annotations

import pytest
import requests
from requests.adapters import HTTPAdapter

from colcw_plugin.cw.connections import LeanAdapter

URLS = [
    "https://api-na.myconnectwise.net/v2025_1/apis/3.0/company/companies?conditions=id%3D1&page=2",
    "https://api-eu.myconnectwise.net/v2025_1/apis/3.0/company/companies",
    "http://127.0.0.1:38211/v4_6_release/apis/3.0/system/info",
    "http://127.0.0.1:38212/v4_6_release/apis/3.0/system/info",
    "https://cw.example.com:8443/login/companyinfo/acme",
    "http://host1",
    "http://host2",
]


def _prepared(url: str) -> requests.PreparedRequest:
    return requests.Request("GET", url).prepare()


def _pool(pool) -> tuple:
    return (type(pool).__name__, pool.scheme, pool.host, pool.port, getattr(pool, "cert_reqs", None),
            getattr(pool, "ca_certs", None), getattr(pool, "ca_cert_dir", None), getattr(pool, "cert_file", None),
            getattr(pool, "key_file", None))


@pytest.mark.parametrize("verify", [True, False, __file__, "/"])
@pytest.mark.parametrize("cert", [None, "/tmp/client.pem", ("/tmp/c.pem", "/tmp/k.pem")])
def test_the_pool_and_its_key_are_requests_own(verify, cert):
    lean, plain = LeanAdapter(), HTTPAdapter()
    for _ in range(2):  # (the second time from what the lean adapter kept)
        for url in URLS:
            request = _prepared(url)
            assert lean.build_connection_pool_key_attributes(request, verify, cert) == \
                plain.build_connection_pool_key_attributes(request, verify, cert)
            for proxies in (None, {}):
                assert _pool(lean.get_connection_with_tls_context(request, verify, proxies, cert)) == \
                    _pool(plain.get_connection_with_tls_context(request, verify, proxies, cert))
    hosts = {lean.get_connection_with_tls_context(_prepared(u), verify, {}, cert).host for u in URLS}
    assert {"host1", "host2", "127.0.0.1", "cw.example.com"} <= hosts


@pytest.mark.parametrize("proxies", [None, {}, {"http": "http://proxy.example:3128"},
                                     {"https": "socks5://proxy.example:1080"}, {"all": "http://proxy.example:3128"}])
def test_the_url_sent_is_requests_own(proxies):
    lean, plain = LeanAdapter(), HTTPAdapter()
    for url in URLS:
        request = _prepared(url)
        assert lean.request_url(request, proxies) == plain.request_url(request, proxies)
        if proxies and "socks" not in str(proxies):  # (no SOCKS support installed)
            assert _pool(lean.get_connection_with_tls_context(request, True, proxies)) == \
                _pool(plain.get_connection_with_tls_context(request, True, proxies))


def test_credentials_in_a_url_are_not_kept():
    lean = LeanAdapter()
    lean.build_connection_pool_key_attributes(_prepared("https://user:secret@cw.example.com/x"), True, None)
    assert not any("secret" in repr(key) for key in lean._pool_keys)
