"""text.cw_cut and text.shorten (what colcw sends ConnectWise: a line's descriptions, a catalog item's, a part number;
and a message's quoted start) cut only between characters a reader sees: never inside a family emoji of people joined
by zero width joiners, a flag (two regional indicators), a skin-toned emoji, nor between a letter and the accents
typed after it, nor a Hangul syllable written as its letters, nor a sign written before the digit it marks, nor an Indic
conjunct (Unicode 15.1's rule GB9c, which Python 3.11's own tables predate); always within the limit as ConnectWise
counts (UTF-16 units)."""

from __future__ import annotations

import pytest

from colcw_plugin.sync.quotes.problems import long_name
from colcw_plugin.text import ELLIPSIS, cw_cut, cw_length, shorten

FAMILY = "\U0001F468\u200D\U0001F469\u200D\U0001F467"  # 👨‍👩‍👧: 8 units
FLAG = "\U0001F1EB\U0001F1F7"  # 🇫🇷: 4 units
THUMB = "\U0001F44D\U0001F3FD"  # 👍🏽: 4 units
E_ACUTE = "e\u0301\u0302"  # e with two accents typed after it: 3 units
HAN_JAMO = "\u1112\u1161\u11ab"  # 한 written as its three letters (NFD, as macOS writes file names): 3 units
HA_N = "\ud558\u11ab"  # 한 as the syllable 하 and its trailing letter: 2 units
SIGNED = "\u0600" + "1"  # the Arabic number sign written before the digit it marks: 2 units
KSSA = "\u0915\u094d\u0937"  # क्ष, a Devanagari conjunct: ka, its virama, ssa (3 units; a cut after the virama leaves a
#                               half form)
JNYA = "\u099c\u09cd\u099e\u09be"  # জ্ঞা, a Bengali conjunct and the vowel sign on it: 4 units


def _whole(text: str, cut: str, *pieces: str) -> None:
    """``cut`` is a start of ``text`` that keeps each of ``pieces`` whole or leaves it out."""
    assert text.startswith(cut.removesuffix(ELLIPSIS))
    kept = cut.removesuffix(ELLIPSIS)
    for piece in pieces:
        at = text.find(piece)
        while at >= 0:
            assert kept[at:at + len(piece)] in ("", piece), (kept, piece)
            at = text.find(piece, at + 1)


@pytest.mark.parametrize("piece", [FAMILY, FLAG, THUMB, E_ACUTE, HAN_JAMO, HA_N, SIGNED, KSSA, JNYA])
def test_cw_cut_never_splits_what_a_reader_sees_as_one_character(piece):
    text = "Ab" + piece + "cd" + piece + piece
    for limit in range(1, cw_length(text) + 1):
        cut = cw_cut(text, limit)
        assert cw_length(cut) <= limit
        _whole(text, cut, piece)
        if limit >= 2:
            assert cut.startswith("Ab")
    assert cw_cut(text, cw_length(text)) == text


def test_cw_cut_at_each_boundary_keeps_all_that_fits():
    text = "Ab" + FAMILY + "c"
    assert cw_cut(text, 2 + 7) == "Ab"  # one unit short of the family: left out whole
    assert cw_cut(text, 2 + 8) == "Ab" + FAMILY
    assert cw_cut("x" + FLAG + FLAG, 1 + 6) == "x" + FLAG  # (the second flag's first half fits, not the flag)
    assert cw_cut("caf" + E_ACUTE + "s", 4) == "caf"
    assert cw_cut("caf" + E_ACUTE + "s", 6) == "caf" + E_ACUTE
    assert cw_cut("line one\r\nline two", 9) == "line one"  # (CR LF kept together)
    assert cw_cut("\ud55c\uad6d " + HAN_JAMO + "\uad6d", 4) == "\ud55c\uad6d "  # (한국, then 한 as its letters: none of them)
    assert cw_cut("\ud55c\uad6d " + HAN_JAMO + "\uad6d", 6) == "\ud55c\uad6d " + HAN_JAMO
    assert cw_cut(HAN_JAMO + HAN_JAMO, 4) == HAN_JAMO  # (a trailing letter, then the next syllable's leading one)
    assert cw_cut("x" + HA_N, 2) == "x"
    assert cw_cut("No. " + SIGNED + "25", 5) == "No. "  # (the sign goes with its first digit, not alone)
    assert cw_cut("No. " + SIGNED + "25", 6) == "No. " + SIGNED
    assert cw_cut("x\u0600\n", 2) == "x\u0600"  # (nothing joins a line break: the sign ends where it stands)
    assert cw_cut("x" + KSSA, 3) == "x"  # (not ka and its virama without the ssa they join)
    assert cw_cut("x" + KSSA, 4) == "x" + KSSA
    assert cw_cut("x" + KSSA + "\u094d", 4) == "x"  # (a virama after the conjunct is still part of it)


@pytest.mark.parametrize("piece", [FAMILY, FLAG, THUMB, E_ACUTE, HAN_JAMO, HA_N, SIGNED, KSSA, JNYA])
def test_shorten_never_splits_what_a_reader_sees_as_one_character(piece):
    texts = ["Tour " + piece + " of the world " + piece + " again",
             "Word" + piece + "word" + piece + "word" + piece + "longer",
             piece * 6]
    for text in texts:
        # (a text whose first character a reader sees is longer than the room is cut where the units run out)
        first = cw_length(piece) + 1 if text.startswith(piece) else 2
        for limit in range(first, cw_length(text)):
            cut = shorten(text, limit)
            assert cw_length(cut) <= limit and cut.endswith(ELLIPSIS)
            _whole(text, cut, piece)


def test_shorten_keeps_an_accented_word_whole():
    text = "Caf" + E_ACUTE + " au lait, grand format"
    assert shorten(text, 12) == "Caf" + E_ACUTE + " au…"
    assert shorten(text, 7) == "Caf" + E_ACUTE + "…"  # (the accents are the word's, not dangling punctuation)


def test_the_long_name_message_quotes_a_start_cut_the_same_way():
    name = "A" * 35 + FAMILY + " and more" * 10
    message = long_name(name).message
    assert f'"{"A" * 35}…"' in message


def test_a_limit_with_no_room_cuts_to_nothing_and_returns():
    assert cw_cut("abc", 0) == "" and cw_cut("abc", -1) == ""
    assert shorten("abc", 0) == ""  # (not even the ellipsis fits)
    assert shorten("abc", 1) == ELLIPSIS and shorten("abc", 3) == "abc"
