"""colcw measures a text against ConnectWise's field maximums as ConnectWise does, in UTF-16 code units: an emoji
(outside the Basic Multilingual Plane) is two there, so a 60-character description holding one is 61 long and
ConnectWise refuses it (400 MaxLengthField); an accented letter is one."""

from __future__ import annotations

from colcw_plugin.sync.shared.fields import customer_length_problems
from colcw_plugin.text import cw_cut, cw_length, shorten

FIRE = "\N{FIRE}"


def test_an_emoji_counts_two_and_an_accented_letter_one():
    assert cw_length(FIRE) == 2
    assert cw_length("\N{LATIN SMALL LETTER E WITH ACUTE}" * 3) == 3


def test_shorten_keeps_within_the_limit_connectwise_counts():
    text = FIRE + "a" * 59  # 60 characters, 61 units
    out = shorten(text, 60)
    assert cw_length(out) <= 60 and out.endswith("…")
    assert shorten("a" * 58 + FIRE, 60) == "a" * 58 + FIRE  # 60 units: fits, untouched


def test_a_cut_never_splits_an_emoji():
    assert cw_cut("ab" + FIRE, 3) == "ab"
    assert cw_cut("ab" + FIRE, 4) == "ab" + FIRE


def test_a_customer_field_with_an_emoji_is_measured_in_units():
    problems = customer_length_problems({"name": "Acme", "account_number": "A1", "address1": "a" * 49 + FIRE})
    assert [p[0] for p in problems] == [
        "Acme (A1): Company Address Line 1 is 51 characters long as ConnectWise counts them (it counts some "
        "characters, such as emoji, as two); ConnectWise allows at most 50."]
