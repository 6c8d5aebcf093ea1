"""An opportunity name too long for ConnectWise is said as a customer's field too long is: its length counted as
ConnectWise counts it, in UTF-16 code units (an emoji is two there), with the reason when that count is more than
the characters a rep sees; and the start of the name the message quotes never ends in half an emoji (a family
emoji is several characters joined, a flag two)."""

from __future__ import annotations

from colcw_plugin.sync.quotes.problems import long_name

FAMILY = "\N{MAN}\N{ZERO WIDTH JOINER}\N{WOMAN}\N{ZERO WIDTH JOINER}\N{GIRL}"  # 5 characters, 8 UTF-16 units
FIRE = "\N{FIRE}"
FLAG = "\N{REGIONAL INDICATOR SYMBOL LETTER F}\N{REGIONAL INDICATOR SYMBOL LETTER R}"  # France: 2 characters, 4 units


def test_the_length_is_said_as_connectwise_counts_it_with_the_reason():
    name = "Project " + FIRE * 50  # 58 characters, 108 units
    refusal = long_name(name, 100)
    assert "is 108 characters long as ConnectWise counts them (it counts some characters, such as emoji, as two); " \
           "ConnectWise allows at most 100." in refusal.message, refusal.message


def test_a_plain_name_is_said_as_before():
    refusal = long_name("N" * 170, 100)
    assert refusal.message == f"The opportunity name \"{'N' * 40}…\" is 170 characters long; ConnectWise allows " \
                              "at most 100."
    assert refusal.resolution == "Shorten the opportunity name on the document."


def test_the_quoted_start_never_splits_a_joined_emoji():
    name = "A" * 38 + FAMILY + "B" * 100
    assert "The opportunity name \"" + "A" * 38 + "…\"" in long_name(name, 100).message


def test_the_quoted_start_never_splits_a_flag_or_a_surrogate_pair():
    assert "\"" + "A" * 37 + "…\"" in long_name("A" * 37 + FLAG + "B" * 100, 100).message
    assert "\"" + "A" * 39 + "…\"" in long_name("A" * 39 + FIRE + "B" * 100, 100).message
    assert "\"" + "A" * 38 + FIRE + "…\"" in long_name("A" * 38 + FIRE + "B" * 100, 100).message
