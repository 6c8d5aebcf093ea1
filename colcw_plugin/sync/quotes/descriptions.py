"""A line's description where ConnectWise holds less of it: a new catalog item's ``description`` (60 characters).

The text is cut at a word's end, never inside a word, without the punctuation or space left dangling there (a
"–", a "(", a ","), and ends with an ellipsis, which the limit leaves room for; the item's ``customerDescription``
keeps the whole text. The export's run log says which items were shortened (:func:`shortened_note`).
"""

from __future__ import annotations

import unicodedata

ELLIPSIS = "…"
# What may end a shortened text before its ellipsis besides a letter or digit: what closes a bracket or a quotation
# (its opening is kept with it).
_CLOSING = set(")]}\"'”’»")


def _dangling(c: str) -> bool:
    """Whether ``c`` left at the end of a cut text would dangle (a space, a dash, an opening bracket, a comma…)."""
    return not (c.isalnum() or c in _CLOSING) or unicodedata.category(c).startswith("Z")


def shorten(text: str, limit: int) -> str:
    """``text`` as it fits in ``limit`` characters: itself when it fits, else cut at a word boundary (a word longer
    than the limit is cut), without dangling punctuation or space, with an ellipsis."""
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    head = text[:room]
    if head[-1:].isalnum() and text[room].isalnum():  # the cut falls inside a word: end before it
        start = max((i for i, c in enumerate(head) if not c.isalnum()), default=-1)
        if start > 0:
            head = head[:start]
    while head and _dangling(head[-1]):
        head = head[:-1]
    return (head or text[:room]) + ELLIPSIS


def shortened_note(bodies: list[dict], limit: int) -> list[str]:
    """The run log's note on the catalog items an export created with a shortened description (``bodies``: what was
    sent, the whole text in its ``customerDescription``; ``limit``: what ConnectWise's ``description`` holds)."""
    cut = [b for b in bodies if b.get("description") != b.get("customerDescription")]
    if not cut:
        return []
    named = "; ".join(f"{b['identifier']}: “{b['description']}”" for b in cut)
    several = len(cut) > 1
    return [f"The description{'s' if several else ''} of the new catalog item{'s' if several else ''} "
            f"{'were' if several else 'was'} shortened to the {limit} characters ConnectWise's catalog holds "
            f"({named}); the full text is in {'their' if several else 'its'} customer description."]
