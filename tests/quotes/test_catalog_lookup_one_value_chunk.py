"""A one-line document's catalog look-up asks ``identifier in (<one value>)``: cw.query.in_chunks gives that one value
its own chunk when its request fits the URL limit (with the room kept for paging), and refuses it, naming it, when
it does not; a value holding ``*`` (asked for apart, as a like) is counted as such."""

from __future__ import annotations

from urllib.parse import quote_plus

import pytest

from colcw_plugin.cw import conditions as C
from colcw_plugin.cw.query import _PAGING_RESERVE, encode_query, full_url, in_chunks, list_params

URL = "https://cw.example/v4_6_release/apis/3.0/procurement/catalog"
FIELDS = ["id", "identifier", "inactiveFlag"]


def _request_length(value) -> int:
    """The length of the look-up's URL for ``value`` alone (before its paging parameters)."""
    params = list_params(conditions=C.InList("identifier", [value]), fields=FIELDS, need_id=True)
    return len(full_url(URL, encode_query(params)))


@pytest.mark.parametrize("value", ["BENCH-000", "A \"quoted\" (item) & more", 42])
def test_one_value_fits_up_to_the_limit_and_not_one_character_more(value):
    limit = _request_length(value) + _PAGING_RESERVE
    assert list(in_chunks(URL, "identifier", [value, value], max_url_length=limit, fields=FIELDS)) == [[value]]
    with pytest.raises(ValueError, match="value too long for one ConnectWise URL"):
        list(in_chunks(URL, "identifier", [value], max_url_length=limit - 1, fields=FIELDS))


def test_one_starred_value_is_counted_as_asked_for_apart():
    value = "X*Y"
    apart = len(quote_plus(f"(identifier in ()) OR identifier like {C.format_value(C.escape_like(value))}"))
    listed = len(quote_plus(C.format_value(value)))
    limit = _request_length(value) - listed + apart + _PAGING_RESERVE
    assert list(in_chunks(URL, "identifier", [value], max_url_length=limit, fields=FIELDS)) == [[value]]
    # (its plain in-list request alone would fit in one character less; counted as apart, it does not)
    with pytest.raises(ValueError):
        list(in_chunks(URL, "identifier", [value], max_url_length=limit - 1, fields=FIELDS))


def test_several_values_still_split_by_length():
    values = [f"ITEM-{i:04d}" for i in range(300)]
    chunks = list(in_chunks(URL, "identifier", values, max_url_length=600, fields=FIELDS))
    assert len(chunks) > 1 and sum(chunks, []) == values
