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
5. the hint (type, id, action) is recorded and a live-update run queued unless one is waiting. A callback naming
   colcw's member whose version no link remembers yet (the export that wrote it links it after ConnectWise answered,
   and a callback may come first) is recorded with that version: the run taking it tells whether it is colcw's own
   (:mod:`.echoes`). The request never waits for the export.

Refusals are logged without the secret, the signature or the body. Those after the secret matched (2 and 3:
ConnectWise, or someone holding the URL, calls but is not believed) are also kept on the live settings row
(:func:`note_refused`: the last reason and time, how many and since when), so the Connection page says so
whichever process answered them; the next accepted callback clears them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.exceptions import RedisError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from host_stub.models import utcnow

from ...cw.callbacks import BadCallback, CallbackMessage, CallbackRefused, SigningKeys, trusted_origins
from ...models import CUSTOMER, DOCUMENT, Link, LiveSettings
from ...setup.connection import NotConfigured, client_settings, read_settings
from ...setup.live_updates import secret_matches
from ...setup.secrets import SecretBox, SecretError
from ..jobs.kinds import KindRegistry
from ..jobs.queue import JobQueue
from ..shared.own_writes import version, written_by_colcw
from .echoes import ECHO_TYPES, own_version
from .hints import Hint, ensure_run, record_hint

log = logging.getLogger(__name__)
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
    if message.type in ECHO_TYPES and colcws_own(session, message):
        session.rollback()
        return Answer(200, "colcw's own change; nothing to read.")
    linked_as = LINKED.get(message.type)
    if linked_as and not session.execute(select(Link.id).where(Link.entity == linked_as,
                                                               Link.cw_id == message.id).limit(1)).first():
        session.rollback()
        return Answer(200, "Not linked to a record here; nothing to read.")
    record_hint(session, Hint(message.type, message.id, message.action, message.member,
                              own_version(message.type, message.action, message.entity, message.member,
                                          live.own_member or "")))
    try:
        ensure_run(session, queue, kinds)
    except RedisError:
        session.rollback()
        log.warning("ConnectWise callback for %s %s recorded; the job queue (Redis) did not answer, so the next "
                    "callback or the safety net reads it", message.type, message.id)
    return Answer(200, "Recorded.")


def colcws_own(session: Session, message: CallbackMessage) -> bool:
    """The callback's record is a version of it colcw's own write produced (see the module doc, 4): a link to it
    remembers that version now (one read, no wait: one the export has not linked yet is the live-update run's to
    tell, 5). A deletion, or a message without its record, never is."""
    if message.action == "deleted" or message.entity is None or not version(message.type, message.entity):
        return False
    agreements = session.execute(select(Link.synced_values).where(Link.entity == ECHO_TYPES[message.type],
                                                                  Link.cw_id == message.id)).scalars()
    return any(written_by_colcw(a, message.type, message.entity) for a in agreements)


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
