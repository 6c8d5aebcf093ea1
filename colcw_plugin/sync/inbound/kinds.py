"""Live updates as job kinds, so their work shows on the jobs pages like any other run.

* ``cw_live_update``: takes the pending hints (callbacks) and reads those records again.
  Params ``{"wave": "<id>"}`` (each run its own job; see :mod:`.hints`; ``"follow_up": n`` on one queued for
  customers a run left to the next, :func:`.hints.follow_up`), or ``{"records":
  {"company": [ids], "contact": [...], "opportunity": [...]}}`` to read given records (Retry).
* ``cw_reconcile``: the safety net. ``{"mode": "changes"}`` (what changed since the last pass,
  scheduled every 15 minutes by default) or ``{"mode": "deletions"}`` (daily); ``"force": true``
  runs past the mass-delete guard (Apply anyway).

Both hold one cross-process lock, so live-update work applies in order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.models import Contact, Document

from ...errors import FieldErrors
from ...models import CONTACT, CUSTOMER, DOCUMENT, Link, SyncItem, SyncRun
from ..jobs.kinds import NAMED_IN_RETRY, JobKind, KindRegistry, NothingToRecord, SyncContext, and_list
from ..shared.locks import Stopped, advisory_lock, lock_key
from . import LIVE_KIND, RECONCILE_KIND
from .echoes import set_aside_own
from .hints import TAKE_LIMIT, read_back, take_pending
from .reading import read
from .reconcile import STATES_UNREAD, Reconciler
from .safety_net import changes_pass, deletions_pass

UNCHANGED = "unchanged"  # a record's outcome when what ConnectWise holds changes nothing here
MAX_WAVES = 20  # full batches of hints (a backlog) one live-update run takes before it ends
LOCK_WAIT_SECONDS = 1800  # a first safety-net pass over a big tenant takes minutes; live runs wait for it
ENTITY_OF = {"customer": "company", "contact": "contact", "document": "opportunity"}
MODES = {"changes": "what changed in ConnectWise since the last pass", "deletions": "records deleted in ConnectWise"}


@contextmanager
def _inbound_lock(ctx: SyncContext) -> Iterator[None]:
    """The live-update lock, for the whole run; a run an admin asks to stop while it waits for it stops then
    (nothing done yet), not after the wait."""
    with ExitStack() as stack:
        try:
            stack.enter_context(advisory_lock(
                ctx.session.get_bind(), lock_key("colcw-inbound"),
                "Another live-update pass held the lock too long; the next callback or pass retries.",
                LOCK_WAIT_SECONDS, should_stop=ctx.recorder.stop_requested))
        except Stopped:
            raise ctx.recorder.stopped_waiting() from None
        yield


def run_live(ctx: SyncContext) -> str:
    """Read back the records ConnectWise announced (the hints pending when the run starts; a backlog of full
    batches, up to ``MAX_WAVES`` of them).

    With none pending when it starts (an earlier run took them: a callback that came while that run waited for the
    lock queued this one), or with every record it read unchanged (colcw's own export read back, a callback
    ConnectWise sent twice), the run did and found nothing, and is not kept (:class:`NothingToRecord`): the jobs
    history lists only runs that changed or found something (or failed). That callbacks keep arriving shows on the
    Connection page (the last change received), not as empty runs."""
    held: list[str] = []  # what the mass-delete guard held back, per batch (the rest was applied)
    with _inbound_lock(ctx):
        reconciler = Reconciler(ctx)
        records = ctx.params.get("records")
        if records:
            found = read(ctx.client, {k: [int(i) for i in v] for k, v in records.items()})
            return reconciler.run(found).say(f"Read {len(found)} record{'s' if len(found) != 1 else ''} again.")
        taken = idle = echoed = looked = 0
        for _ in range(MAX_WAVES):
            claimed = take_pending(ctx.session, ctx.run_id)
            if not claimed:
                if not taken and not echoed:
                    raise NothingToRecord("Nothing was pending: the run before it read every record ConnectWise announced.")
                break
            # colcw's own writes coming back (their export linked them after the callback came): not read.
            hints = set_aside_own(ctx.session, claimed)
            echoed += len(claimed) - len(hints)
            looked += len(hints)
            if not hints:
                if len(claimed) < TAKE_LIMIT:
                    break
                continue
            ids: dict[str, list[int]] = {}
            for hint in hints:
                ids.setdefault(hint.entity, []).append(hint.cw_id)
            tally = reconciler.run(read(ctx.client, ids))
            idle += tally.idle
            # The deletions held back stay announced (pending): Apply anyway's pass reads them, and so does the next run
            # (which holds them back again while they are over the limit, applying its other changes).
            waiting = tally.held_records
            read_back(ctx.session, [h for h in hints if (h.entity, h.cw_id) not in waiting])
            taken += len(hints) - len(waiting)
            if tally.held is not None:
                held.append(tally.say("").strip())
                break  # the held hints are pending again: another wave would read them again
            if len(claimed) < TAKE_LIMIT:
                # What ConnectWise announced meanwhile is the next run's (queued for it as it came): read
                # here, a record announced twice would be counted and listed twice in this run.
                break
    if not held and not looked and echoed:
        raise NothingToRecord(f"{echoed} record{'s' if echoed != 1 else ''} announced by colcw's own write coming back; "
                              "nothing to read.")
    if not held and set(ctx.recorder.counts) == {UNCHANGED}:
        raise NothingToRecord(f"{taken} record{'s' if taken != 1 else ''} read again, unchanged.")
    if not held and not taken and not ctx.recorder.counts:  # only deletions held back before, still waiting
        raise NothingToRecord("Only records whose deletion the mass-delete guard holds back were read; they wait for "
                              "Apply anyway or Dismiss on the Connection page.")
    # The records with a result: one announced that the host holds no link to (a company never imported, a
    # contact of an unlinked company) was read and needed nothing; counted as changed, a run said "2 records
    # changed" for one customer's change.
    changed = max(taken - idle, 0)
    said = f"{changed} record{'s' if changed != 1 else ''} changed in ConnectWise."
    if idle:
        said += f" {idle} more read needed nothing here (not linked in ChannelOnline, inactive, or known deleted)."
    if reconciler.states_unread and not held:  # (a held batch's message says it already: Tally.say)
        said += " " + STATES_UNREAD.format(reason=reconciler.states_unread.rstrip("."))
    return " ".join([*held, said])


def run_reconcile(ctx: SyncContext) -> str:
    """The safety net's pass (``mode``: changes or deletions)."""
    mode = ctx.params.get("mode", "changes")
    with _inbound_lock(ctx):
        if mode == "deletions":
            return deletions_pass(ctx, force=bool(ctx.params.get("force")))
        return changes_pass(ctx, force=bool(ctx.params.get("force")))


