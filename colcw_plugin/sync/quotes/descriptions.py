"""A line's description where ConnectWise holds less of it: a new catalog item's ``description`` (60 characters).

The text is cut at a word's end, never inside a word, without the punctuation or space left dangling there (a
"–", a "(", a ","), and ends with an ellipsis, which the limit leaves room for; the item's ``customerDescription``
keeps the whole text (:func:`colcw_plugin.text.shorten` cuts it, as it cuts a long message in the job history). The
export's run log says which items were shortened (:func:`shortened_note`).
"""

from __future__ import annotations


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
