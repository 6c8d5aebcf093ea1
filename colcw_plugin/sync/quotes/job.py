"""The ``quote_export`` job: select the documents, export them side by side, record each outcome.

Documents are exported ``ctx.options.concurrency`` at a time (threads with their own database
sessions, sharing the run's client, token bucket and ConnectWise caches; a document whose connection the database
refused or dropped waits for a later pass: :mod:`..jobs.database`). The per-document work
is in :mod:`.export`. A resumed run skips the documents it already finished; converted quotes are
left out of ranges (their sales orders carry their lines). A run an admin asks to stop starts no other
document: those under way end (each commits what it sent) and are recorded, the rest are not attempted.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor, as_completed

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from host_stub.models import Document

from ...models import SyncRun, exported_by_all
from ..jobs import ranges
from ..jobs.database import unavailable, unavailable_error
from ..jobs.kinds import SyncContext
from ..jobs.recorder import RunRecorder, RunStopped, Unreachable
from ..shared.locks import Stopped
from .export import ExportContext, Outcome, export_document

log = logging.getLogger(__name__)


def select_documents(session: Session, params: dict) -> list[int]:
    """The document ids a run's params select (ValueError with a message for bad params)."""
    if params.get("document_id") is not None:
        return [int(params["document_id"])]
    if params.get("document_ids") is not None:
        return list(dict.fromkeys(int(i) for i in params["document_ids"]))
    stmt = select(Document.id).where(selection_condition(params))
    return list(session.execute(stmt.order_by(Document.id)).scalars())


def selection_condition(params: dict) -> ColumnElement[bool]:
    """What a run selecting documents by date range, or all of them, selects, as a condition on :class:`Document`
    (converted quotes are left out: their sales orders carry their lines), as it is now. ValueError with a message
    for bad params, and for params that select documents by id."""
    selected = exported_by_all()
    if params.get("range"):
        spec = params["range"]
        span = ranges.resolve(spec.get("preset", ""), spec.get("start"), spec.get("end"))
        column = {"created": Document.created_at, "modified": Document.updated_at}.get(spec.get("field"))
        if column is not None:
            return and_(selected, column >= span.start, column < span.end)
        if spec.get("field") == "follow_up":
            return and_(selected, Document.follow_up_date >= span.start.date(),
                        Document.follow_up_date < span.end.date())
        raise ValueError("The range field must be created, modified or follow_up.")
    if not params.get("all"):
        raise ValueError("Choose a document, a date range or all documents to export.")
    return selected


def record_outcome(recorder: RunRecorder, outcome: Outcome) -> None:
    """One document's result, and one entry per line at fault (not counted as progress)."""
    recorder.record(entity="document", direction="export", action=outcome.action, host_id=outcome.document_id,
                    cw_id=outcome.opportunity_id, label=outcome.number, message=outcome.message,
                    resolution=outcome.resolution)
    for problem in outcome.lines:
        recorder.record(entity="line", direction="export", action="failed", host_id=problem.line_id,
                        label=f"{outcome.number} {problem.label}", message=problem.message,
                        resolution=problem.resolution, advance=False)


