"""Which lastUpdated stamps can vouch for an untouched company (sync/customers/settled.py): only ConnectWise's own
format, checked before the page's query; any other goes to the query as "" and its company down the full path."""

from __future__ import annotations

import pytest

from colcw_plugin.sync.customers.settled import _stamp


def _record(stamp) -> dict:
    return {"id": 1, "_info": {"lastUpdated": stamp}}


@pytest.mark.parametrize("stamp", ["2026-11-30T08:15:00Z", "2026-11-30T08:15:00.5Z", "2026-11-30T08:15:00.123456Z"])
def test_connectwise_own_format_is_kept(stamp):
    assert _stamp(_record(stamp)) == stamp


@pytest.mark.parametrize("stamp", [
    "", None, "2026-11-30 08:15:00Z", "2026-11-30T08:15:00", "2026-11-30T08:15:00+01:00", "2026-11-30T08:15:00.1234567Z",
    "２０２６-11-30T08:15:00Z", "2026-11-30T08:15Z"])
def test_any_other_stamp_is_left_out(stamp):
    assert _stamp(_record(stamp)) == ""


def test_surrounding_blanks_are_dropped_as_the_link_keeps_the_stamp():
    assert _stamp(_record(" 2026-11-30T08:15:00Z\n")) == "2026-11-30T08:15:00Z"


def test_a_record_without_info_has_no_stamp():
    assert _stamp({"id": 1}) == ""
