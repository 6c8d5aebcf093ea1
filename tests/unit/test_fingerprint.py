"""A link's fingerprint is the hash of its mapped values' canonical JSON. Bulk syncs take it with orjson
for plain values (faster): it must be the very hash the standard library's encoder gave, or every link
written before would look changed and an unchanged re-import would rewrite them all."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from decimal import Decimal

import pytest

from colcw_plugin.models import fingerprint

_STDLIB = json.JSONEncoder(sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":"))


def stdlib(data) -> str:
    return hashlib.sha256(_STDLIB.encode(data).encode()).hexdigest()


# Every control character, quotes and backslashes, accents, the line separators JavaScript escapes, a BOM,
# characters beyond the basic plane, DEL.
CHARS = [chr(i) for i in range(0x250)] + ["\u2028", "\u2029", "\ufeff", "\U0001f600", "\U0010ffff", "\x7f", "\ue000"]


def random_record(rng: random.Random) -> dict:
    def text(n: int) -> str:
        return "".join(rng.choice(CHARS) for _ in range(rng.randint(0, n)))
    return {text(6): rng.choice([None, True, False, 0, -1, rng.randint(-2**62, 2**62), text(30)])
            for _ in range(rng.randint(0, 9))}


def test_plain_values_hash_as_the_standard_library_wrote_them():
    rng = random.Random(14)
    records = [random_record(rng) for _ in range(5000)]
    assert [fingerprint(r) for r in records] == [stdlib(r) for r in records]


def test_a_customer_keeps_the_fingerprint_its_link_was_given_before():
    customer = {"name": "Café \"Zoë\" & Co\n", "account_number": "ZOE-1", "phone": "", "active": True, "state": None}
    # The hash this record had when links were written with the standard library alone.
    assert fingerprint(customer) == stdlib(customer)
    assert fingerprint(dict(reversed(customer.items()))) == fingerprint(customer)  # key order does not matter
    assert fingerprint({**customer, "phone": "555"}) != fingerprint(customer)


@pytest.mark.parametrize("odd", [
    {"price": 1e16},  # orjson writes 1e16, the standard library 1e+16
    {"price": 0.1 + 0.2},
    {"price": Decimal("10.50")},
    {"at": dt.datetime(2026, 12, 2, 9, 30)},  # orjson writes RFC 3339, the standard library str()
    {"on": dt.date(2026, 12, 2)},
    {1: "a key that is not text"},
    {"big": 2**70},  # beyond orjson's integers
    {"nested": {"price": 1.5}},
    {"list": ["a", 1, None]},
])
def test_other_types_hash_as_before_too(odd):
    assert fingerprint(odd) == stdlib(odd)
