"""Live updates: what changes in ConnectWise comes back to the host, in seconds, and a safety net.

* :mod:`.receive`: a callback (the view only speaks HTTP): the URL secret, the body, the
  signature; then the hint is recorded and a live-update run queued (:mod:`.hints`).
* :mod:`.hints`: hints, one row per record however many callbacks; a run takes them.
* :mod:`.reading`: what ConnectWise holds for those records, read in bulk (``id in (...)``).
* :mod:`.customers`, :mod:`.opportunities`: what comes back (the customer master rule and its
  conflicts; an opportunity's status and its products changed since export; deletions).
* :mod:`.reconcile`: plan, the mass-delete guard, apply, record.
* :mod:`.safety_net`: the scheduled pass over what changed since the watermark, and the daily
  deletion check.  :mod:`.kinds`: the two job kinds.  :mod:`.switch`: the Live updates switch
  (callbacks, schedules).  :mod:`.status`: what the pages show.
"""

from ...models import EXTERNAL_STATUS_SOURCE

LIVE_KIND = "cw_live_update"
RECONCILE_KIND = "cw_reconcile"
SOURCE = EXTERNAL_STATUS_SOURCE  # the host's external-status source name
LIVE_SYSTEM = "colcw-live-updates"
