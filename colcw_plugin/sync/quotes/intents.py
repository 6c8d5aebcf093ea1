"""A new opportunity's create intent: created at most once per document, whatever becomes of the attempt that sent it.

ConnectWise has no idempotency key, and a POST it received is carried out whether or not its client is still there:
an attempt frozen (SIGSTOP) or killed while ConnectWise works on its opportunity POST can have it land later, after a
resumed attempt looked the opportunity up by name and found none. Waiting "until the earlier request must have ended"
by the client's timeout bounds nothing: the timeout is how long the *client* listens (and a frozen client's timer
does not even run), not how long ConnectWise may still take to apply the write.

So before its POST an export claims the document's intent (``colcw_create_intents``, entity ``document``: the token,
the company and the name, when it was sent), committed first, and writes the token into the opportunity's notes,
which colcw already writes on the opportunities it creates ("Created from ChannelOnline quote Q1013 (colcw ref …)").
The link's write deletes the intent. What the attempt that sent the POST saw of it decides what a later export does
with the intent:

* ConnectWise refused it (a 4xx: nothing was created): the intent is deleted (:func:`forget`).
* Its answer was lost (a dropped connection, a timeout, a 5xx), and the look-up by name and token the sender makes at
  once (:func:`~...cw.create_once`) found nothing: the sender marks the intent *ended* (:func:`ended`) and reports a
  transient failure, as colcw always did. Nobody waits for that POST: the run's next pass (or any later export) looks
  the name and token up once more, takes the opportunity holding the token when it is there, and else creates it
  with the same token at once. A rep's Export now is not held up by one dropped connection.
* The sender never said (it froze or died with its POST in flight, or before it sent it): a later export takes the
  opportunity holding the token when the company's opportunities of that name include it; else, while the earlier
  POST may still land (``settle_seconds`` after it was claimed: the run's ``COLCW_CREATE_SETTLE_SECONDS``, carried
  in its options), it creates nothing: the document waits as a transient failure (:class:`CreateStillLanding`), and
  the run's later passes and attempts look again (the same read the export makes anyway; a run whose attempts are
  spent before then waits once more, until then: :func:`~..jobs.runs.settle_left`). After that it takes the
  earlier POST for lost and creates the opportunity with the same token (a POST ConnectWise would carry out later
  still carries the token, so the two are told apart from anything a person made).

An opportunity found by its exact name whose notes say colcw created it for this document, while the document has no
opportunity yet, is such an earlier POST landed before the look-up: it reads "created" too.

The normal path costs no request: the token rides on the POST and the name look-up the export makes anyway, and the
intent's write and delete share statements the export sends anyway (one statement more before the POST, one less
after it: :func:`.bookkeeping.save_created`).
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, update
from sqlalchemy.orm import Session

from host_stub.bulk import plain_connection, upsert_insert
from host_stub.models import utcnow

from ...models import DOCUMENT, CreateIntent
from ..jobs.waits import ColcwWait

_INTENTS = CreateIntent.__table__
_CLAIM: dict[object, object] = {}


@dataclass(frozen=True)
class Claim:
    """The document's intent as it stands after :func:`claim`: ``fresh`` when this export wrote it (no earlier POST of
    the document is unaccounted for), else the earlier attempt's (``token``, when it was ``sent``; ``ended`` when
    the attempt that sent it saw it end unanswered and looked it up: :func:`ended`)."""

    token: str
    sent: dt.datetime
    fresh: bool
    name: str = ""  # the name the earlier POST sent (the document's may have changed since)
    ended: bool = False

    def settled(self, settle_seconds: float, now: dt.datetime | None = None) -> bool:
        """Whether the earlier POST is not waited for: this export's own, ended by its sender, or claimed
        ``settle_seconds`` ago or more (taken for lost)."""
        return (self.fresh or self.ended
                or ((now or utcnow()) - self.sent).total_seconds() >= settle_seconds)


class CreateStillLanding(ColcwWait):
    """The opportunity an earlier attempt of this export asked ConnectWise to create is not there yet, and may still be
    created: nothing is sent, the document is tried again (transient). A wait of colcw's own, not a failure
    (:mod:`..jobs.waits`): ConnectWise answered every request."""

    default_hint = "it is looked up again before anything is created"
    why_not_done = "ConnectWise may still be creating the opportunity an earlier attempt asked for"

    def __init__(self, message: str, *, settles_in: float = 0.0) -> None:
        super().__init__(message)
        self.settles_in = settles_in  # seconds from when it was met (``at``) until the earlier POST is taken for lost

    def settle_left(self) -> float:
        """Seconds left until the earlier POST is taken for lost and the opportunity can be created: the wait ends by
        itself then, whatever the run's attempts left (:func:`~..jobs.runs.settle_left`)."""
        return max(0.0, self.settles_in - (time.monotonic() - self.at))


