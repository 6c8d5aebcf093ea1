"""Quote and sales order export to ConnectWise opportunities: the ``quote_export`` job kind.

Params (the jobs engine's contract): ``{"document_id": id}`` | ``{"document_ids": [...]}`` (a
retry of failed ones) | ``{"range": {"field": "created"|"modified"|"follow_up", "preset", "start",
"end"}}`` | ``{"all": true}``. Presets are resolved when the run starts. Converted quotes are left
out of ranges (their sales orders carry their lines). A resumed run skips the documents it
already finished.

Documents are exported ``COLCW_CONCURRENCY`` at a time (threads with their own database
sessions, sharing the run's client, token bucket and ConnectWise caches). The per-document work
is in :mod:`colcw_plugin.sync.quote_export`.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor, as_completed

from flask import current_app, has_app_context
from redis.exceptions import RedisError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from host_stub.models import Document

from ...models import SyncRun, get_link
from ..jobs import ranges
from ..jobs.recorder import RunRecorder
from ..jobs.runs import JobKind, SyncContext, create_run, register
from .export import ExportContext, Outcome, export_document

log = logging.getLogger(__name__)

KIND = "quote_export"
RANGE_FIELDS = {"created": "created", "modified": "last modified", "follow_up": "follow-up"}


def select_documents(session: Session, params: dict) -> list[int]:
    """The document ids a run's params select (ValueError with a message for bad params)."""
    if params.get("document_id") is not None:
        return [int(params["document_id"])]
    if params.get("document_ids") is not None:
        return list(dict.fromkeys(int(i) for i in params["document_ids"]))
    stmt = select(Document.id).where(or_(Document.doc_type == "order", Document.status != "converted"))
    if params.get("range"):
        spec = params["range"]
        span = ranges.resolve(spec.get("preset", ""), spec.get("start"), spec.get("end"))
        column = {"created": Document.created_at, "modified": Document.updated_at}.get(spec.get("field"))
        if column is not None:
            stmt = stmt.where(column >= span.start, column < span.end)
        elif spec.get("field") == "follow_up":
            stmt = stmt.where(Document.follow_up_date >= span.start.date(), Document.follow_up_date < span.end.date())
        else:
            raise ValueError("The range field must be created, modified or follow_up.")
    elif not params.get("all"):
        raise ValueError("Choose a document, a date range or all documents to export.")
    return list(session.execute(stmt.order_by(Document.id)).scalars())


def describe(params: dict) -> str:
    """A readable description of a run (for the jobs page and rq-dashboard)."""
    if params.get("document_id") is not None:
        return f"Export {_number(params['document_id'])} to ConnectWise"
    if params.get("document_ids") is not None:
        n = len(params["document_ids"])
        return f"Export {n} document{'s' if n != 1 else ''} to ConnectWise again"
    if params.get("range"):
        spec = params["range"]
        when = ranges.PRESET_LABELS.get(spec.get("preset", ""), spec.get("preset", ""))
        if spec.get("preset") == "custom":
            when = f"{spec.get('start')} to {spec.get('end')}"
        return f"Export quotes and sales orders by {RANGE_FIELDS.get(spec.get('field'), 'date')} date: {when}"
    return "Export all quotes and sales orders to ConnectWise"


def _number(document_id) -> str:
    if has_app_context():
        from host_stub.extensions import db

        doc = db.session.get(Document, int(document_id))
        if doc is not None:
            return doc.number
    return f"document #{document_id}"


def record_outcome(recorder: RunRecorder, outcome: Outcome) -> None:
    """One document's result, and one entry per line at fault (not counted as progress)."""
    recorder.record(entity="document", direction="export", action=outcome.action, host_id=outcome.document_id,
                    cw_id=outcome.opportunity_id, label=outcome.number, message=outcome.message,
                    resolution=outcome.resolution)
    for problem in outcome.lines:
        recorder.record(entity="line", direction="export", action="failed", host_id=problem.line_id,
                        label=f"{outcome.number} {problem.label}", message=problem.message,
                        resolution=problem.resolution, advance=False)


def _concurrency() -> int:
    return max(1, int(current_app.config.get("COLCW_CONCURRENCY", 4))) if has_app_context() else 1


