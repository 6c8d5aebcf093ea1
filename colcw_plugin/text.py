"""Words for people: counts with the right plural, and possessives of names.

"1 line" and "3 lines", never "1 lines" or "line(s)", and "10,000 companies"; "Bayview Logistics’
opportunities" and "Acme Dental’s opportunities"; a reason put before more text ends as a sentence; a text cut at a
word's end with "…" where less of it fits (a catalog item's description, a message in a row of the job history).
Messages and pages use these (pages as the ``plural``, ``possessive``, ``sentence`` and ``shortened`` filters).
"""

from __future__ import annotations

import unicodedata

IRREGULAR = {"company": "companies", "is": "are", "was": "were", "has": "have", "quote / order": "quotes / orders",
             "category / sub-category pair": "category / sub-category pairs"}


# ConnectWise busy, not refusing anything, by the kind of failure (``DiscoveryError.kind``): what a message says happened
# when ConnectWise rate-limited or failed a request colcw made for a person (the callbacks' registration; the
# Connection card says the same words, setup.connection.check_failure). Nothing the person typed is wrong; trying
# again later works.
CONNECTWISE_BUSY = {"rate_limited": "ConnectWise is rate-limiting colcw", "server_error": "ConnectWise failed"}

# A record a run stopped waiting for when the wait was colcw's own, not a failure (ConnectWise answered every request):
# a new opportunity an earlier attempt asked ConnectWise to create, which ConnectWise may still create, is not asked for
# a second time meanwhile (sync/quotes/intents.py ``CreateStillLanding``). What the run's closing says of it before its
# details, where a failure says "ConnectWise answered: …" (sync/jobs/runs.py), and what to do.
COLCW_HELD_BACK = "colcw held it back (ConnectWise answered every request)"
COLCW_HELD_BACK_FIX = "Try again in a few minutes."


def plural(count: int, one: str, many: str | None = None) -> str:
    """``"1 line"``, ``"2 lines"``; ``many`` for words that do not just take an s."""
    if count == 1:
        return f"{count} {one}"
    return f"{count:,} {many or IRREGULAR.get(one) or one + 's'}"


def possessive(name: str) -> str:
    """``"Acme Dental’s"``, ``"Bayview Logistics’"`` (a name ending in s takes the apostrophe alone)."""
    name = (name or "").strip()
    return f"{name}’" if name.endswith(("s", "S")) else f"{name}’s"


def sentence(text: str | None) -> str:
    """``text`` ending as a sentence (a full stop added unless it ends with ., ! or ?), so a reason can be
    followed by the next sentence: "…could not be read: timed out. Type the values…"."""
    text = (text or "").strip()
    return text if not text or text.endswith((".", "!", "?")) else f"{text}."


ELLIPSIS = "…"
# What may end a shortened text before its ellipsis besides a letter or digit: what closes a bracket or a quotation
# (its opening is kept with it).
_CLOSING = set(")]}\"'”’»")


def _dangling(c: str) -> bool:
    """Whether ``c`` left at the end of a cut text would dangle (a space, a dash, an opening bracket, a comma…)."""
    return not (c.isalnum() or c in _CLOSING) or unicodedata.category(c).startswith("Z")


def cw_length(text: str) -> int:
    """``text``'s length as ConnectWise measures it against a field's maximum: in UTF-16 code units (a .NET string's
    length, an ``nvarchar`` column's size). An emoji or another character outside the Basic Multilingual Plane counts
    2; an accented letter counts 1."""
    return len(text.encode("utf-16-le")) // 2


def cw_length_said(text: str) -> str:
    """``text``'s length as a message beside a ConnectWise maximum says it: "51 characters long", and where
    ConnectWise's count (:func:`cw_length`) is more than the characters Python counts, why, in plain words: a rep who
    typed 50 characters and an emoji is told it is 52 long, and would otherwise count 51 and not see the fault."""
    n = cw_length(text)
    if n == len(text):
        return f"{n} characters long"
    return f"{n} characters long as ConnectWise counts them (it counts some characters, such as emoji, as two)"


_ZWJ = "\N{ZERO WIDTH JOINER}"


def _regional(c: str) -> bool:
    """A regional indicator: two of them make one flag."""
    return "\U0001F1E6" <= c <= "\U0001F1FF"


def _hangul(c: str) -> str:
    """``c``'s part in a Hangul syllable as Unicode's grapheme clusters join them: a leading consonant ("L"), a vowel
    ("V"), a trailing consonant ("T"), a written syllable without ("LV") or with ("LVT") its trailing consonant; ""
    for any other character."""
    if "\u1100" <= c <= "\u115f" or "\ua960" <= c <= "\ua97c":
        return "L"
    if "\u1160" <= c <= "\u11a7" or "\ud7b0" <= c <= "\ud7c6":
        return "V"
    if "\u11a8" <= c <= "\u11ff" or "\ud7cb" <= c <= "\ud7fb":
        return "T"
    if "\uac00" <= c <= "\ud7a3":
        return "LVT" if (ord(c) - 0xAC00) % 28 else "LV"
    return ""