def reference(token: str) -> str:
    """The token as the opportunity's notes carry it."""
    return f"colcw ref {token}"


def holding(rows: list[dict], token: str) -> list[dict]:
    """Of the company's opportunities (with their notes), those carrying ``token``, earliest first."""
    mark = reference(token)
    return sorted((r for r in rows if mark in str(r.get("notes") or "")), key=lambda r: int(r["id"]))


def made_for(opp: dict, created_from: str) -> bool:
    """Whether colcw created ``opp`` for the document whose new opportunities' notes begin ``created_from`` (with a
    create intent's token)."""
    return str(opp.get("notes") or "").startswith(f"{created_from} ({reference('')}")


def claim(session: Session, document_id: int, company_id: int, name: str) -> Claim:
    """Write this export's intent for the document and commit it, before the POST (one statement); an intent already
    there is left as it is and returned (its ``fresh`` False)."""
    token = secrets.token_hex(6)
    insert_ = upsert_insert(session)
    stmt = _CLAIM.get(insert_)
    if stmt is None:
        ins = insert_(_INTENTS).values(entity=DOCUMENT, host_id=bindparam("host_id"), cw_parent_id=bindparam("company"),
                                       match=bindparam("match", type_=_INTENTS.c.match.type), known_ids=[],
                                       started_at=bindparam("now", type_=_INTENTS.c.started_at.type))
        # (An update that changes nothing, so the row there is returned as it is.)
        stmt = _CLAIM[insert_] = ins.on_conflict_do_update(
            index_elements=["entity", "host_id"], set_={"entity": ins.excluded.entity}).returning(
            _INTENTS.c.match, _INTENTS.c.started_at)
    now = utcnow()
    match, sent = plain_connection(session).execute(stmt, {"host_id": document_id, "company": company_id, "now": now,
                                                           "match": {"token": token, "name": name}}).one()
    session.commit()
    match = match or {}
    kept = str(match.get("token") or "")
    return Claim(kept or token, sent, fresh=kept == token, name=str(match.get("name") or name),
                 ended=bool(match.get("ended")))


def restart(session: Session, document_id: int, claimed: Claim, name: str) -> None:
    """The earlier POST is not waited for (ended by its sender, or taken for lost): the intent is this export's from
    now on, with the same token (its POST, of ``name``, is sent now), committed."""
    session.execute(update(_INTENTS).where(_INTENTS.c.entity == DOCUMENT, _INTENTS.c.host_id == document_id)
                    .values(started_at=utcnow(), match={"token": claimed.token, "name": name}))
    session.commit()


def ended(session: Session, document_id: int, claimed: Claim, name: str) -> None:
    """This export's POST ended without ConnectWise's answer, and the look-up by its token found nothing: no export
    waits for it (see the module doc); the token stays, so an opportunity it made after all is still known. Committed
    (the failure that follows rolls the export's session back)."""
    session.execute(update(_INTENTS).where(_INTENTS.c.entity == DOCUMENT, _INTENTS.c.host_id == document_id)
                    .values(match={"token": claimed.token, "name": name, "ended": True}))
    session.commit()


def forget(session: Session, document_id: int) -> None:
    """ConnectWise refused the POST (nothing was created): no intent is left behind, committed."""
    session.execute(delete(_INTENTS).where(_INTENTS.c.entity == DOCUMENT, _INTENTS.c.host_id == document_id))
    session.commit()


def forget_statement():
    """The DELETE of the document's intent (``host_id`` bound), for the statement that writes the link."""
    return delete(_INTENTS).where(_INTENTS.c.entity == DOCUMENT, _INTENTS.c.host_id == bindparam("host_id"))
