"""Won on conversion (user guide §5.4): a quote becomes a sales order, its opportunity turns Won.

When the host converts an exported quote (the ``quote_converted`` event), the sales order is
exported to the quote's opportunity: it takes over the quote's lines (no duplicates) and sets
the opportunity to Won — found by ConnectWise's status flags, never by name — unless another
quote feeding the same opportunity is not converted yet: then it stays open, the run log names
the quotes it waits for, and it turns Won when the last of them is converted (the rule: shared/won_rule.py).

A quote whose opportunity a person set Lost (or closed otherwise) in ConnectWise is still set Won when converted:
the conversion is the sale itself, nobody is there to ask (the event runs in the background, once) and the export
checklist's question is for a person choosing where a document goes, not for a sales order following its quote's
deal. It is not silent: the sales order's note (its ConnectWise panel and the run log) says the opportunity was Lost,
who set it so and on which day, as the quote's Won/Lost label names them (shared/closers.py), that the conversion
set it Won, and what to do if the deal was lost after all (set it Lost again: a later export of the order asks first).
"""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from host_stub.models import Document

from ...models import DOCUMENT, SyncRun, get_link
from ...setup.live_updates import read_live
from ..jobs.kinds import KindRegistry
from ..jobs.queue import JobQueue, submit
from ..shared.closers import VERBS, closer, member_name, member_names
from ..shared.statuses import OPEN, WON, find_status, status_kind
from ..shared.won_rule import quotes_keeping_open, won_by_order
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
    overruled = _closed_by_a_person(session, setup, order, opp, won)
    notes.append(overruled or f"Opportunity {opp['id']} set to {won.get('name', 'Won')}.")
    return {"status": {"id": won["id"]}}


def _closed_by_a_person(session: Session, setup: OpportunitySetup, order: HeldDocument, opp: dict, won: dict) -> str:
    """The note of a converted quote's sales order that sets Won an opportunity someone set Lost (or closed otherwise)
    in ConnectWise: who and when, as the quote's Won/Lost label says it; "" when it is open, or when the order goes
    there by its own link or name (then a person confirmed it: the export checklist asks)."""
    row = find_status(setup.statuses(), opp.get("status"))
    kind, status = status_kind(row), row or opp.get("status") or {}
    inherited = order.opportunity_link()[1]
    if kind in (OPEN, WON) or not inherited or not order.source_quote_id:
        return ""
    own_member = read_live(session).own_member or ""
    quote_link = get_link(session, DOCUMENT, order.source_quote_id)
    seen = (quote_link.synced_values or {}).get("close") if quote_link is not None else None
    who, when = closer(opp, kind, own_member, won_by_order(session, opp["id"]), seen,
                       lambda ident: member_name(ident, opp, own_member,
                                                 lambda i: member_names(setup.client, {i}).get(i, "")))
    verb = VERBS[kind]
    name = str(status.get("name") or verb)
    quote = session.get(Document, order.source_quote_id)
    quote_number = quote.number if quote is not None else "its quote"
    return (f"Opportunity {opp['id']} “{opp.get('name', '')}” was {verb} in ConnectWise"
            + (f" on {when}" if when else "") + f" by {who}"
            + (f" (status “{name}”)" if name.casefold() != verb.casefold() else "")
            + f"; converting quote {quote_number} into sales order {order.number} set it {won.get('name', 'Won')}. If the deal was {verb.lower()} after all, set the "
            f"opportunity back to {name} in ConnectWise: colcw asks before a later export of {order.number} sets it "
            "Won again.")
