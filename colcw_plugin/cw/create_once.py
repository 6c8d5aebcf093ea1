"""Creating a record once when ConnectWise may have carried out a create it never acknowledged.

A POST is not idempotent and ConnectWise has no idempotency keys. When the answer to one is lost —
the connection dropped or timed out after the request went out, or a 5xx came back (a gateway or
proxy can fail after ConnectWise acted) — the record may well exist. The transport never repeats
such a POST (:mod:`.transport`); :func:`create_once` then looks the record up by what identifies it
(a company's identifier, a product line's ``integrationXRef``, ...) and returns it when it is there.

When it is not there the error is raised unchanged (it is transient): the caller does *not* POST again
at once, because a request ConnectWise is still working on could land after the look-up. The next try
(a later attempt of the run) looks the record up again before it creates anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .client import Record
from .errors import ConnectWiseError, NetworkError, ServerError

log = logging.getLogger("colcw_plugin.cw")


def unacknowledged(error: ConnectWiseError) -> bool:
    """Whether a failed POST may have been carried out all the same (its answer was lost)."""
    if isinstance(error, NetworkError):
        return error.sent
    return isinstance(error, ServerError)


def create_once(create: Callable[[], Record], find: Callable[[], Record | None], *, what: str) -> Record:
    """``create()``; if its answer is lost, ``find()`` the record instead of creating it a second time.

    ``find`` must only read (its GETs are retried by the transport) and return the record the lost
    create made, or None. ``what`` names the record in the log (``company ACME``, ``line 3 of Q-1001``).
    """
    try:
        return create()
    except ConnectWiseError as error:
        if not unacknowledged(error):
            raise
        found = find()
        if found is None:
            log.warning("ConnectWise did not acknowledge creating %s (%s) and does not hold it; it is looked up "
                        "again before the next try creates it", what, error.message)
            raise
        log.warning("ConnectWise did not acknowledge creating %s (%s) but holds it (id %s): using it, not "
                    "creating it again", what, error.message, found.get("id"))
        return found
