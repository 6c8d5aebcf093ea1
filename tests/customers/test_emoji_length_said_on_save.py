"""A field holding an emoji is measured as ConnectWise measures it (UTF-16 units: an emoji is two), and the warning on
saving the customer (and its export's refusal, in the same words) now says so: a rep who typed a 49-letter name and
"😀" was told "Company Name is 51 characters long; ConnectWise allows at most 50", counted 50, and could not see what
to shorten. A name of plain letters is said as before."""

from __future__ import annotations

import pytest
from customer_support import export, items, make_customer
from test_long_field_save_warning_scope import _save

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

GRIN = "\N{GRINNING FACE}"


def test_an_emoji_name_is_said_to_count_two_on_save_and_in_the_export(sync_ready, rep_client):
    customer = make_customer()
    name = "B" * 49 + GRIN  # 50 characters, 51 as ConnectWise counts them
    flashes = _save(rep_client, customer.id, name=name)
    assert [cls for cls, _ in flashes] == ["success", "warning"]
    assert f"{name} (ACME1): Company Name is 51 characters long as ConnectWise counts them (it counts some " \
           "characters, such as emoji, as two); ConnectWise allows at most 50." in flashes[1][1], flashes[1][1]
    [failed] = items(export(customer.id), "customer")
    assert failed.action == "failed"
    assert "(it counts some characters, such as emoji, as two); ConnectWise allows at most 50." in failed.message


def test_a_plain_name_is_said_as_before(sync_ready, rep_client):
    customer = make_customer()
    flashes = _save(rep_client, customer.id, name="B" * 51)
    assert f"{'B' * 51} (ACME1): Company Name is 51 characters long; ConnectWise allows at most 50." in flashes[1][1]
    assert "emoji" not in flashes[1][1]
