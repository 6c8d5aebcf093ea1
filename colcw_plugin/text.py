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


def cw_cut(text: str, limit: int) -> str:
    """The start of ``text`` that fits in ``limit`` as ConnectWise counts (:func:`cw_length`), never half an emoji."""
    head = text[:limit]
    while cw_length(head) > limit:
        head = head[:-1]
    return head


def shorten(text: str, limit: int) -> str:
    """``text`` as it fits in ``limit`` characters as ConnectWise counts them (:func:`cw_length`): itself when it
    fits, else cut at a word boundary (a word longer than the limit is cut), without dangling punctuation or space,
    with an ellipsis."""
    if cw_length(text) <= limit:
        return text
    room = limit - cw_length(ELLIPSIS)
    head = cw_cut(text, room)
    if head[-1:].isalnum() and text[len(head)].isalnum():  # the cut falls inside a word: end before it
        start = max((i for i, c in enumerate(head) if not c.isalnum()), default=-1)
        if start > 0:
            head = head[:start]
    while head and _dangling(head[-1]):
        head = head[:-1]
    return (head or cw_cut(text, room)) + ELLIPSIS
