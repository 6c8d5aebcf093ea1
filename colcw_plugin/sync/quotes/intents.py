"""A new opportunity's create intent: created at most once per document, whatever becomes of the attempt that sent it.

ConnectWise has no idempotency key, and a POST it received is carried out whether or not its client is still there:
an attempt frozen (SIGSTOP) or killed while ConnectWise works on its opportunity POST can have it land minutes later,
after a resumed attempt looked the opportunity up by name and found none. Waiting "until the earlier request must have
ended" by the client's timeout bounds nothing: the timeout is how long the *client* listens (and a frozen client's
timer does not even run), not how long ConnectWise may still take to apply the write.

So before its POST an export claims the document's intent (``colcw_create_intents``, entity ``document``: the token,
the company and the name, when it was sent), committed first, and writes the token into the opportunity's notes,
which colcw already writes on the opportunities it creates ("Created from ChannelOnline quote Q1013 (colcw ref …)").
The link's write deletes the intent. An export that finds an intent left behind (an earlier attempt's POST whose
outcome nobody saw):

* takes the opportunity holding the token when the company's opportunities of that name include it (the earlier POST
  landed): it was created for this document, by colcw;
* else, while the earlier POST may still land (:data:`SETTLE_SECONDS` after it was sent), creates nothing: the
  document waits as a transient failure (:class:`CreateStillLanding`), and the run's later passes and attempts look
  again (the same read the export makes anyway);
* after that, takes the earlier POST for lost and creates the opportunity with the same token (a POST ConnectWise
  would carry out later still carries the token, so the two are told apart from anything a person made).

An opportunity found by its exact name whose notes say colcw created it for this document, while the document has no
opportunity yet, is the same earlier POST landed before the look-up: it reads "created" too. A POST refused (4xx) or
answered by ConnectWise with a 500 or 503 created nothing and leaves no intent (:func:`over`); a dropped connection,
a timeout or a gateway's 502/504 leaves it, and the document waits as above.

The normal path costs no request: the token rides on the POST and the name look-up the export makes anyway, and the
intent's write and delete share statements the export sends anyway (one statement more before the POST, one less
after it: :func:`.bookkeeping.save_created`).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, update
from sqlalchemy.orm import Session

from host_stub.bulk import upsert_insert
from host_stub.models import utcnow

from ...cw import ConnectWiseError, ServerError
from ...models import DOCUMENT, CreateIntent

# How long after an opportunity POST whose outcome nobody saw ConnectWise may still carry it out: the resumed attempt
# waits so long (its run's passes and attempts: 2 s, 10 s, then 30 s, 2 and 10 minutes by default) before it takes
# the POST for lost and creates the opportunity itself. A request is not known to run longer on ConnectWise's side
# than its gateways let a client wait (about 2 minutes); 10 minutes leaves a margin and still ends within the run.
SETTLE_SECONDS = 600

_INTENTS = CreateIntent.__table__
_CLAIM: dict[object, object] = {}


@dataclass(frozen=True)
class Claim:
    """The document's intent as it stands after :func:`claim`: ``fresh`` when this export wrote it (no earlier POST of
    the document is unaccounted for), else the earlier attempt's (``token``, when its POST was ``sent``)."""

    token: str
    sent: dt.datetime
    fresh: bool
    name: str = ""  # the name the earlier POST sent (the document's may have changed since)

    def settled(self, now: dt.datetime | None = None) -> bool:
        """Whether the earlier POST can no longer land (it was sent :data:`SETTLE_SECONDS` ago or more)."""
        return self.fresh or ((now or utcnow()) - self.sent).total_seconds() >= SETTLE_SECONDS


class CreateStillLanding(ConnectWiseError):
    """The opportunity an earlier attempt of this export asked ConnectWise to create is not there yet, and may still be
    created: nothing is sent, the document is tried again (transient)."""

    transient = True
    default_hint = "it is looked up again before anything is created"
    why_not_done = "ConnectWise may still be creating the opportunity an earlier attempt asked for"


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
    match, sent = session.execute(stmt, {"host_id": document_id, "company": company_id, "now": now,
                                         "match": {"token": token, "name": name}}).one()
    session.commit()
    kept = str((match or {}).get("token") or "")
    return Claim(kept or token, sent, fresh=kept == token, name=str((match or {}).get("name") or name))


def restart(session: Session, document_id: int) -> None:
    """The earlier POST taken for lost: the intent is this export's from now on (its POST is sent now), committed."""
    session.execute(update(_INTENTS).where(_INTENTS.c.entity == DOCUMENT, _INTENTS.c.host_id == document_id)
                    .values(started_at=utcnow()))
    session.commit()


def over(error: ConnectWiseError, unacknowledged: bool) -> bool:
    """Whether a POST that failed so is known to have created nothing, now or later (after its create's look-up found
    nothing): refused (a 4xx), or answered by ConnectWise itself with a 500 or a 503, after which none of it still runs.
    A dropped connection, a timeout, or a gateway's 502 or 504 leaves it unknown: ConnectWise may still carry it out."""
    if not unacknowledged:
        return True
    return isinstance(error, ServerError) and error.status in (500, 503)


def forget(session: Session, document_id: int) -> None:
    """ConnectWise refused the POST (nothing was created): no intent is left behind, committed."""
    session.execute(delete(_INTENTS).where(_INTENTS.c.entity == DOCUMENT, _INTENTS.c.host_id == document_id))
    session.commit()


def forget_statement():
    """The DELETE of the document's intent (``host_id`` bound), for the statement that writes the link."""
    return delete(_INTENTS).where(_INTENTS.c.entity == DOCUMENT, _INTENTS.c.host_id == bindparam("host_id"))
