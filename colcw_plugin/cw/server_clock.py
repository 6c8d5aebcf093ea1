"""ConnectWise's clock against this machine's, told by the ``Date`` header of its answers.

colcw compares times ConnectWise stamps (a record's ``_info/lastUpdated`` and ``dateEntered``) with times it takes
itself: the incremental import and the live updates' safety net ask for what changed since their last start, less
a two-minute overlap; a contact counts as new to a linked company when ConnectWise entered it after the link was
made. If ConnectWise's clock were behind colcw's by more than the overlap, a change made there just after a pass had
read its record would carry a time before the next pass's "since", and no pass would ever read it again. So every
answer's ``Date`` (whole seconds, RFC 9110) bounds the difference: ConnectWise wrote it between the moment the
request left and the moment its answer came, so ConnectWise's time less ours lies between ``Date - received`` and
``Date + 1 - sent``. The bounds of several answers are intersected; answers that no longer fit (a clock was set
meanwhile) start over from the newest.

:meth:`ServerClock.ahead` says how far ConnectWise's clock is ahead (negative: behind) in the direction that never
makes a "since" later than it should be: the lower bound, or 0 while the bounds hold 0 (the clocks agree to within
the measure, and colcw's times are taken as they are, as before any answer came). :meth:`ServerClock.cw_time` turns a
time of ours into ConnectWise's by it. :meth:`ServerClock.ahead_high` takes the upper bound instead, for the one
comparison whose safe side is the other: "ConnectWise changed it after the rep saved it" (then the import takes
ConnectWise's value without asking), which must not be said on a doubt.

The web server's clock (``Date``) and the one that stamps the records are ConnectWise's own; the two-minute overlap
stays for what may lie between them. Threads of one client share one clock (answers are measured under a lock, at
most every :data:`EVERY_SECONDS` once the first few have come: parsing a date costs more than the rest of this).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
import time
from collections.abc import Callable

FIRST_ANSWERS = 3  # answers measured before the clock measures only every EVERY_SECONDS
EVERY_SECONDS = 30.0


class ServerClock:
    """The bounds of ConnectWise's time less this machine's, in seconds (see the module docstring)."""

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._monotonic = monotonic
        self._low: float | None = None
        self._high: float | None = None
        self._heard = 0
        self._next = 0.0  # (monotonic) when the next answer is measured

    def wants(self) -> bool:
        """Whether the next answer should be measured (the few first, then one every :data:`EVERY_SECONDS`)."""
        return self._heard < FIRST_ANSWERS or self._monotonic() >= self._next

    def heard(self, sent: float, received: float, date: str | None) -> None:
        """An answer whose request left at ``sent`` and whose answer came at ``received`` (this machine's
        ``time.time()``) carried ``date`` (its ``Date`` header; an answer without one, or with one not an HTTP date,
        tells nothing)."""
        when = http_date(date)
        if when is None or received < sent:
            return
        low, high = when - received, when + 1.0 - sent
        with self._lock:
            if self._low is None or self._high is None or low > self._high or high < self._low:
                self._low, self._high = low, high  # the first, or a clock was set: start over
            else:
                self._low, self._high = max(self._low, low), min(self._high, high)
            self._heard += 1
            self._next = self._monotonic() + EVERY_SECONDS

    @property
    def bounds(self) -> tuple[float, float] | None:
        """(lowest, highest) ConnectWise's time less ours can be, in seconds; None before any answer told it."""
        low, high = self._low, self._high
        return None if low is None or high is None else (low, high)

    def agrees(self) -> bool:
        """The clocks agree to within the measure (the bounds hold 0), or no answer told them apart yet."""
        return _agree(self.bounds)

    def ahead(self) -> float:
        """Seconds ConnectWise's clock is ahead of ours (negative: behind), taken low: 0 while they
        :meth:`agree <agrees>`, else the lower bound. A time of ours moved by it is no later than ConnectWise's clock
        can have said then: for a "since", and for "ConnectWise stamped it before this time of ours" (a record
        entered before a link, a stamp well before a sync), which it makes rarer."""
        return self._bound(0)

    def ahead_high(self) -> float:
        """The same taken high: 0 while they :meth:`agree <agrees>`, else the upper bound. A time of ours moved by it
        is no earlier than ConnectWise's clock can have said then: for "ConnectWise stamped it after this time of
        ours" (a change newer than a rep's save), which it makes rarer."""
        return self._bound(1)

    def _bound(self, side: int) -> float:
        bounds = self.bounds  # (read once: another thread may measure meanwhile)
        return 0.0 if _agree(bounds) else bounds[side]

    def cw_time(self, ours: dt.datetime) -> dt.datetime:
        """``ours`` (a time of this machine's, naive UTC as colcw stores them) as ConnectWise's clock told it then,
        taken no later than it can have been (:meth:`ahead`)."""
        return shifted(ours, self.ahead())


def _agree(bounds: tuple[float, float] | None) -> bool:
    return bounds is None or bounds[0] <= 0.0 <= bounds[1]


def shifted(ours: dt.datetime, ahead: float) -> dt.datetime:
    """``ours`` moved by ``ahead`` seconds (a figure of :meth:`ServerClock.ahead` or :meth:`ServerClock.ahead_high`):
    the same time told by ConnectWise's clock."""
    return ours + dt.timedelta(seconds=ahead) if ahead else ours


def http_date(value: str | None) -> float | None:
    """An HTTP date (``Sun, 06 Nov 1994 08:49:37 GMT``) as a POSIX time; None for anything else."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:  # "-0000": RFC 5322's unknown zone, taken as UTC as HTTP's dates are
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()
