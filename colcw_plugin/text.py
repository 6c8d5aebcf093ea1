"""Words for people: counts with the right plural, and possessives of names.

"1 line" and "3 lines", never "1 lines" or "line(s)", and "10,000 companies"; "Bayview Logistics’
opportunities" and "Acme Dental’s opportunities"; a reason put before more text ends as a sentence.
Messages and pages use these (pages as the ``plural``, ``possessive`` and ``sentence`` filters).
"""

from __future__ import annotations

IRREGULAR = {"company": "companies", "is": "are", "was": "were", "has": "have", "quote / order": "quotes / orders",
             "category / sub-category pair": "category / sub-category pairs"}


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
