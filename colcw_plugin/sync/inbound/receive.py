"""Receiving one callback: check it, record its hint, queue the run that reads the record again.

In this order, answering fast and trusting nothing in the body:

1. the URL's secret (an unknown one is 404, as if the URL did not exist; switched off is the same);
2. the body is a ConnectWise callback message, at most 256 KB (else 400);
3. ``x-content-signature`` matches the signing key behind ``Metadata.key_url``, fetched only from
   the configured site over https and cached (else 401; 503 when the key cannot be fetched now);
4. a company or contact whose record (the signed ``Entity``) is a version colcw's own write produced, as its link
   remembers it (``lastUpdated`` and the fields colcw reads: sync/shared/own_writes.py), is colcw's own write
   coming back (echo): nothing to read. Told by what the record holds, not by the member ConnectWise names: another
   tool or person using colcw's API member is read back like anyone else. Opportunities are always read back:
   their status is shown, not merged, and reading it after colcw's own Won keeps the document page right. A
   company or opportunity colcw has no link to is not read either;
5. the hint (type, id, action) is recorded and a live-update run queued unless one is waiting.

Refusals are logged without the secret, the signature or the body. Those after the secret matched (2 and 3:
ConnectWise, or someone holding the URL, calls but is not believed) are also kept on the live settings row
(:func:`note_refused`: the last reason and time, how many and since when), so the Connection page says so
whichever process answered them; the next accepted callback clears them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from redis.exceptions import RedisError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from host_stub.models import utcnow

from ...cw.callbacks import BadCallback, CallbackMessage, CallbackRefused, SigningKeys, trusted_origins
from ...models import CONTACT, CUSTOMER, DOCUMENT, Link, LiveSettings
from ...setup.connection import NotConfigured, client_settings, read_settings
from ...setup.live_updates import secret_matches
from ...setup.secrets import SecretBox, SecretError
from ..jobs.kinds import KindRegistry
from ..jobs.queue import JobQueue
from ..shared.own_writes import version, written_by_colcw
from .hints import Hint, ensure_run, record_hint

log = logging.getLogger(__name__)
ECHO_TYPES = {"company": CUSTOMER, "contact": CONTACT}  # ConnectWise's record → its link's kind
# How long a callback naming colcw's member waits for the export that wrote its record to link it (colcws_own), and
# how often it looks meanwhile. Well inside ConnectWise's 5 s timeout for a callback POST.
ECHO_WAIT_SECONDS, ECHO_POLL_SECONDS = 1.5, 0.05
# Companies and opportunities colcw has no link to mean nothing here (a contact may be new to a linked
# company, which only reading it tells).
LINKED = {"company": CUSTOMER, "opportunity": DOCUMENT}


# A refusal's reason as the Connection page words it (others are shown as the refusal says them).
REASONS = {"the signature does not match": "signature invalid"}


@dataclass(frozen=True)
class Answer:
    """The HTTP status to answer and a short text (never a secret)."""

    status: int
    text: str


def receive(session: Session, box: SecretBox, keys: SigningKeys, queue: JobQueue, kinds: KindRegistry, *,
            secret: str, body: bytes, signature: str | None, http_allowed_by_config: bool) -> Answer:
    """Handle one callback POST (see the module doc)."""
    live = session.execute(select(LiveSettings).limit(1)).scalar_one_or_none()
    try:
        known = secret_matches(live, box, secret)
    except SecretError:
        known = False
    if not known:
        log.warning("ConnectWise callback refused: unknown callback URL (or live updates are off)")
        return Answer(404, "Not found.")
    try:
        message = CallbackMessage.parse(body)
    except BadCallback as e:
        log.warning("ConnectWise callback refused: %s", e)
        note_refused(session, f"not a ConnectWise callback ({e})")
        return Answer(400, f"Not a ConnectWise callback: {e}.")
    settings = read_settings(session)
    try:
        origins = trusted_origins(client_settings(settings, box))
    except (NotConfigured, SecretError, ValueError):
        log.warning("ConnectWise callback for %s %s refused: the connection is not configured", message.type,
                    message.id)
        note_refused(session, "the ConnectWise connection is not configured")
        return Answer(503, "The ConnectWise connection is not configured.")
    try:
        keys.verify(body, signature, message.key_url, origins,
                    allow_http=bool(settings.allow_http and http_allowed_by_config))
    except CallbackRefused as e:
        log.warning("ConnectWise callback for %s %s refused: %s", message.type, message.id, e)
        note_refused(session, REASONS.get(str(e), str(e)))
        return Answer(e.status, f"Refused: {e}.")
    assert live is not None
    if live.refused_at is not None:
        note_accepted(session)
    if message.type in ECHO_TYPES and colcws_own(session, message, live.own_member or ""):
        session.rollback()
        return Answer(200, "colcw's own change; nothing to read.")
    linked_as = LINKED.get(message.type)
    if linked_as and not session.execute(select(Link.id).where(Link.entity == linked_as,
                                                               Link.cw_id == message.id).limit(1)).first():
        session.rollback()
        return Answer(200, "Not linked to a record here; nothing to read.")
    record_hint(session, Hint(message.type, message.id, message.action, message.member))
    try:
        ensure_run(session, queue, kinds)
    except RedisError:
        session.rollback()
        log.warning("ConnectWise callback for %s %s recorded; the job queue (Redis) did not answer, so the next "
                    "callback or the safety net reads it", message.type, message.id)
    return Answer(200, "Recorded.")


def colcws_own(session: Session, message: CallbackMessage, own_member: str, *,
               wait_seconds: float = ECHO_WAIT_SECONDS) -> bool:
    """The callback's record is a version of it colcw's own write produced (see the module doc, 4): a link to it
    remembers that version. A deletion, or a message without its record, never is.

    The export links a record only after ConnectWise answered its write (a customer's contacts with the rest of the
    customer), and a callback may come sooner. So a version not (yet) remembered, in a message naming colcw's
    member, is looked for again for up to ``wait_seconds`` (each look a fresh read: the export's commit shows)
    before it is taken for someone else's: who is named decides only whether to wait, never what it is. (Past
    that, the record is read back, which finds it unchanged.)"""
    if message.action == "deleted" or message.entity is None or not version(message.type, message.entity):
        return False
    deadline = time.monotonic() + (wait_seconds if own_member and message.member == own_member else 0)
    while True:
        agreements = session.execute(select(Link.synced_values).where(Link.entity == ECHO_TYPES[message.type],
                                                                      Link.cw_id == message.id)).scalars()
        if any(written_by_colcw(a, message.type, message.entity) for a in agreements):
            return True
        if time.monotonic() >= deadline:
            return False
        session.rollback()
        time.sleep(ECHO_POLL_SECONDS)


def note_refused(session: Session, reason: str) -> None:
    """Count a refused callback on the live settings row (one UPDATE: callbacks answered at once by several
    processes all count) and commit."""
    now = utcnow()
    session.rollback()
    session.execute(update(LiveSettings).values(
        refused_reason=reason[:200], refused_at=now, refused_count=func.coalesce(LiveSettings.refused_count, 0) + 1,
        refused_since=func.coalesce(LiveSettings.refused_since, now)))
    session.commit()


def note_accepted(session: Session) -> None:
    """A callback was accepted: the refusals before it are over (commits)."""
    session.execute(update(LiveSettings).where(LiveSettings.refused_at.is_not(None)).values(
        refused_reason=None, refused_at=None, refused_count=None, refused_since=None))
    session.commit()
