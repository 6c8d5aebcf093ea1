"""Words for people: counts with the right plural, and possessives of names.

"1 line" and "3 lines", never "1 lines" or "line(s)", and "10,000 companies"; "Bayview Logistics’
opportunities" and "Acme Dental’s opportunities"; a reason put before more text ends as a sentence; a text cut at a
word's end with "…" where less of it fits (a catalog item's description, a message in a row of the job history).
Messages and pages use these (pages as the ``plural``, ``possessive``, ``sentence`` and ``shortened`` filters).
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left

import regex

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


# What a reader sees as one character: Unicode's extended grapheme cluster (UAX #29), as the regex module knows it
# for the Unicode version it carries (the standard library's unicodedata stays at the Python release's: 14 on 3.11,
# before 15.1's Indic conjuncts). A family emoji of people joined, a flag, a skin-toned emoji, a letter and the
# accents typed after it, a Hangul syllable written as its letters, a sign written before the digit it marks, an
# Indic conjunct (a consonant, its virama, the next consonant), CR LF.
_CLUSTER = regex.compile(r"\X")


def _cluster_ends(text: str, end: int) -> list[int]:
    """Where the characters a reader sees in ``text`` start, up to ``end``: 0, then each one's end that is at or
    before ``end`` (the scan stops at the first character past it)."""
    ends = [0]
    for seen in _CLUSTER.finditer(text):
        if seen.end() > end:
            break
        ends.append(seen.end())
    return ends


def cw_cut(text: str, limit: int) -> str:
    """The start of ``text`` that fits in ``limit`` as ConnectWise counts (:func:`cw_length`), ending between two
    characters a reader sees (:data:`_CLUSTER`): never half an emoji, nor a family emoji of people joined, a flag, a
    skin tone, an accent typed after its letter or an Indic conjunct cut apart (what ConnectWise is sent, and shows,
    ends in no broken character). Only when the first such character is longer than ``limit`` is it cut where the
    units run out."""
    return text if cw_length(text) <= limit else _cut(text, limit)[0]


def _cut(text: str, limit: int) -> tuple[str, list[int]]:
    """:func:`cw_cut` of a ``text`` that does not fit, and where the characters a reader sees in it start
    (:func:`_cluster_ends`)."""
    head = text[:max(limit, 0)]
    while head and cw_length(head) > limit:
        head = head[:-1]
    ends = _cluster_ends(text, len(head))
    return (text[:ends[-1]] if ends[-1] > 0 else head), ends


def _word(c: str) -> bool:
    """A letter or digit, or a mark on one (an accent typed after its letter is part of the word)."""
    return c.isalnum() or (c >= "\u0300" and unicodedata.category(c).startswith("M"))


def shorten(text: str, limit: int) -> str:
    """``text`` as it fits in ``limit`` characters as ConnectWise counts them (:func:`cw_length`): itself when it
    fits, else cut at a word boundary (a word longer than the limit is cut), without dangling punctuation or space,
    with an ellipsis; never inside what a reader sees as one character (:func:`cw_cut`)."""
    if cw_length(text) <= limit:
        return text
    if limit < cw_length(ELLIPSIS):  # (no room for the ellipsis itself: nothing fits)
        return ""
    cut, ends = _cut(text, limit - cw_length(ELLIPSIS))
    head = cut
    if head[-1:] and _word(head[-1]) and _word(text[len(head)]):  # the cut falls inside a word: end before it
        last = max((i for i, c in enumerate(head) if not _word(c)), default=-1)
        if last > 0:  # (before the whole character the last non-word one is part of)
            head = head[:ends[bisect_left(ends, last + 1) - 1]]
    while head:  # whole characters as a reader sees them, by the one they start with
        start = ends[bisect_left(ends, len(head)) - 1]
        if not _dangling(head[start]):
            break
        head = head[:start]
    return (head or cut) + ELLIPSIS