# Characters written before what they mark, joined to the character after them unless that is a control (Unicode's
# Grapheme_Cluster_Break=Prepend, rule GB9b, as of Unicode 14, Python 3.11's): the Arabic number, year and page signs
# and end of ayah that stand before digits, Syriac's abbreviation mark, Malayalam's dot reph, and a few of other scripts.
_PREPEND = frozenset("\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2\u0d4e"
                     "\U000110bd\U000110cd\U000111c2\U000111c3\U0001193f\U00011941\U00011a3a"
                     "\U00011a84\U00011a85\U00011a86\U00011a87\U00011a88\U00011a89\U00011d46")


def _control(c: str) -> bool:
    """A control as Unicode's grapheme clusters break around it (rules GB4 and GB5), which not even a prepended mark
    joins: a control character, a line or paragraph separator, or a format character other than the joiners, the
    prepended marks themselves and the tags."""
    category = unicodedata.category(c)
    if category == "Cf":
        return not (c in ("\u200c", _ZWJ) or c in _PREPEND or "\U000E0020" <= c <= "\U000E007F")
    return category in ("Cc", "Zl", "Zp")


# What may follow each part of a Hangul syllable within it (Unicode's rules GB6 to GB8).
_HANGUL_NEXT = {"L": {"L", "V", "LV", "LVT"}, "V": {"V", "T"}, "LV": {"V", "T"}, "T": {"T"}, "LVT": {"T"}}


def _joined(text: str, i: int) -> bool:
    """Whether a cut of ``text`` before its character ``i`` falls inside what a reader sees as one character: before a
    combining mark (an accent typed after its letter, a variation selector), a skin tone, a tag or a zero width joiner,
    after a joiner before a character that is not Latin-1 (a family emoji of people joined), between the two halves
    of a flag, inside a Hangul syllable written as its letters (jamo, as macOS writes file names), after a mark written
    before what it marks (an Arabic number sign before its digits), or between CR and LF. (Unicode's grapheme clusters
    as of Unicode 14, Python 3.11's: not yet 15.1's Indic conjuncts, GB9c.)"""
    if i <= 0 or i >= len(text):
        return False
    after, before = text[i], text[i - 1]
    if before in _PREPEND:
        return not _control(after)
    if after < "\u0300":  # (Latin-1 and the rest below the combining marks: none of those but CR LF)
        return before == "\r" and after == "\n"
    if before == _ZWJ or after == _ZWJ or unicodedata.category(after).startswith("M"):
        return True
    if "\u1100" <= after <= "\ud7fb" and _hangul(after) in _HANGUL_NEXT.get(_hangul(before), ()):
        return True
    if "\U0001F3FB" <= after <= "\U0001F3FF" or "\U000E0020" <= after <= "\U000E007F":  # skin tones, tags
        return True
    if _regional(after) and _regional(before):
        run = 0
        while i - 1 - run >= 0 and _regional(text[i - 1 - run]):
            run += 1
        return run % 2 == 1  # (the indicator before the cut is the first of a pair)
    return False


def _cluster_start(text: str, end: int) -> int:
    """Where the character a reader sees that ends at ``end`` (a boundary of ``text``) starts."""
    start = end - 1
    while start > 0 and _joined(text, start):
        start -= 1
    return start


def cw_cut(text: str, limit: int) -> str:
    """The start of ``text`` that fits in ``limit`` as ConnectWise counts (:func:`cw_length`), ending between two
    characters a reader sees: never half an emoji, nor a family emoji of people joined, a flag, a skin tone or an
    accent typed after its letter cut apart (what ConnectWise is sent, and shows, ends in no broken character).
    Only when the first such character is longer than ``limit`` is it cut where the units run out."""
    head = text[:limit]
    while cw_length(head) > limit:
        head = head[:-1]
    end = len(head)
    if end == len(text):
        return head
    while end > 0 and _joined(text, end):
        end -= 1
    return text[:end] if end > 0 else head


def _word(c: str) -> bool:
    """A letter or digit, or a mark on one (an accent typed after its letter is part of the word)."""
    return c.isalnum() or (c >= "\u0300" and unicodedata.category(c).startswith("M"))


def shorten(text: str, limit: int) -> str:
    """``text`` as it fits in ``limit`` characters as ConnectWise counts them (:func:`cw_length`): itself when it
    fits, else cut at a word boundary (a word longer than the limit is cut), without dangling punctuation or space,
    with an ellipsis; never inside what a reader sees as one character (:func:`cw_cut`)."""
    if cw_length(text) <= limit:
        return text
    room = limit - cw_length(ELLIPSIS)
    cut = head = cw_cut(text, room)
    if head[-1:] and _word(head[-1]) and _word(text[len(head)]):  # the cut falls inside a word: end before it
        start = max((i for i, c in enumerate(head) if not _word(c)), default=-1)
        if start > 0:
            while start > 0 and _joined(text, start):  # (a non-word character joined to what is before it)
                start -= 1
            head = head[:start]
    while head:  # whole characters as a reader sees them, by the one they start with
        start = _cluster_start(text, len(head))
        if not _dangling(head[start]):
            break
        head = head[:start]
    return (head or cut) + ELLIPSIS
