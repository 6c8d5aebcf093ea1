"""colcw's own waits: a record, or a whole run, waiting for something of colcw's rather than for ConnectWise.

:class:`ColcwWait` is the one mark of such a wait. Its kinds: another export or import holding the record
(``customers.exclusive.HeldElsewhere``), an opportunity an earlier attempt asked ConnectWise to create that may still
land (``quotes.intents.CreateStillLanding``), colcw's database refusing or dropping a connection
(:class:`.database.DatabaseUnavailable`). ConnectWise answered every request, so such a wait:

* does not count toward ConnectWise being taken as unreachable (``COLCW_UNREACHABLE_AFTER``: the recorder's ``defer``);
* waits as a whole saying what colcw waits for, not that ConnectWise keeps failing (:func:`.runs.wait_reason`);
* when a run gives up on it, says colcw held the record back (``text.COLCW_HELD_BACK``), never that ConnectWise did
  not answer (:func:`.runs._wait_or_give_up`).

It is a :class:`~colcw_plugin.cw.ConnectWiseError` because the run machinery's waits (a record deferred to a later
pass, a run waiting for its next attempt, its giving up) take one, with its ``transient``, ``why_not_done`` and
``detail``.
"""

from __future__ import annotations

from ...cw import ConnectWiseError


class ColcwWait(ConnectWiseError):
    """A wait colcw imposes itself (see the module doc): transient, tried again in a later pass or attempt. A subclass
    says what waits in ``why_not_done``."""

    transient = True
