"""The client builds each URL without requests parsing it again (:func:`colcw_plugin.cw.query.full_url`): the URL it
sends must be exactly the one ``PreparedRequest.prepare_url`` makes, for the URLs the fast path takes and for those it
leaves to requests."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

import pytest
import requests

from colcw_plugin.cw import conditions as C
from colcw_plugin.cw.query import _PLAIN_URL_RE, encode_query, full_url


def _as_requests_would(url: str, params: dict | None) -> str:
    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, params)
    return prepared.url


PLAIN = [
    "https://api-na.myconnectwise.net/v2025_1/apis/3.0/company/companies",
    "https://api-na.myconnectwise.net/v2025_1/apis/3.0/procurement/subcategories/",
    "http://127.0.0.1:38211/v4_6_release/apis/3.0/company/companies/12/sites",
    "http://localhost:65535/v.1/apis/3.0/sales/opportunities/7/forecast",
    "https://cw.example.com/",
]
NOT_PLAIN = [
    "https://API-NA.myconnectwise.net/v2025_1/apis/3.0/company/companies",  # upper-case host: lower-cased
    "https://api-na.myconnectwise.net",  # no path: "/" added
    "http://localhost:0/x",  # port 0 dropped
    "http://localhost:080/x",  # port normalised
    "https://h.example.com/a/../b",  # dot segments removed
    "https://h.example.com/a/./b",
    "https://h.example.com/a//b",
    "https://h.example.com/a b/é",  # quoted
    "https://h.example.com/a%7Eb",  # an unreserved escape unquoted
    "https://h.example.com/a?clientFlag=true",  # a query already
    "https://user:pw@h.example.com/a",
    "https://h.example.com/a#frag",
    "https://h.example.com/a\n",
    "https://bücher.example/a",  # IDNA
]
PARAMS = [
    None,
    {},
    {"page": 2, "pageSize": 1000},
    {"conditions": C.render(C.and_(C.eq("name", 'é & "ü" ~ *x%+'), C.in_("id", [1, 2]))), "fields": "id,name",
     "orderBy": None, "childConditions": "x = 1"},
    {"fields": ["id", "name"], "pageId": 5},
    {"conditions": 'identifier like "A_B-C.D~E/F*"', "empty": ""},
]


@pytest.mark.parametrize("url", PLAIN + NOT_PLAIN)
@pytest.mark.parametrize("params", PARAMS)
def test_the_url_sent_is_the_one_requests_prepares(url, params):
    try:
        expected = _as_requests_would(url, params)
    except requests.exceptions.RequestException:
        with pytest.raises(requests.exceptions.RequestException):
            full_url(url, encode_query(params))
        return
    assert full_url(url, encode_query(params)) == expected


def test_the_fast_path_takes_the_plain_urls_only():
    assert all(_PLAIN_URL_RE.match(url) for url in PLAIN)
    assert not any(_PLAIN_URL_RE.match(url) for url in NOT_PLAIN)


@pytest.mark.parametrize("params", [
    *PARAMS,
    {"flag": True, "big": 1.5e20, "price": Decimal("1.10"), "raw": b"a b+", "ids": [1, "x y", None], "one": ("a",)},
    {"na me": "v", "k+": 1, "é": "x", "a_b": 2, "": "empty name"},
    {"n": "", "negative": -3, "conditions": 'name like "é & ü%+ ~*" and id in (1, 2)'},
])
def test_a_query_is_encoded_as_urlencode_encodes_its_pairs(params):
    pairs = [(name, one) for name, value in (params or {}).items()
             for one in (value if isinstance(value, list | tuple) else (value,)) if one is not None]
    assert encode_query(params) == urlencode(pairs)
