"""Won on conversion (user guide §5.4): a quote becomes a sales order, its opportunity turns Won.

When the host converts an exported quote (the ``quote_converted`` event), the sales order is
exported to the quote's opportunity: it takes over the quote's lines (no duplicates) and sets
the opportunity to Won — found by ConnectWise's status flags, never by name — unless another
quote feeding the same opportunity is not converted yet: then it stays open, the run log names
the quotes it waits for, and it turns Won when the last of them is converted (the rule: shared/won_rule.py).
"""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from ...models import DOCUMENT, SyncRun, get_link
from ..jobs.kinds import KindRegistry
from ..jobs.queue import JobQueue, submit
from ..shared.won_rule import quotes_keeping_open
from . import KIND
from .held import HeldDocument
from .opportunities import OpportunitySetup


def on_quote_converted(session: Session, queue: JobQueue, kinds: KindRegistry, quote: dict, order: dict,
                       actor: dict | None) -> SyncRun | None:
    """The ``quote_converted`` event: when the quote was exported, export its sales order.

    The conversion is already committed in the host and will not fire again: losing this run
    would lose the Won. So it is recorded even while Redis is down (the scheduler queues it
    once Redis answers again).
    """
    if get_link(session, DOCUMENT, quote["id"]) is None:
        return None  # never exported: nothing to update in ConnectWise
    return submit(session, queue, kinds, KIND, {"document_id": order["id"]}, trigger="event", actor=actor,
                  record_when_queue_down=True).run


# The note won_change leaves when an unconverted quote keeps the opportunity open (its sentence, as stored in the
# document's export state): once those quotes are converted it no longer holds (stale_stays_open).
_STAYS_OPEN = re.compile(r"Opportunity (?P<opp>\d+) stays open: quotes? (?P<quotes>.+?) also feeds? it and "
                         r"(?:has|have) not been converted to a sales order\. It is set to Won when the last of them "
                         r"is converted \(or set it in ConnectWise\)\.")


def stale_stays_open(message: str) -> tuple[str, str]:
    """``message`` (a sales order's export note) with its "stays open" note told as what held at that export, and
    the quotes it named ("" when it has none), for a page that knows none of them is left unconverted now."""
    found = _STAYS_OPEN.search(message or "")
    if found is None:
        return message, ""
    quotes = found["quotes"]
    several = "," in quotes
    past = (f"Opportunity {found['opp']} stayed open, as quote{'s' if several else ''} {quotes} also "
            f"fed it and {'were' if several else 'was'} not converted to a sales order yet.")
    return (message[:found.start()] + past + message[found.end():]).strip(), quotes


def won_change(session: Session, setup: OpportunitySetup, order: HeldDocument, opp: dict, notes: list[str]) -> dict:
    """The status change a sales order makes on its existing opportunity: Won, unless an unconverted
    quote still feeds it (the note says which). Adds a note either way; {} when nothing changes."""
    blockers = quotes_keeping_open(session, opp["id"], order.id, order.source_quote_id)
    if blockers:
        numbers = ", ".join(q.number for q in blockers)
        notes.append(f"Opportunity {opp['id']} stays open: quote{'s' if len(blockers) > 1 else ''} {numbers} "
                     f"also feed{'s' if len(blockers) == 1 else ''} it and "
                     f"{'has' if len(blockers) == 1 else 'have'} not been converted to a sales order. "
                     "It is set to Won when the last of them is converted (or set it in ConnectWise).")
        return {}
    if setup.is_won(opp.get("status")):
        return {}
    won = setup.won_status()
    notes.append(f"Opportunity {opp['id']} set to {won.get('name', 'Won')}.")
    return {"status": {"id": won["id"]}}
