"""A document whose opportunity was deleted in ConnectWise: the one definition the Quotes and Sales Orders lists
(:mod:`.list_status`) and the document's ConnectWise panel (:mod:`.state`) show.

Live updates or the deletion check mark the document's own link ``missing_in_cw`` (sync/inbound/opportunities.py) and
keep it until its next export, which finds the link's opportunity gone, forgets the link and falls back to the name:
it adds the lines to the customer's opportunity named exactly as the document's opportunity name, or creates a new one
(export.py). Until then the document is not "Exported" to anything, and nothing links to the gone record.
"""

from __future__ import annotations

GONE = "missing_in_cw"  # the document's link's status once its opportunity was deleted in ConnectWise
GONE_LABEL = "Opportunity deleted in ConnectWise — export again to create one"


def opportunity_gone(opportunity_id: int | None, name: str = "") -> str:
    """What happened and what to do: the list's reason (on hover) and the panel's state line."""
    called = f"Opportunity {opportunity_id}" + (f" “{name}”" if name else "") if opportunity_id else "Its opportunity"
    return (f"{called} was deleted in ConnectWise. Export the document again to add its lines to a new opportunity "
            "(or to the customer's opportunity of the same name).")
