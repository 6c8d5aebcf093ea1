"""The export checklist's last clear answer from ConnectWise, remembered for the Export now that follows it.

A rep's export page asks ConnectWise where the export goes and whether its lines can be exported (the checklist's
ConnectWise rows). When nothing there fails, the answer is remembered for :data:`ANSWER_SECONDS`, keyed by everything
colcw's own checks read (the document as it is, the rep, each local check's verdict) and by the connection it was asked
on (the tenant, and the settings as last saved): Export now clicked on that page, with nothing changed on colcw's side,
queues the export without asking ConnectWise the same questions again. Against a real tenant that is one round trip
(hundreds of milliseconds) less between the click and the outcome.

ConnectWise may change in between (an opportunity Won, an item deactivated): the export itself asks again under its
locks and refuses what the checklist would refuse now, writing nothing into an opportunity nobody confirmed
(:func:`.export._unless_confirmed`, :func:`.export._check_new_opportunity`, the catalog's refusals). An answer that
failed is never remembered: Export now then asks again, and says what must be fixed before anything is queued.

Redis holds it (every web process shares it); a Redis that does not answer only means asking ConnectWise again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from ...models import Settings
from ...setup.connection import tenant_of
from .preflight import Check

log = logging.getLogger(__name__)

ANSWER_SECONDS = 120  # how long a clear answer stands for Export now (the export asks again in any case)
_PREFIX = "colcw:checklist-clear:"


def connection_of(settings: Settings) -> tuple[str, str]:
    """What the answer was asked on: the tenant (:func:`~...setup.connection.tenant_of`) and when the settings were last
    saved (the type, stage and status of new opportunities, the category mode…, which ConnectWise's answer depends on;
    a save of the rep, product type, category or manufacturer mappings counts as one: :func:`~...setup.common.saved_now`).
    Another tenant, or settings saved since, is another key (:func:`answer_key`)."""
    saved = settings.updated_at.isoformat() if settings.updated_at is not None else ""
    return tenant_of(settings), saved


def answer_key(document_id: int, actor: dict | None, checks: list[Check], snapshot: dict,
               connection: tuple[str, str]) -> str:
    """The key of the answer given for ``document_id`` as ``actor`` saw it: the rep, colcw's own checks
    (:func:`.preflight.preflight`, before ConnectWise's answers), the document's snapshot and the connection
    (:func:`connection_of`). Anything of them that changes makes another key: the answer then is not the one for what
    Export now would send, nor where."""
    seen = json.dumps([(actor or {}).get("id"), [dataclasses.astuple(c) for c in checks], snapshot, connection],
                      sort_keys=True, default=str, separators=(",", ":"))
    return f"{_PREFIX}{document_id}:{hashlib.sha256(seen.encode()).hexdigest()}"


def remember_clear(redis: Redis, key: str, confirm_token: str | None) -> None:
    """Remember that ConnectWise's rows of the checklist under ``key`` all passed; ``confirm_token``: where the export
    goes when a person must confirm it (:attr:`.picker.ExportTarget.confirm_token`), else None."""
    try:
        redis.set(key, confirm_token or "", ex=ANSWER_SECONDS)
    except RedisError as e:  # (Export now asks ConnectWise again, as without it)
        log.warning("could not remember the export checklist's answer: %s", e)


def clear_answer(redis: Redis, key: str) -> str | None:
    """The clear answer remembered under ``key``: the confirm token it asked for ("" for none), or None when there is
    none (never given, expired, or Redis not answering)."""
    try:
        value: Any = redis.get(key)
    except RedisError as e:
        log.warning("could not read the export checklist's answer: %s", e)
        return None
    return None if value is None else value.decode() if isinstance(value, bytes) else str(value)