def describe_live(session: Session | None, params: dict, *, scheduled: bool = False) -> str:
    records = params.get("records")
    if records:
        # Not "(retry)" here: these params are a Retry's but not only (a run queued for given records by the command
        # line, a script or a test); a true retry's run says "(retry of #12)" from its retry_of_id
        # (jobs.kinds.retry_description), as a customer export's does.
        n = sum(len(v) for v in records.values())
        if session is not None and 0 < n <= NAMED_IN_RETRY:  # a few: named as the host knows them
            return f"Read {and_list(_record_names(session, records))} changed in ConnectWise again"
        return f"Read {n} record{'s' if n != 1 else ''} changed in ConnectWise again"
    return "Live updates: records ConnectWise announced as changed"


def _record_names(session: Session, records: Mapping[str, Sequence[int]]) -> list[str]:
    """ConnectWise records by their ids, named as the host knows them through their links: "company ACME1", "contact
    Ada Lovelace", "Q1001"; one the host does not know by its ConnectWise id ("opportunity id 42")."""
    names = []
    for entity, ids in records.items():
        ours = next((e for e, theirs in ENTITY_OF.items() if theirs == entity), entity)
        links = dict(session.execute(select(Link.cw_id, Link).where(Link.entity == ours,
                                                                    Link.cw_id.in_([int(i) for i in ids]))).all())
        for cw_id in ids:
            link, name = links.get(int(cw_id)), ""
            if link is not None and ours == CUSTOMER:
                name = f"company {link.cw_identifier}" if link.cw_identifier else ""
            elif link is not None and ours == CONTACT:
                contact = session.get(Contact, link.host_id)
                name = f"contact {contact.name}" if contact is not None and contact.name else ""
            elif link is not None and ours == DOCUMENT:
                name = session.execute(select(Document.number).where(Document.id == link.host_id)).scalar() or ""
            names.append(name or f"{entity} id {cw_id}")
    return names


def describe_reconcile(session: Session | None, params: dict, *, scheduled: bool = False) -> str:
    text = f"Safety net: {MODES.get(params.get('mode', 'changes'), MODES['changes'])}"
    return text + (" (past the mass-delete guard)" if params.get("force") else "")


def retry_live(session: Session, run: SyncRun, failed: Sequence[SyncItem]) -> dict | None:
    records: dict[str, list[int]] = {}
    for item in failed:
        if item.cw_id and item.entity in ENTITY_OF:
            records.setdefault(ENTITY_OF[item.entity], []).append(item.cw_id)
    return {"records": {k: sorted(set(v)) for k, v in records.items()}} if records else None


def retry_reconcile(session: Session, run: SyncRun, failed: Sequence[SyncItem]) -> dict | None:
    return {"mode": (run.params or {}).get("mode", "changes")}


def reconcile_from_form(session: Session, form: Mapping[str, str]) -> dict:
    mode = form.get("reconcile_mode") or ""
    if mode not in MODES:
        raise FieldErrors({"reconcile_mode": "Choose what the safety net checks: what changed since the last pass, "
                                             "or deletions."})
    return {"mode": mode}


def reconcile_from_cli(session: Session, options: Mapping[str, object]) -> dict:
    params: dict = {"mode": "deletions" if options.get("deletions") else "changes"}
    if options.get("force"):
        params["force"] = True
    return params


LIVE_UPDATE = JobKind(LIVE_KIND, "Live updates from ConnectWise", run_live, describe_live, retry=retry_live,
                      retry_nouns=("record", "records"), drops_empty_runs=True, names_records=True,
                      urgent=True)  # a page waits on what ConnectWise announced: never behind a bulk run
RECONCILE = JobKind(RECONCILE_KIND, "ConnectWise safety net (live updates)", run_reconcile, describe_reconcile,
                    form_job="reconcile", form_job_label="safety net", form_template="colcw/jobs/_reconcile_form.html",
                    parse_form=reconcile_from_form, parse_cli=reconcile_from_cli, retry=retry_reconcile,
                    retry_nouns=("pass", "passes"))


def register(kinds: KindRegistry) -> None:
    """Register the live-update job kinds."""
    kinds.register(LIVE_UPDATE)
    kinds.register(RECONCILE)
