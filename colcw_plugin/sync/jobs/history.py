"""Run history: the filtered list, a run's status log, Retry of failed records, CSV of a log.

No Flask here: the Synchronization Jobs pages call these with a session.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from host_stub.models import Contact, DocumentLine, utcnow

from ...models import SyncItem, SyncRun

RESULTS = {"queued": "Queued", "running": "Running", "succeeded": "Succeeded", "partial": "Partly failed",
           "failed": "Failed", "interrupted": "Interrupted", "cancelled": "Cancelled"}
DEFAULT_DAYS = 7


@dataclass(frozen=True)
class HistoryFilter:
    """History filters: job type, result, and a date range (inclusive days, UTC)."""

    kind: str = ""
    result: str = ""
    start: dt.date | None = None
    end: dt.date | None = None

    @classmethod
    def parse(cls, args: dict, *, today: dt.date | None = None) -> tuple[HistoryFilter, str]:
        """From query arguments; the default is the last 7 days. Returns (filter, error message)."""
        today = today or utcnow().date()
        error = ""
        try:
            start = dt.date.fromisoformat(args["start"]) if args.get("start") else None
            end = dt.date.fromisoformat(args["end"]) if args.get("end") else None
        except ValueError:
            start = end = None
            error = "Enter the history dates as YYYY-MM-DD; showing the last 7 days."
        if start is None and end is None:
            start = today - dt.timedelta(days=DEFAULT_DAYS - 1)
        if start and end and end < start:
            error, start, end = "The end date is before the start date; showing the last 7 days.", \
                today - dt.timedelta(days=DEFAULT_DAYS - 1), None
        result = args.get("result", "") if args.get("result", "") in RESULTS else ""
        return cls(kind=args.get("kind", "") or "", result=result, start=start, end=end), error

    def as_args(self) -> dict:
        return {k: v for k, v in {"kind": self.kind, "result": self.result,
                                  "start": self.start.isoformat() if self.start else "",
                                  "end": self.end.isoformat() if self.end else ""}.items() if v}


def history_query(flt: HistoryFilter) -> Select:
    """Runs matching the filter, newest first."""
    q = select(SyncRun).order_by(SyncRun.created_at.desc(), SyncRun.id.desc())
    if flt.kind:
        q = q.where(SyncRun.kind == flt.kind)
    if flt.result:
        q = q.where(SyncRun.status == flt.result)
    if flt.start:
        q = q.where(SyncRun.created_at >= dt.datetime.combine(flt.start, dt.time()))
    if flt.end:
        q = q.where(SyncRun.created_at < dt.datetime.combine(flt.end + dt.timedelta(days=1), dt.time()))
    return q


def last_runs(session: Session, kinds: list[str]) -> dict[str, SyncRun]:
    """The latest run of each job type."""
    out = {}
    for kind in kinds:
        run = session.execute(select(SyncRun).where(SyncRun.kind == kind)
                              .order_by(SyncRun.created_at.desc(), SyncRun.id.desc()).limit(1)).scalar()
        if run is not None:
            out[kind] = run
    return out


def items_query(run_id: int, action: str = "") -> Select:
    q = select(SyncItem).where(SyncItem.run_id == run_id).order_by(SyncItem.id)
    return q.where(SyncItem.action == action) if action else q


def failed_count(session: Session, run_id: int) -> int:
    return session.scalar(select(func.count(SyncItem.id)).where(SyncItem.run_id == run_id,
                                                                SyncItem.action == "failed")) or 0


def retry_params(session: Session, run: SyncRun) -> dict | None:
    """Params of a new run that redoes the failed records of ``run`` (None when none can be redone).

    Customer export → ``customer_ids`` (a failed contact's customer included), customer import →
    ``company_ids``, quote export → ``document_ids`` (a failed line's document included). A
    failure without a record id (a company not found, say) retries the run's single target.
    """
    failed = session.execute(select(SyncItem).where(SyncItem.run_id == run.id, SyncItem.action == "failed")).scalars()
    failed = list(failed)
    if not failed:
        return None
    ids: list[int] = []
    if run.kind == "customer_export":
        ids = [i.host_id for i in failed if i.entity == "customer" and i.host_id]
        contact_ids = [i.host_id for i in failed if i.entity == "contact" and i.host_id]
        if contact_ids:
            ids += session.execute(select(Contact.customer_id).where(Contact.id.in_(contact_ids))).scalars().all()
        key = "customer_ids"
    elif run.kind == "customer_import":
        ids = [i.cw_id for i in failed if i.entity == "customer" and i.cw_id]
        key = "company_ids"
    elif run.kind == "quote_export":
        ids = [i.host_id for i in failed if i.entity == "document" and i.host_id]
        line_ids = [i.host_id for i in failed if i.entity == "line" and i.host_id]
        if line_ids:
            ids += session.execute(select(DocumentLine.document_id).where(DocumentLine.id.in_(line_ids))).scalars().all()
        key = "document_ids"
    else:
        return None
    if ids:
        return {key: sorted(set(ids))}
    single = {k: v for k, v in (run.params or {}).items() if k in ("customer_id", "company", "document_id")}
    return single or None


RETRY_NOUNS = {"customer_ids": ("customer", "customers"), "company_ids": ("company", "companies"),
               "document_ids": ("quote / order", "quotes / orders")}


def retry_label(session: Session, run: SyncRun) -> str | None:
    """The Retry button's text, counting what the retry redoes (a document with three failed lines
    is one document to export again), or None when nothing can be retried."""
    params = retry_params(session, run)
    if params is None:
        return None
    for key, (one, many) in RETRY_NOUNS.items():
        if key in params:
            n = len(params[key])
            return f"Retry the {n} failed {one if n == 1 else many}"
    return "Retry the failed record"


CSV_COLUMNS = ("at_utc", "entity", "direction", "action", "label", "channelonline_id", "connectwise_id", "message",
               "resolution")


def log_csv(session: Session, run_id: int) -> str:
    """A run's status log as CSV (cells that a spreadsheet would run as formulas are quoted)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for item in session.execute(items_query(run_id)).scalars():
        writer.writerow([item.at.isoformat(timespec="seconds"), item.entity, item.direction, item.action,
                         _cell(item.label), item.host_id or "", item.cw_id or "", _cell(item.message),
                         _cell(item.resolution)])
    return out.getvalue()


def _cell(text: str) -> str:
    return "'" + text if text and text[0] in "=+-@\t\r" else text