def run(ctx: SyncContext) -> str | None:
    """The job: export every selected document, recording each outcome."""
    try:
        ids = select_documents(ctx.session, ctx.params)
    except ValueError as e:
        ctx.recorder.record(entity="document", direction="export", action="failed", label="selection",
                            message=str(e), resolution="Start the export again with a valid selection.")
        return str(e)
    finished, _ = ctx.recorder.completed_keys("document")
    todo = [i for i in ids if i not in finished]
    ctx.recorder.set_total(len(ids))
    export_ctx = ExportContext.for_run(ctx.session, ctx.client, ctx.settings)
    workers = min(_concurrency(), len(todo))
    outcomes = []
    if workers <= 1:
        for doc_id in todo:
            outcome = export_document(ctx.session, export_ctx, doc_id, actor=ctx.actor, run_id=ctx.run_id)
            if len(ids) == 1 and outcome.error is not None and outcome.error.transient:
                # One document (the page, a conversion): let the queue retry the run later.
                raise outcome.error
            record_outcome(ctx.recorder, outcome)
            outcomes.append(outcome)
    else:
        app = current_app._get_current_object()

        def work(doc_id: int) -> Outcome:
            from host_stub.extensions import db

            # Each thread gets its own app context, hence its own database session.
            with app.app_context():
                try:
                    return export_document(db.session, export_ctx, doc_id, actor=ctx.actor, run_id=ctx.run_id)
                except Exception as e:  # a bug must not lose the other documents' results
                    log.exception("quote export of document %s crashed", doc_id)
                    return Outcome(doc_id, f"#{doc_id}", "failed", message=f"Unexpected error: {type(e).__name__}: {e}",
                                   resolution="Report this to your administrator with the run number.")
                finally:
                    db.session.remove()

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="colcw-export") as pool:
            for future in as_completed([pool.submit(work, d) for d in todo]):
                outcome = future.result()
                record_outcome(ctx.recorder, outcome)  # only this thread touches the recorder
                outcomes.append(outcome)
    if len(ids) == 1 and outcomes:
        return outcomes[0].message
    return None


register(JobKind(name=KIND, label="Quote / sales order export", run=run, describe=describe))


# --- starting an export from the web process --------------------------------------------------


def start_export(session: Session, params: dict, *, trigger: str = "manual", actor: dict | None = None) -> SyncRun:
    """Queue an export on the jobs engine and return its run (the one already queued or running
    for the same params, when there is one). Commits the session."""
    from ..jobs.queue import submit

    return submit(session, KIND, params, trigger=trigger, actor=actor)


def on_quote_converted(session: Session, quote: dict, order: dict, actor: dict | None) -> SyncRun | None:
    """The ``quote_converted`` hook: when the quote was exported, export its sales order.

    The order goes to the quote's opportunity, takes over the quote's lines (no duplicates) and
    sets the opportunity to Won, unless another unconverted quote feeds it (the run log says so).
    """
    if get_link(session, "document", quote["id"]) is None:
        return None  # never exported: nothing to update in ConnectWise
    params = {"document_id": order["id"]}
    try:
        return start_export(session, params, trigger="event", actor=actor)
    except RedisError:
        # The conversion is already committed in the host and will not fire again: losing this
        # run would lose the Won. Record it as queued; the scheduler's requeue_lost enqueues it
        # once Redis answers again.
        session.rollback()
        return _record_unqueued(session, params, actor)


def _record_unqueued(session: Session, params: dict, actor: dict | None) -> SyncRun:
    """The queued run of ``params`` (the one ``submit`` committed before the enqueue failed, or a new one)."""
    from ..jobs.queue import NOT_QUEUED_MESSAGE, job_id_for

    job_id = job_id_for(KIND, params)
    run = session.execute(select(SyncRun).where(SyncRun.kind == KIND, SyncRun.status == "queued",
                                                SyncRun.rq_job_id == job_id).order_by(SyncRun.id.desc())
                          ).scalars().first()
    if run is None:
        run = create_run(session, KIND, params, trigger="event", actor=actor)
        run.rq_job_id = job_id
    run.message = NOT_QUEUED_MESSAGE  # requeue_lost replaces it when it queues the run
    session.commit()
    log.warning("quote export run %s recorded without a queue (Redis unreachable); requeue_lost will enqueue it",
                run.id)
    return run
