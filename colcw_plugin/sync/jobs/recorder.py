"""Recording what a run did: progress, per-record results, the final status.

The recorder writes through its *own* database session, so progress and results are visible
to the jobs page while the sync's business transactions (a company with its contacts, say)
commit or roll back on their own. Results are buffered and written in batches so a run over
10,000 records does not cost 10,000 round trips.
"""

from __future__ import annotations

import time
from collections import Counter

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from host_stub.models import utcnow

from ...models import RunStatus, SyncItem, SyncRun, summarize_counts

ACTIONS = ("created", "updated", "unchanged", "skipped", "failed")


class RunRecorder:
    """Records one run's progress and per-record outcomes (use one recorder per run)."""

    def __init__(self, engine: Engine, run_id: int, *, flush_every: int = 200, flush_seconds: float = 1.0):
        self.engine = engine
        self.run_id = run_id
        self.flush_every = flush_every
        self.flush_seconds = flush_seconds
        self._session = Session(bind=engine, expire_on_commit=False)
        self._buffer: list[dict] = []
        self._last_flush = time.monotonic()
        run = self._session.get(SyncRun, run_id)
        if run is None:
            raise LookupError(f"sync run {run_id} does not exist")
        self.counts: Counter = Counter(run.counts or {})
        self.entity_counts: dict[str, Counter] = {e: Counter(c) for e, c in (run.entity_counts or {}).items()}
        self.done = run.done
        self.total = run.total

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        now = utcnow()
        self._update(status=RunStatus.RUNNING, started_at=now, heartbeat_at=now, finished_at=None)

    def set_total(self, total: int) -> None:
        self.total = total
        self._update(total=total)

    def record(self, *, entity: str, direction: str, action: str, host_id: int | None = None,
               cw_id: int | None = None, label: str = "", message: str = "", resolution: str = "",
               advance: bool = True) -> None:
        """One record's outcome. ``advance`` counts it toward done / total."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        self._buffer.append({"run_id": self.run_id, "at": utcnow(), "entity": entity, "direction": direction,
                             "host_id": host_id, "cw_id": cw_id, "label": label[:300], "action": action,
                             "message": message, "resolution": resolution})
        self.counts[action] += 1
        self.entity_counts.setdefault(entity, Counter())[action] += 1
        if advance:
            self.done += 1
        if len(self._buffer) >= self.flush_every or time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def advance(self, n: int = 1) -> None:
        self.done += n
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def flush(self, **extra) -> None:
        """Write buffered results, progress and a heartbeat."""
        if self._buffer:
            self._session.execute(insert(SyncItem), self._buffer)
            self._buffer = []
        self._update(done=self.done, counts=dict(self.counts),
                     entity_counts={e: dict(c) for e, c in self.entity_counts.items()}, heartbeat_at=utcnow(), **extra)
        self._last_flush = time.monotonic()

    def finish(self, *, message: str = "", status: str | None = None, api_requests: int = 0) -> str:
        """Close the run; the status follows from the results unless given."""
        if status is None:
            failed = self.counts.get("failed", 0)
            ok = sum(v for k, v in self.counts.items() if k != "failed")
            status = RunStatus.SUCCEEDED if not failed else (RunStatus.PARTIAL if ok else RunStatus.FAILED)
        self.flush(status=status, finished_at=utcnow(), message=message, api_requests=api_requests)
        self._session.close()
        return status

    # --- resume -----------------------------------------------------------------------------

    def completed_keys(self, entity: str) -> tuple[set[int], set[int]]:
        """Host ids and ConnectWise ids this run already finished (not failed): a resumed run skips them."""
        rows = self._session.execute(select(SyncItem.host_id, SyncItem.cw_id).where(
            SyncItem.run_id == self.run_id, SyncItem.entity == entity, SyncItem.action != "failed")).all()
        return {h for h, _ in rows if h is not None}, {c for _, c in rows if c is not None}

    # --- internals --------------------------------------------------------------------------

    def _update(self, **values) -> None:
        self._session.execute(update(SyncRun).where(SyncRun.id == self.run_id).values(**values))
        self._session.commit()


def describe_counts(counts: dict) -> str:
    parts = [f"{counts[a]} {a}" for a in ACTIONS if counts.get(a)]
    return ", ".join(parts) or "nothing to do"


def describe_recorder(recorder: RunRecorder) -> str:
    """The run's counts per kind of record (customers and contacts apart, documents and lines apart)."""
    return summarize_counts({e: dict(c) for e, c in recorder.entity_counts.items()}, dict(recorder.counts))