def run(ctx: SyncContext) -> str | None:
    """The job: export every selected document, recording each outcome."""
    try:
        ids = select_documents(ctx.session, ctx.params)
    except ValueError as e:
        ctx.recorder.record(entity="document", direction="export", action="failed", label="selection",
                            message=str(e), resolution="Start the export again with a valid selection.")
        return str(e)
    ctx.recorder.set_total(len(ids), entity="document", ids=ids)  # also reads what the run already finished
    todo = [i for i in ids if not ctx.recorder.is_finished("document", i)]
    if not todo:
        return None
    # What a person confirmed on the document's checklist, for Export now's run of that one document (see
    # export.export_document): a run of several documents confirms nothing.
    confirmed = ctx.params.get("confirmed") if ctx.params.get("document_id") is not None else None
    # The warnings (⚠) the person who clicked Export now ticked: its run's log says they confirmed them. Never for a
    # retry (one copying a stopped run's params is asked by whoever clicks Retry, who ticked nothing).
    # A retry's params never carry them (history.retry_params strips them); the run's row is read only when some are
    # there, so a run without ticks costs no statement.
    ticked = tuple(ctx.params.get("confirmed_checks") or ()) if ctx.params.get("document_id") is not None else ()
    warned = ticked if ticked and not _is_retry(ctx) else ()
    workers = min(max(1, ctx.options.concurrency), len(todo))
    export_ctx = ExportContext.for_run(ctx.session, ctx.client, ctx.settings, host=ctx.host,
                                       on_wait=ctx.recorder.note_wait, workers=workers,
                                       should_stop=ctx.recorder.stop_requested,
                                       create_settle_seconds=ctx.options.create_settle_seconds)
    if ctx.params.get("document_id") is not None:  # (asked only when it refuses: no statement otherwise)
        export_ctx.confirmable = lambda: not _is_retry(ctx)
    outcomes = []
    if workers <= 1:
        for doc_id in todo:
            ctx.recorder.stop_if_requested()  # between documents: the one before is committed and recorded
            try:
                outcome = export_document(ctx.session, export_ctx, doc_id, actor=ctx.actor, run_id=ctx.run_id,
                                          confirmed=confirmed, confirmed_checks=warned)
            except Stopped:  # asked to stop while it waited for the document's lock: nothing of it written
                raise ctx.recorder.stopped_waiting() from None
            if _settle(ctx.recorder, outcome):
                outcomes.append(outcome)
    else:
        engine = ctx.session.get_bind()

        def work(doc_id: int) -> Outcome:
            if getattr(ctx.client, "login_refused", None) is not None:
                raise Stopped  # ConnectWise refused the login meanwhile: no other document starts (LoginRefused)
            # Each thread works on a session of its own.
            with Session(bind=engine) as session:
                try:
                    return export_document(session, export_ctx, doc_id, actor=ctx.actor, run_id=ctx.run_id)
                except Stopped:
                    raise
                except Exception as e:  # a bug must not lose the other documents' results
                    if unavailable(e):  # its connection refused or dropped: it waits for a later pass
                        waits = unavailable_error(e)  # (the driver's words: not the statement and its parameters)
                        log.warning("quote export of document %s waits for a later pass: %s (%s)", doc_id,
                                    waits.why_not_done, waits.message)
                        return Outcome(doc_id, f"#{doc_id}", "failed", error=waits)
                    log.exception("quote export of document %s crashed", doc_id)
                    return Outcome(doc_id, f"#{doc_id}", "failed", message=f"Unexpected error: {type(e).__name__}: {e}",
                                   resolution="Report this to your administrator with the run number.")

        stop: Unreachable | RunStopped | None = None
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="colcw-export") as pool:
            futures = [pool.submit(work, d) for d in todo]
            for future in as_completed(futures):
                if future.cancelled():
                    continue
                try:
                    outcome = future.result()
                except Stopped:  # its export was waiting for the document's lock: the run was asked to stop
                    stop = stop or ctx.recorder.stopped_waiting()
                    for f in futures:
                        f.cancel()
                    continue
                try:
                    if _settle(ctx.recorder, outcome):  # only this thread touches the recorder
                        outcomes.append(outcome)
                except Unreachable as e:  # ConnectWise is down: start no other document, record the rest
                    stop = stop or e
                    for f in futures:
                        f.cancel()
                if stop is None:
                    try:
                        ctx.recorder.stop_if_requested()
                    except RunStopped as e:  # an admin asked it to stop: the same, and the run ends cancelled
                        stop = e
                        for f in futures:
                            f.cancel()
        if stop is not None:
            raise stop
    if len(ids) == 1 and outcomes:
        return outcomes[0].message
    return None


def _is_retry(ctx: SyncContext) -> bool:
    return ctx.session.execute(select(SyncRun.retry_of_id).where(SyncRun.id == ctx.run_id)).scalar() is not None


def _settle(recorder: RunRecorder, outcome: Outcome) -> bool:
    """Record a document's outcome; a transient ConnectWise failure instead makes it wait for a later
    pass of the run (False). Raises :class:`Unreachable` when several in a row failed so: a document colcw holds back
    itself (an opportunity an earlier attempt asked ConnectWise to create, which it may still create:
    :class:`.intents.CreateStillLanding`) waits too, but does not count toward that (ConnectWise answered)."""
    if outcome.error is not None and outcome.error.transient:
        recorder.defer(entity="document", key=outcome.document_id, label=outcome.number, error=outcome.error)
        return False
    record_outcome(recorder, outcome)
    return True


def document_labels(session: Session, ids: list[int]) -> dict[int, str]:
    """Documents' numbers for their run log entries."""
    return dict(session.execute(select(Document.id, Document.number).where(Document.id.in_(ids))).all())
