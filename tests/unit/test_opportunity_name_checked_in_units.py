"""The opportunity name is checked against ConnectWise's 100 as ConnectWise counts it, in UTF-16 code units: a name
of 99 letters and an emoji is 101 long there, and ConnectWise refuses it (400 MaxLengthField), while colcw counted 100
characters, let the export ask ConnectWise, and the checklist said nothing. The check and its message now count
alike."""

from __future__ import annotations

from colcw_plugin.sync.quotes.preflight import long_name_check

FIRE = "\N{FIRE}"


def test_a_name_over_100_units_is_refused_though_it_has_100_characters():
    check = long_name_check("a" * 99 + FIRE)
    assert check is not None and not check.ok
    assert "is 101 characters long as ConnectWise counts them (it counts some characters, such as emoji, as two); " \
           "ConnectWise allows at most 100." in check.detail, check.detail


def test_a_name_of_100_units_passes():
    assert long_name_check("a" * 98 + FIRE) is None
    assert long_name_check("a" * 100) is None
