"""A change of the master for customer data decides again what live updates recorded as differing.

Each difference (``colcw_record_drift``) says whose value stood under the master of its day (``kept``); the page
words it so ("not taken (ChannelOnline is the master)", "ConnectWise's value was taken (it is the master)"). Once
the other system is the master, that is no longer what happens:

* **ChannelOnline → ConnectWise**: a change made in ConnectWise and not taken, a conflict where ChannelOnline's
  value stayed, a contact added in ConnectWise and not created: with ConnectWise the master, its changes flow into
  the host (README, "Live updates"). Those rows go, and each record they are about gets a hint (a contact the rep
  deleted in the host none: its note is no longer shown, and settled), as a callback would give it: the
  next live-update run (or safety-net pass) reads it again from ConnectWise and decides as the master says now,
  taking ConnectWise's values into the host, creating the contacts, and showing again as a conflict (ConnectWise's
  value taken, the host's shown) what the host had changed too. Not read from the rows: they hold words, and
  ConnectWise may have changed since.
* **ConnectWise → ChannelOnline**: a conflict where ConnectWise's value was taken left both sides holding that
  value: nothing differs, and a read again would find nothing. Those rows go.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ...models import CONTACT, CUSTOMER_MASTERS, CW_MASTER, HOST_MASTER, RecordDrift
from .hints import Hint, record_hints
from .status import NOTE_SHOWN

NEW_CONTACT_FIELD = "contact:"  # a contact added in ConnectWise: its row is the customer's (field "contact:<id>")


@dataclass(frozen=True)
class Redecided:
    """What a change of master did to the differences shown on customer pages."""

    master: str
    rows: int = 0  # differences no longer shown
    customers: int = 0  # on how many customers' pages
    records: int = 0  # ConnectWise records to read again (hints recorded)

    def message(self, *, queued: bool = False, run_id: int | None = None, live_on: bool = True) -> str:
        """The Connection page's (and ``colcw live-updates``') note, "" when nothing changed. ``queued``: a live-update
        run was queued for them (``run_id``: the one queued now; None: one that was waiting already)."""
        if not self.rows:
            return ""
        n, c = self.rows, self.customers
        where = f"{n} difference{'s' if n != 1 else ''} shown on {c} customer page{'s' if c != 1 else ''}"
        if self.master == HOST_MASTER:
            return (f"ChannelOnline is now the master for customer data: the {where} where ConnectWise's value was "
                    f"taken no longer show{'s' if n == 1 else ''} (both sides hold that value now).")
        if queued:
            when = f"now (live-update run #{run_id})" if run_id is not None else "now (by the live-update run queued)"
        elif live_on:
            when = "by the next live-update run (the safety net's pass, every 15 minutes by default)"
        else:
            when = "once Live updates are switched on"
        return (f"ConnectWise is now the master for customer data: the {where} {'is' if n == 1 else 'are'} read "
                f"again from ConnectWise {when}, and its values taken into ChannelOnline.")


def redecide(session: Session, master: str) -> Redecided:
    """Clear the differences the new ``master`` decides otherwise and, ConnectWise the master, record hints to read
    their records again (see the module doc). Flushes, does not commit (one transaction with the master's change)."""
    if master not in CUSTOMER_MASTERS:
        raise ValueError(f"Unknown master {master!r}.")
    stale = RecordDrift.kept == (HOST_MASTER if master == CW_MASTER else CW_MASTER)
    # Counted as the customer pages show them (:data:`.status.NOTE_SHOWN`): a note about a contact since deleted in
    # the host is no longer shown, so the message does not count it (it goes with the rest).
    rows, customers, shown = session.execute(select(
        func.count(), func.count(RecordDrift.customer_id.distinct()).filter(NOTE_SHOWN),
        func.count().filter(NOTE_SHOWN)).where(stale)).one()
    if not rows:
        return Redecided(master)
    records = 0
    # Read again only what the pages show: a note about a contact the rep deleted in the host is settled for that
    # contact (it goes with the rest, and no hint has the next live-update run read a contact the host no longer has;
    # left over, for instance, when the rep dismissed the customer's notes, which dismisses those the page shows).
    if master == CW_MASTER and shown:
        hints = [Hint("contact" if entity == CONTACT or name.startswith(NEW_CONTACT_FIELD) else "company", cw_id,
                      "updated") for entity, name, cw_id in session.execute(
                          select(RecordDrift.entity, RecordDrift.field, RecordDrift.cw_id).where(stale, NOTE_SHOWN))
                 if cw_id]
        records = record_hints(session, hints)
    session.execute(delete(RecordDrift).where(stale))
    session.flush()
    return Redecided(master, shown, customers, records)
