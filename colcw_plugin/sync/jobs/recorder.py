"""Recording what a run did: progress, per-record results, records waiting for ConnectWise, the status.

The recorder writes through its *own* database session, so progress and results are visible
to the jobs page while the sync's business transactions (a company with its contacts, say)
commit or roll back on their own. Results are buffered and written in batches so a run over
10,000 records does not cost 10,000 round trips. On PostgreSQL the batches the recorder writes by
itself as the run goes on (progress and results only) are written behind: by a thread of the
recorder's, on a connection of its own, while the run goes on (a thousand results cost the database
tens of milliseconds: its indexes and the check of each row's run). One batch at a time, in order:
the next write, any read of the run's results, an explicit :meth:`RunRecorder.flush` and the end of
the attempt wait for it first, so nothing is read or written out of order.

Every record a run selects ends with exactly one outcome: created / updated, unchanged, skipped,
failed (permanently, with reason and fix) or not attempted (with why). A transient ConnectWise
failure is not an outcome: the service :meth:`RunRecorder.defer` s the record, the engine tries it
again later (:mod:`.runs`), and only when it gives up is the record "not attempted". Progress counts
records, not attempts: ``done`` is the number of distinct records with an outcome, so it never
passes ``total`` however often a record is tried or a run resumed.

An admin may ask a running run to stop (status ``cancelling``, :func:`.recovery.cancel`). Every write of the
run's row the recorder makes anyway (progress, a heartbeat, why it waits) reads the row's status back in the same
statement (``UPDATE … RETURNING``), so it learns of the request at no extra cost; in a stretch without writes
:meth:`RunRecorder.stop_requested` looks once a second at most. The recorder never stops a run by itself: a service
calls :meth:`RunRecorder.stop_if_requested` where stopping leaves nothing half-written (between records or pages,
everything before it committed and recorded), which raises :class:`RunStopped`; the engine then closes the run as
cancelled (:func:`close_cancelled`) — unless every record it selected already had its outcome: then the request
came too late to stop anything, so it raises nothing: the service ends as it would have, with its own message, and
the run closes with its own status, saying so (as when it finishes while asked to stop: :meth:`RunRecorder.finish`'s
``late_cancel``; the engine does the same when such a request reaches it another way). A cancelled run's pages show
how far it got:
:attr:`~colcw_plugin.models.SyncRun.reached`, not ``done`` (which counts the records it closed "not attempted" too).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, case, delete, exists, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, make_transient_to_detached

from host_stub.bulk import insert_rows
from host_stub.models import utcnow

from ...cw import ConnectWiseError
from ...models import (
    RECORD_ACTIONS,
    RunStatus,
    SyncItem,
    SyncRun,
    action_in,
    cancelled_message,
    late_cancel_note,
    stop_requested_by,
    summarize_counts,
)
from ...models.runs import NOT_DONE
from ...text import plural
from .autocommit import autocommit_engine
from .database import unavailable
from .finished import FinishedKeys
from .waits import ColcwWait

log = logging.getLogger(__name__)

ACTIONS = RECORD_ACTIONS
NOT_ATTEMPTED = "not_attempted"
OK_ACTIONS = ("created", "updated", "unchanged", "skipped")
RETRY_FIX = "Retry on the run's page re-runs them."
# How the reason of a running run's pause between two tries of one request ends (RunRecorder.note_retry_wait): what
# ConnectWise did comes before it; when the request is sent again is the run's next_try_at.
RETRYING_REQUEST = ": trying the request again"
# How the message of a run the scheduler found without a worker begins (:func:`.recovery.detect_interrupted`): the
# attempt that resumes it replaces it when it starts (:meth:`RunRecorder.start`), so a running run never reads
# "Interrupted".
INTERRUPTED = "Interrupted: "


class LockWait(str):
    """A run's waiting reason while another export or import holds records it needs (``what``: them, in words, "Q1013",
    "Acme Corp", "some of these 3 customers"; ``seconds``: how long the run waits for them; ``then``: what becomes of
    them if they are still held after that, "Q1013 fails, to be exported again later"). :meth:`RunRecorder.note_wait`
    says it as it is when the holder can only be an earlier attempt of the same run (:func:`earlier_attempt_text`)."""

    what: str
    seconds: float
    then: str

    def __new__(cls, text: str, *, what: str, seconds: float, then: str) -> LockWait:
        made = super().__new__(cls, text)
        made.what, made.seconds, made.then = what, seconds, then
        return made


def earlier_attempt_text(wait: LockWait) -> str:
    """What a resumed run waits for when no other run works (:meth:`RunRecorder.note_wait`): the attempt before it,
    taken for dead because its worker stopped answering (frozen, cut off), whose process still lives and holds the
    records. It lets go when that process ends, or stops by itself once it comes back (:class:`Superseded`)."""
    seconds = int(wait.seconds)
    after = plural(seconds // 60, "minute") if seconds >= 60 and not seconds % 60 else plural(seconds, "second")
    return (f"Waiting for this run's earlier attempt to let go of {wait.what}: its worker stopped answering but has not "
            "ended. This attempt goes on as soon as that process ends, or comes back and stops (the run is this "
            f"attempt's now); if it still holds {wait.what} after {after}, {wait.then}.")


def resumed_message(done: int, total: int | None, nouns: tuple[str, str] = ("record", "records")) -> str:
    """The message of a run the scheduler resumed, once its new attempt started (it said "Interrupted: …"): how far
    it got, its records counted as its kind names them (``nouns``: :func:`.kinds.selected_nouns`, as the interrupted
    message before it counted them: "at 2 of 4 companies"; "at 2 of ? companies" before it knew its total)."""
    one, many = nouns
    so_far = f"{done:,} of {total:,} {one if total == 1 else many}" if total else f"{done:,} of ? {many}"
    return f"Resumed automatically after its worker stopped, at {so_far}; the records already done are skipped."


class Unreachable(Exception):
    """Several records in a row failed transiently: ConnectWise is unreachable, the whole run waits."""

    def __init__(self, error: ConnectWiseError, streak: int):
        self.error = error
        self.streak = streak
        super().__init__(str(error))


class RunCancelled(Exception):
    """The run was cancelled (by an admin, while it was queued) before this attempt's start was written, or an
    admin asked it to stop (status cancelling) before then."""


class Superseded(Exception):
    """A later attempt of the run took it over: the scheduler found this attempt's worker dead (no heartbeat) and
    started another, and this one came back (a frozen machine, a long pause). Its writes are refused from then on
    (each write of the run's row is made only for the attempt that wrote its start); it stops at once, writing
    nothing more, and leaves the run to the attempt that owns it."""


class RunGone(Superseded):
    """The run's row no longer exists (Reset deleted it under the attempt): like a superseded attempt, it stops at
    once and writes nothing more — no result, no link of the service's (whose next look at the recorder raises
    it), so nothing of it lands in whatever connection comes next."""


class RunStopped(Exception):
    """An admin asked the running run to stop (status cancelling). Raised only where a service (or the engine)
    says stopping is safe (:meth:`RunRecorder.stop_if_requested`), or by the write that would leave the run waiting
    for its next attempt; ``request`` is the run's message then (who asked, when)."""

    def __init__(self, request: str):
        self.request = request
        super().__init__(request)


class LoginRefused(RunStopped):
    """ConnectWise refused colcw's login (401): the keys are wrong or revoked, so every other record would fail the same
    way. Raised where an admin's request to stop would be (:meth:`RunRecorder.stop_if_requested`), so each service
    stops as it stops for a cancel; the run then fails as a whole, what it did not reach "not attempted", for Retry
    once the connection is fixed (:func:`~.runs.close_login_refused`). ``error``: the refusal."""

    def __init__(self, error: ConnectWiseError):
        self.error = error
        super().__init__(str(error))


class _Ticker:
    """The thread of a process that writes the requests of its running attempts about once a second
    (:meth:`RunRecorder._tick`). One for every attempt the process runs, started with the first (again in a forked
    child, which has no thread of its parent's), rather than a thread of its own started by each attempt: most runs
    (a rep's export of one document) end long before their first tick. Each attempt is ticked every
    ``flush_seconds`` from when it was added, until it is removed (it ends) or its tick says it is no longer the
    run's."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._due: dict[RunRecorder, float] = {}
        self._thread: threading.Thread | None = None

    def add(self, recorder: RunRecorder) -> None:
        with self._cond:
            self._due[recorder] = time.monotonic() + recorder.flush_seconds
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="colcw-run-requests", daemon=True)
                self._thread.start()
            self._cond.notify()

    def remove(self, recorder: RunRecorder) -> None:
        with self._cond:
            self._due.pop(recorder, None)

    def _run(self) -> None:
        cond = self._cond
        while True:
            with cond:
                now = time.monotonic()
                due = [r for r, at in self._due.items() if at <= now]
                if not due:
                    cond.wait(min(self._due.values(), default=now + 60.0) - now)
                    continue
                for recorder in due:
                    self._due[recorder] = now + recorder.flush_seconds
            for recorder in due:  # (written outside the lock: an attempt ending meanwhile is not held up)
                with cond:
                    if recorder not in self._due:
                        continue  # it ended meanwhile
                if not recorder._tick():
                    self.remove(recorder)


_TICKER = _Ticker()


_RUNS = SyncRun.__table__
_ITEMS = SyncItem.__table__


def _run_update(run_id: int, attempt: int | None, values: dict, *, starting: bool, unless_stopping: bool,
                item: dict | None, item_guarded: bool, whole: bool) -> tuple[object, dict]:
    """The UPDATE of run ``run_id``'s row with ``values`` and its parameters (see :meth:`RunRecorder._update`):
    ``attempt``: only while the run is still that attempt's; ``starting``: the attempt's start (its ``started_at``
    kept where one is written already, ``attempts`` counting one more), refused to a run cancelled (or asked to stop)
    meanwhile; ``unless_stopping``: refused to a run asked to stop; ``item``: one result inserted in the same
    statement (``item_guarded``: only while the run is still this attempt's); ``whole``: it returns the whole row
    (else its status, message and attempts)."""
    guarded = item is not None and item_guarded and attempt is not None
    params = {"run_id": run_id, **{f"v_{c}": v for c, v in values.items()},
              **{f"i_{n}": v for n, v in (item or {}).items()}}
    if attempt is not None:  # (guarded implies it)
        params["attempt"] = attempt
    stmt = _run_update_statement(tuple(sorted(values)), starting, unless_stopping, attempt is not None,
                                 tuple(item) if item is not None else None, guarded, whole)
    return stmt, params


# Built once per shape (the columns written, its conditions, its one result, what it returns), with bound parameters
# for the values: building and keying such an UPDATE anew for each write cost more Python than sending it (a run of
# one document writes its row twice). The recorder writes a few shapes (start, total, progress, wait, end).
@functools.lru_cache(maxsize=128)
def _run_update_statement(columns: tuple[str, ...], starting: bool, unless_stopping: bool, attempt: bool,
                          items: tuple[str, ...] | None, item_guarded: bool, whole: bool):
    written = {c: bindparam(f"v_{c}", type_=_RUNS.c[c].type) for c in columns}
    if starting:  # its first start time stays; one more attempt
        assert "started_at" in written, "an attempt's start writes its started_at"
        written["started_at"] = func.coalesce(_RUNS.c.started_at, written["started_at"])
        written["attempts"] = _RUNS.c.attempts + 1
    stmt = update(SyncRun).where(SyncRun.id == bindparam("run_id")).values(written)
    if starting:  # the attempt's start: a compare-and-set against an admin's cancel (recovery.cancel)
        stmt = stmt.where(SyncRun.status.not_in((RunStatus.CANCELLED, RunStatus.CANCELLING)))
    elif unless_stopping:
        stmt = stmt.where(SyncRun.status != RunStatus.CANCELLING)
    if attempt:
        stmt = stmt.where(SyncRun.attempts == bindparam("attempt"))
    if items is not None:
        stmt = stmt.add_cte(_one_item(items, guarded=item_guarded).cte("new_item"))
    if whole:  # the row as written, as plain columns (nothing of any session's to sync): _detached_run
        return stmt.returning(*_RUNS.c).execution_options(synchronize_session=False)
    # its status, in the same statement: an admin's request to stop costs no read of its own
    return stmt.returning(SyncRun.status, SyncRun.message, SyncRun.attempts)


def _detached_run(row) -> SyncRun:
    """The run's row as an UPDATE's RETURNING of every column gave it, as a :class:`SyncRun` detached with those
    values loaded (what a session's ORM-enabled RETURNING of the entity, then expunging it, made: that took about 700
    Python calls more, a new session and the ORM's bulk-update machinery, at the end of every run)."""
    run = _RUN_MANAGER.new_instance()
    run.__dict__.update(zip(_RUN_KEYS, row, strict=True))  # (as a query's loading fills a new instance's dict)
    make_transient_to_detached(run)  # its identity, nothing pending; schedule_name (deferred) loads if asked
    return run


_RUN_MANAGER = SyncRun.__mapper__.class_manager
# The attribute of each of the table's columns, in the table's order (what RETURNING *_RUNS.c gives).
_RUN_KEYS = tuple(SyncRun.__mapper__.get_property_by_column(c).key for c in _RUNS.c)


def _one_item(names: tuple[str, ...], *, guarded: bool):
    """The INSERT of one result that goes with the run's row in one statement. A data-modifying CTE runs
    whether the UPDATE matches or not, so for an attempt that may have been taken over it inserts only while
    the run is still this attempt's (the same condition as the UPDATE's, on the same snapshot)."""
    if not guarded:
        return insert(_ITEMS).values({n: bindparam(f"i_{n}", type_=_ITEMS.c[n].type) for n in names})
    ours = exists().where(SyncRun.id == bindparam("run_id"), SyncRun.attempts == bindparam("attempt"))
    values = select(*[bindparam(f"i_{n}", type_=_ITEMS.c[n].type) for n in names]).where(ours)
    return insert(_ITEMS).from_select(list(names), values)


@dataclass
class Deferred:
    """A record whose last try failed transiently: it is tried again later in the run."""

    entity: str
    key: int
    label: str
    error: ConnectWiseError


def _key(entity: str, host_id: int | None, cw_id: int | None) -> tuple | None:
    if host_id is not None:
        return (entity, "host", int(host_id))
    if cw_id is not None:
        return (entity, "cw", int(cw_id))
    return None


class RunRecorder:
    """Records one run's progress and per-record outcomes (use one recorder per run)."""

    def __init__(self, engine: Engine, run_id: int, *, flush_every: int = 1000, flush_seconds: float = 1.0,
                 unreachable_after: int = 3, run: SyncRun | None = None):
        """``run``: the run's row as the caller just read it (else the recorder reads it)."""
        self.engine = engine
        self.run_id = run_id
        self.flush_every = flush_every
        self.flush_seconds = flush_seconds
        self.unreachable_after = unreachable_after
        self._session = Session(bind=engine, expire_on_commit=False)
        # A write of one statement needs no transaction of its own: in autocommit it costs one round trip
        # instead of three (BEGIN, the statement, COMMIT). See :meth:`_update`.
        self._direct = autocommit_engine(engine)
        self.row: SyncRun | None = None  # the run's row as the attempt's last write left it (finish, wait)
        # The attempt this recorder's start wrote (the run's ``attempts`` then): every later write of the run's row
        # is made only while it is still that one (a later attempt took over: :class:`Superseded`).
        self._attempt: int | None = None
        self._superseded = False
        self._gone = False  # the run's row no longer exists (RunGone)
        self._buffer: list[dict] = []
        # the batch written behind: its thread, what stopped it, its results, the run's counts it writes
        self._behind: tuple[threading.Thread, list[BaseException], list[dict], dict] | None = None
        # The last write of results that the database refused or dropped (:meth:`_rebuffer`): how many results at the
        # buffer's front it carried, and the run's counts it wrote. A connection dropped as its COMMIT was answered
        # may have lost only the answer: the next write looks before it writes them again (:meth:`_landed`).
        self._unsure: tuple[int, dict] | None = None
        self._last_flush = time.monotonic()
        # Whether this attempt wrote a result yet: in a run of several records its first is written at once, not with
        # the next record's (a run whose next record took its time showed "0 / 2", and its list row unfinished, with
        # the first one done); a run of one record writes it with its end, as before.
        self._results_written = False
        if run is None:
            run = self._session.get(SyncRun, run_id)
        if run is None:
            raise LookupError(f"sync run {run_id} does not exist")
        self.total = run.total
        self.selection: dict = dict(run.selection or {})
        self.deferred: dict[tuple, Deferred] = {}
        self.streak = 0
        self._retry_noted = False
        self._stop_request: str | None = None  # the run's message once a write or a look found it cancelling
        self._looked = time.monotonic()  # when the run's status was last read (by a write, or a look)
        self._starting: dict | None = None  # the start's values, written with the next write (start(with_total))
        # This attempt's ConnectWise requests so far (the caller sets it to its client's count): written with each
        # flush, so a run's page shows them while it runs, on top of the earlier attempts' (read at the start).
        self._requests_sent: Callable[[], int] | None = None
        # ConnectWise's refusal of the login once the run's client met it (the caller sets it: the client's
        # ``login_refused``): the run stops at its next boundary (:class:`LoginRefused`).
        self.login_refused: Callable[[], ConnectWiseError | None] | None = None
        # Told each time the run starts to wait for ConnectWise (a pause between two tries of a request or two
        # passes; not a lock another export holds): the page a rep's click holds stops waiting then
        # (runs.execute_run's ``on_wait``).
        self.on_wait: Callable[[], None] | None = None
        self._requests_before = run.api_requests or 0
        # The run was resumed by the scheduler (its message says it was interrupted): this attempt's start says so
        # instead. ``_interruptions``: how often a worker of the run was taken for dead (one may still live, frozen,
        # holding records: note_wait).
        self._resumed = (run.message or "").startswith(INTERRUPTED)
        self._interruptions = run.interruptions or 0
        self._ticking = False  # whether the process's ticker writes this attempt's requests (_TICKER)
        self._requests_written = self._requests_before  # the requests the ticker last wrote
        self._load(run)

    @property
    def requests_sent(self) -> Callable[[], int] | None:
        """This attempt's ConnectWise requests so far (the caller sets it to its client's count)."""
        return self._requests_sent

    @requests_sent.setter
    def requests_sent(self, count: Callable[[], int] | None) -> None:
        self._requests_sent = count
        if count is not None and not self._ticking:
            self._ticking = True
            _TICKER.add(self)

    def _tick(self) -> bool:
        """While the attempt runs, write its ConnectWise requests (and a heartbeat) about once a second whenever more
        were sent: a record that takes its time (a slow ConnectWise, a company and its contacts, a Retry-After) shows
        its requests going out, not "ConnectWise requests 0" until it has its outcome. Nothing is written while no
        request goes (a stalled run still reads "No progress since …"). Called by the process's ticker every
        ``flush_seconds`` until the attempt ends; False once the run is no longer this attempt's running run (it is
        not called again)."""
        count = self._requests_sent
        if self._superseded:
            return False
        if count is None or self._attempt is None:
            return True
        try:
            sent = self._requests_before + int(count())
            if sent == self._requests_written:
                return True
            if not self._write_requests(sent):
                return False
            self._requests_written = sent
        except Exception:  # noqa: BLE001 - a count not shown for a second is no reason to stop the run
            log.warning("run %s: could not write its requests so far", self.run_id, exc_info=True)
        return True

    def _write_requests(self, sent: int) -> bool:
        """Write the requests sent so far (never fewer than written: the attempt's own writes go too) and a
        heartbeat, while the run is this attempt's and running; False when it no longer is."""
        stmt = update(SyncRun).where(
            SyncRun.id == self.run_id, SyncRun.attempts == self._attempt,
            SyncRun.status.in_((RunStatus.RUNNING, RunStatus.CANCELLING))).values(
            api_requests=case((SyncRun.api_requests < sent, sent), else_=SyncRun.api_requests),
            heartbeat_at=utcnow()).returning(SyncRun.status, SyncRun.message, SyncRun.attempts)
        with self._direct.connect() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            return False
        self._saw(row)
        return True

    def _stop_ticker(self) -> None:
        """The attempt ends: no more writes of its requests (its last write says them). Not waited for: a write of the
        ticker's under way that lands after the attempt's last one changes nothing (it is made only to the attempt's running run,
        and never lowers the count)."""
        if self._ticking:
            _TICKER.remove(self)

    def _load(self, run: SyncRun | None = None) -> None:
        """Counts and finished records of the run so far (a resumed or re-attempted run). The counts are the
        run's own, written in the same commit as the items they include (some records have no item of their
        own: see :meth:`tally`); ``run``: its row as just read, else it is read now. A run whose counts are
        empty has no items, so none are read."""
        self._drain()
        if run is None:
            run = self._session.execute(select(SyncRun).where(SyncRun.id == self.run_id)
                                        .execution_options(populate_existing=True)).scalar_one()
        self.counts: Counter = Counter(run.counts or {})
        self.entity_counts: dict[str, Counter] = {e: Counter(c) for e, c in (run.entity_counts or {}).items()}
        self._finished = FinishedKeys()
        self._anonymous = 0
        main = self.selection.get("entity")
        if not main:
            self._anonymous = run.done or 0
        elif self.counts:
            for host_id, cw_id in self._session.execute(select(SyncItem.host_id, SyncItem.cw_id).where(
                    SyncItem.run_id == self.run_id, SyncItem.entity == main)):
                key = _key(main, host_id, cw_id) if self.selection.get("key") != "cw" else _key(main, None, cw_id)
                if key is not None:
                    self._finished.add(key)

    @property
    def done(self) -> int:
        return len(self._finished) + self._anonymous

    @property
    def reached(self) -> int:
        """Records with an outcome of their own: :attr:`done` less those closed "not attempted" (see
        :attr:`SyncRun.reached`)."""
        return max(0, self.done - self.counts.get(NOT_ATTEMPTED, 0))

    def reached_all(self) -> bool:
        """Whether every record the run selected has its outcome (none waits, none left): a request to stop taken
        now comes too late to stop anything. A run without a selection of ids: when it counted its total."""
        if self.deferred:
            return False
        if self.selection.get("entity"):
            return not self.unfinished()
        return bool(self.total) and self.done >= self.total

    # --- lifecycle --------------------------------------------------------------------------

    def start(self, *, with_total: bool = False, nouns: tuple[str, str] = ("record", "records")) -> None:
        """An attempt starts: records left "not attempted" by an earlier attempt are tried again (a resumed run's
        message says how far it got, its records named by ``nouns``: :func:`resumed_message`). ``with_total``:
        the run says its total at once (:meth:`set_total`, before any request to ConnectWise), so its start is
        written with it, or with whatever the recorder writes first (one statement for two). The start is written
        only to a run that was not cancelled (or asked to stop) meanwhile: else :class:`RunCancelled` (from here, or
        from that write), and the attempt ends doing nothing more (a foreground run is not claimed in the queue
        first)."""
        self._drain()
        # The counts were just loaded: without a "not attempted" among them there is nothing to drop.
        dropping = bool(self.counts.get(NOT_ATTEMPTED))
        if dropping:  # dropped now, committed below with the counts without them (at once: set_total reads them)
            dropped = self._session.execute(select(SyncItem.entity, func.count()).where(
                SyncItem.run_id == self.run_id, action_in(NOT_ATTEMPTED)).group_by(SyncItem.entity)).all()
            self._session.execute(delete(SyncItem).where(SyncItem.run_id == self.run_id, action_in(NOT_ATTEMPTED)))
            self._load()
            for entity, n in dropped:
                self.counts[NOT_ATTEMPTED] -= n
                self._of(entity)[NOT_ATTEMPTED] -= n
            if not self.selection.get("entity"):  # done was counted, not read from the items
                self._anonymous = max(0, self._anonymous - sum(n for _, n in dropped))
            self.counts = +self.counts  # drop the zeros
            self.entity_counts = {e: +c for e, c in self.entity_counts.items() if +c}
        now = utcnow()
        values = dict(status=RunStatus.RUNNING, started_at=now, heartbeat_at=now,  # (and one more attempt)
                      finished_at=None, next_try_at=None, waiting_reason="",
                      done=self.done, counts=dict(self.counts),
                      entity_counts={e: dict(c) for e, c in self.entity_counts.items()})
        if self._resumed:  # its message said what the dead attempt did; this one says what this attempt does
            values["message"] = resumed_message(self.done, self.total, nouns)
            self._resumed = False
        self._starting = values
        if not with_total or dropping:
            self._update()

    def set_total(self, total: int, *, entity: str | None = None, ids=None, key: str = "host",
                  direction: str = "export") -> None:
        """How many records the run selected; with ``ids`` (of ``entity``, host or ConnectWise ids by
        ``key``), which ones, so those it never reaches end "not attempted" and Retry offers them."""
        self.total = total
        values: dict = {"total": total}
        if ids is not None and entity is not None:
            self.selection = {"entity": entity, "key": key, "direction": direction, "ids": sorted({int(i) for i in ids})}
            values["selection"] = self.selection
            if self._buffer:
                self.flush()  # what is buffered counts too
            if self.counts:
                self._load()
            else:  # nothing recorded, by this attempt or an earlier one: no item to read
                self._finished, self._anonymous = FinishedKeys(), 0
        self._update(**values)

    def record(self, *, entity: str, direction: str, action: str, host_id: int | None = None,
               cw_id: int | None = None, label: str = "", message: str = "", resolution: str = "",
               advance: bool = True) -> None:
        """One record's outcome. ``advance`` counts it toward done / total (once per record)."""
        self._raise_if_superseded()  # (once taken over, every write of the attempt says so again)
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        self._buffer.append({"run_id": self.run_id, "at": utcnow(), "entity": entity, "direction": direction,
                             "host_id": host_id, "cw_id": cw_id, "label": label[:300], "action": action,
                             "message": message, "resolution": resolution})
        self.counts[action] += 1
        self._of(entity)[action] += 1
        if advance:
            self._finish(entity, host_id, cw_id)
            if action != "failed":
                self.streak = 0
        self._flush_if_due()

    def record_all(self, *, entity: str, direction: str, action: str,
                   records: Iterable[tuple[int | None, int | None, str, str]]) -> None:
        """Outcomes of one kind for many records at once, each ``(host_id, cw_id, label, message)``, as
        :meth:`record` would write them one by one (``advance``: each counts toward done), at one time: a page of
        an import's unchanged companies, a thousand of them, without a thousand calls' bookkeeping."""
        self._raise_if_superseded()
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        common = {"run_id": self.run_id, "at": utcnow(), "entity": entity, "direction": direction, "action": action,
                  "resolution": ""}
        n = 0
        for host_id, cw_id, label, message in records:
            self._buffer.append({**common, "host_id": host_id, "cw_id": cw_id, "label": label[:300],
                                 "message": message})
            self._finish(entity, host_id, cw_id)
            n += 1
        if not n:
            return
        self.counts[action] += n
        self._of(entity)[action] += n
        if action != "failed":
            self.streak = 0
        self._flush_if_due()

    def _finish(self, entity: str, host_id: int | None, cw_id: int | None) -> None:
        """A record has its outcome: it counts toward done (once), and no longer waits for a later pass."""
        key = self._record_key(entity, host_id, cw_id)
        if key is None:
            self._anonymous += 1
        else:
            self._finished.add(key)
            self.deferred.pop(key, None)

    def _flush_if_due(self) -> None:
        """Write the results behind the run when a batch is full, a run of several records has its first result, or
        a while has passed since the last write."""
        if (len(self._buffer) >= self.flush_every or (not self._results_written and (self.total or 0) > 1)
                or time.monotonic() - self._last_flush >= self.flush_seconds):
            self.flush(_behind=True)

    def tally(self, entity: str, action: str, n: int) -> None:
        """Count ``n`` records of ``entity`` whose outcome another record's result states (an unchanged
        company's contacts): in the run's counts, without a result of their own."""
        if n:
            self.counts[action] += n
            self._of(entity)[action] += n

    def _of(self, entity: str) -> Counter:
        """The counts of one kind of record (made when first needed: not a new Counter per record)."""
        counts = self.entity_counts.get(entity)
        if counts is None:
            counts = self.entity_counts[entity] = Counter()
        return counts

    def _record_key(self, entity: str, host_id: int | None, cw_id: int | None) -> tuple | None:
        if self.selection.get("key") == "cw" and entity == self.selection.get("entity"):
            return _key(entity, None, cw_id)
        return _key(entity, host_id, cw_id)

    def advance(self, n: int = 1) -> None:
        self._anonymous += n
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush(_behind=True)

    def defer(self, *, entity: str, key: int, label: str, error: ConnectWiseError,
              from_connectwise: bool | None = None) -> None:
        """A record failed transiently: it is tried again later in this run (not counted as done).

        After ``unreachable_after`` records in a row failed so, ConnectWise is taken as unreachable:
        :class:`Unreachable` stops the pass, and the whole run waits instead of trying record by record.
        A record that waits for something else does not count toward that: ``from_connectwise`` False, which is the
        default for a wait of colcw's own (:class:`~.waits.ColcwWait`: another export holds it, …).
        """
        rkey = (entity, "cw" if self.selection.get("key") == "cw" else "host", int(key))
        self.deferred[rkey] = Deferred(entity, int(key), label, error)
        if from_connectwise is None:
            from_connectwise = not isinstance(error, ColcwWait)
        if not from_connectwise:
            return
        self.streak += 1
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush(_behind=True)
        if self.unreachable_after and self.streak >= self.unreachable_after:
            raise Unreachable(error, self.streak)

    def is_finished(self, entity: str, key: int) -> bool:
        kind = "cw" if self.selection.get("key") == "cw" and entity == self.selection.get("entity") else "host"
        return (entity, kind, int(key)) in self._finished

    def note_retry_wait(self, error: ConnectWiseError, seconds: float) -> Callable[[], bool]:
        """The client pauses between two tries of a request: show it until the next record's outcome, the reason
        ending in :data:`RETRYING_REQUEST` and when the request is sent again kept (``next_try_at``, naive UTC), not
        written into the reason: the pages say that time in their zone (:func:`.history.state_text`,
        :meth:`~colcw_plugin.models.SyncRun.wait_text_in`) whatever is written to the run meanwhile. Answers what the
        pause asks as it goes whether to give up (:meth:`stop_requested`): a run asked to stop does not sleep out a
        long Retry-After first; the request then fails as when its tries run out."""
        # A dropped connection or a timeout is no answer of ConnectWise's: said as what happened (why_not_done).
        what = "ConnectWise is rate-limiting colcw" if getattr(error, "status", None) == 429 else \
            f"ConnectWise answered HTTP {error.status}" if error.status else error.why_not_done
        self.note_wait(f"{what}{RETRYING_REQUEST}", utcnow() + dt.timedelta(seconds=max(seconds, 0)))
        self._retry_noted = True
        return self.stop_requested

    def note_wait(self, reason: str, until: dt.datetime | None = None) -> None:
        """Say why the run waits now (shown on its pages while it is active); "" when it goes on. ``until``: when
        it goes on (naive UTC), for a reason ending in "trying them again": its pages add " at <time>" in their own
        zone (:meth:`~colcw_plugin.models.SyncRun.wait_text_in`). Safe from any thread (it writes on a connection
        of its own). A :class:`LockWait` of a run resumed after its worker stopped answering, while no other run works,
        can only be that worker's: it is said so (:func:`earlier_attempt_text`)."""
        lock_wait = isinstance(reason, LockWait)
        if lock_wait and self._interruptions and not self._others_running():
            reason = earlier_attempt_text(reason)
        with Session(bind=self.engine) as session:
            row = session.execute(update(SyncRun).where(SyncRun.id == self.run_id).values(
                waiting_reason=reason[:2000], next_try_at=until, heartbeat_at=utcnow())
                .returning(SyncRun.status, SyncRun.message)).first()
            session.commit()
        self._gone_unless(row)
        self._saw(row)
        # A lock another export holds is mostly held a moment (twenty clicks on one customer): the click keeps
        # waiting for it, up to its own limit, and is told only of ConnectWise making the run wait.
        if reason and self.on_wait is not None and not lock_wait:
            self.on_wait()

    def _others_running(self) -> bool:
        """Whether an attempt of another run works now (running, or stopping): only such an attempt holds records."""
        with self._direct.connect() as conn:
            return conn.execute(select(SyncRun.id).where(
                SyncRun.id != self.run_id, SyncRun.status.in_((RunStatus.RUNNING, RunStatus.CANCELLING))).limit(1)
            ).first() is not None

    # --- an admin's request to stop -----------------------------------------------------------

    def stop_requested(self) -> bool:
        """Whether an admin asked the run to stop. Known from the recorder's writes; after a second without one,
        looked up (one small read). Safe from any thread (a look reads on a connection of its own). A run whose login
        ConnectWise refused stops too (:class:`LoginRefused`)."""
        if self._refused() is not None:
            return True
        if (self._stop_request is None and not self._superseded
                and time.monotonic() - max(self._last_flush, self._looked) >= self.flush_seconds):
            self._look()
        return self._stop_request is not None or self._superseded

    def stop_if_requested(self) -> None:
        """Raise :class:`RunStopped` if an admin asked the run to stop. Call it only where stopping leaves nothing
        half-written: what the run did so far committed (host writes with their links, ConnectWise records with
        their ids) and its outcomes recorded.

        A request found once every record the run selected has its outcome (:meth:`reached_all`: a service that
        looks after its last record or page) stops nothing: the service goes on to its end and returns its own
        message, and the run closes with its own status, saying the cancel came after its last record
        (:meth:`finish`'s ``late_cancel``) — rather than losing what the service would have said."""
        asked = self.stop_requested()
        self._raise_if_superseded()
        if asked and not self.reached_all():
            raise self._stopped()

    def _refused(self) -> ConnectWiseError | None:
        return self.login_refused() if self.login_refused is not None else None

    def _stopped(self) -> RunStopped:
        """What stops the run: ConnectWise refusing its login, or an admin's request."""
        refused = self._refused()
        return LoginRefused(refused) if refused is not None else RunStopped(self._stop_request or "")

    def stopped_waiting(self) -> RunStopped:
        """What ends a run whose wait for a lock was cut short (:class:`~..shared.locks.Stopped`: this recorder said
        the run was asked to stop): its :class:`RunStopped`, to raise where the wait was (a record waited, so the
        request is not a late one). :class:`Superseded` is raised at once."""
        self._raise_if_superseded()
        return self._stopped()

    def _raise_if_superseded(self) -> None:
        if not self._superseded:
            return
        if self._session.in_transaction():  # (the attempt ends here: nothing of its is left open)
            self._session.rollback()
        if self._gone:
            raise RunGone(f"run #{self.run_id} no longer exists (deleted by a reset); attempt {self._attempt} stops")
        raise Superseded(f"run #{self.run_id}: a later attempt took it over; attempt {self._attempt} stops")

    def _owned_elsewhere(self) -> bool:
        """After a write of the run's row matched nothing: whether a later attempt took the run over (read now)."""
        if self._attempt is None:
            return False
        self._look()
        return self._superseded

    def _look(self) -> None:
        self._looked = time.monotonic()
        with self._direct.connect() as conn:
            row = conn.execute(select(SyncRun.status, SyncRun.message, SyncRun.attempts)
                               .where(SyncRun.id == self.run_id)).first()
        self._gone_unless(row)
        self._saw(row)

    def _gone_unless(self, row) -> None:
        """A read of the run's row (or a write of it not limited to this attempt) found none: the row is gone, once
        this attempt's start was written (:class:`RunGone` from then on)."""
        if row is None and self._attempt is not None:
            self._superseded = self._gone = True

    def _saw(self, row) -> None:
        """The run's status and message as a statement just read or wrote them."""
        if row is None:
            return
        self._looked = time.monotonic()
        if row[0] == RunStatus.CANCELLING and self._stop_request is None:
            self._stop_request = row[1] or ""
        if self._attempt is not None and len(row) > 2 and row[2] != self._attempt:
            self._superseded = True

    def flush(self, _returning: bool = False, _behind: bool = False, _unless_stopping: bool = False, **extra) -> None:
        """Write buffered results, progress and a heartbeat (``_returning``: keep the row written in :attr:`row`).
        Written when it returns, unless ``_behind`` (the recorder's own batching, as a run goes on).
        ``_unless_stopping``: the run's row is written only if no admin asked it to stop, else :class:`RunStopped`
        (the results are written all the same)."""
        self._raise_if_superseded()
        self._drain()  # the batch written behind first: refused, its results are buffered again, before these
        if self._unsure is not None and self._landed():
            del self._buffer[:self._unsure[0]]  # written after all: not twice
        self._unsure = None
        if self._retry_noted and self._buffer and "waiting_reason" not in extra:
            extra["waiting_reason"] = ""  # records moved on: the client's pause is over
            extra.setdefault("next_try_at", None)  # (and its time with it)
            self._retry_noted = False
        items, self._buffer = self._buffer, []
        self._results_written = self._results_written or bool(items)
        values = {"done": self.done, "counts": dict(self.counts),
                  "entity_counts": {e: dict(c) for e, c in self.entity_counts.items()}, "heartbeat_at": utcnow()}
        if self.requests_sent is not None:
            values["api_requests"] = self._requests_before + self.requests_sent()
        try:
            if (_behind and len(items) > 1 and not _returning and not extra and self._starting is None
                    and self.engine.dialect.name == "postgresql"):
                self._write_behind(items, values)
            else:
                self._update(_returning=_returning, _items=items, _unless_stopping=_unless_stopping,
                             **{**values, **extra})
        except DBAPIError as e:
            if unavailable(e):  # the database refused or dropped the write: its results go with the next one
                self._rebuffer(items, values["counts"])
            raise
        self._last_flush = time.monotonic()

    def _rebuffer(self, items: list[dict], counts: dict) -> None:
        """A write of ``items`` (and of the run's ``counts`` with them) that the database refused or dropped: they go
        back to the buffer's front, for the next write, which first looks whether this one landed after all
        (:meth:`_landed`)."""
        if items:
            self._buffer[:0] = items
            self._unsure = (len(items), counts)

    def _landed(self) -> bool:
        """Whether the write of results the database refused or dropped (:attr:`_unsure`) was carried out after all:
        a connection dropped after PostgreSQL committed it, before its answer came. The run's counts tell (one read,
        only after such a failure): that write's own counts, which only its results could have made (every result
        adds one to them, and the write before it wrote fewer), mean it landed. Refused again, the error is raised,
        the results still held for the next write."""
        n, counts = self._unsure
        try:
            written = self._session.execute(select(SyncRun.counts).where(SyncRun.id == self.run_id)).scalar()
        except DBAPIError as e:
            if unavailable(e):
                self.rollback()
            raise
        if written == counts:
            log.warning("sync run %s: %s written as the database's connection dropped were written after all; not "
                        "written again", self.run_id, plural(n, "result", "results"))
            return True
        return False

    # --- the end ----------------------------------------------------------------------------

    def unfinished(self) -> list[int]:
        """Selected records without an outcome yet."""
        entity, kind = self.selection.get("entity"), self.selection.get("key", "host")
        if not entity:
            return []
        return [i for i in self.selection.get("ids", []) if (entity, kind, int(i)) not in self._finished]

    def unreached_labels(self, session: Session,
                         record_labels: Callable[[Session, list[int]], dict[int, str]] | None) -> dict[int, str]:
        """Names of the selected records still without an outcome, for :meth:`close_unattempted`, when the run's kind
        can say them (its ``record_labels``, one statement); none when it cannot or they could not be read."""
        left = self.unfinished()
        if not left or record_labels is None:
            return {}
        try:
            return record_labels(session, left)
        except Exception:  # noqa: BLE001 - names are a nicety; the outcome must be recorded anyway
            log.warning("could not name the records of run %s", self.run_id, exc_info=True)
            session.rollback()
            return {}

    def close_unattempted(self, why: str, resolution: str, labels: dict[int, str] | None = None) -> int:
        """Record every selected record still without an outcome as not attempted, saying why; ``labels`` name them
        (:meth:`unreached_labels`), else each is "<entity> #<id>"."""
        entity, kind = self.selection.get("entity"), self.selection.get("key", "host")
        left = self.unfinished()
        for i in left:
            deferred = self.deferred.get((entity, kind, i))
            label = (deferred.label if deferred else "") or (labels or {}).get(i) or f"{entity} #{i}"
            # A deferred record was tried and failed transiently: it says so, with what its last try met (without the
            # error's hint: the resolution says what to do). The others were not reached: their message says only why,
            # since their outcome ("not attempted") is shown beside it wherever it is (the run log's and the customer
            # panel's badge, the CSV's action, the export page's "Not exported."), which read "not attempted … :
            # not attempted: ConnectWise answered…".
            answer = getattr(deferred.error, "detail", str(deferred.error)).rstrip(".") if deferred else ""
            what = f"tried, {NOT_DONE}: {why} ({answer})" if deferred else why
            self.record(entity=entity, direction=self.selection.get("direction", "export"), action=NOT_ATTEMPTED,
                        host_id=i if kind == "host" else None, cw_id=i if kind == "cw" else None, label=label,
                        message=f"{label}: {what}.", resolution=resolution)
        self.deferred.clear()
        return len(left)

    def own_status(self) -> str:
        """The status the run's results give it: succeeded, partly failed (some records failed or were not
        attempted, others went through) or failed."""
        failed = self.counts.get("failed", 0) + self.counts.get(NOT_ATTEMPTED, 0)
        ok = sum(v for k, v in self.counts.items() if k in OK_ACTIONS)
        return RunStatus.SUCCEEDED if not failed else (RunStatus.PARTIAL if ok else RunStatus.FAILED)

    def finish(self, *, message: str = "", status: str | None = None, api_requests: int = 0,
               late_cancel: bool = False) -> str:
        """Close the run; the status follows from the results unless given (failed, saying why, when a batch
        of results written behind it could not be written). ``late_cancel``: the run did all it had to, so an
        admin's request to stop found in the run's row (status cancelling) came too late: it closes with its own
        status all the same, its message saying so (:func:`~colcw_plugin.models.late_cancel_note`)."""
        self._stop_ticker()
        lost = self._lost_batch()
        if lost:
            status, message = RunStatus.FAILED, lost
        if status is None:
            status = self.own_status()
        values = dict(status=status, finished_at=utcnow(), message=message,
                      api_requests=self._requests_before + api_requests, waiting_reason="", next_try_at=None,
                      give_up_at=None)
        if late_cancel and not lost:
            try:  # written unless an admin asked it to stop meanwhile (one statement: no window between)
                self.flush(_returning=True, _unless_stopping=True, **values)
            except RunStopped as e:
                values["message"] = with_note(message, late_cancel_note(stop_requested_by(e.request)))
                self.flush(_returning=True, **values)
        else:
            self.flush(_returning=True, **values)
        self._session.close()
        return status

    def wait(self, *, reason: str, next_try_at, give_up_at, api_requests: int = 0, message: str = "") -> None:
        """End this attempt: the run waits (status waiting) until ``next_try_at`` (or fails, as :meth:`finish`
        says, when a batch of its results could not be written). A run an admin asked to stop does not wait:
        :class:`RunStopped` (its results written), so no later attempt starts it again."""
        self._stop_ticker()
        lost = self._lost_batch()
        if lost:
            self.finish(status=RunStatus.FAILED, message=lost, api_requests=api_requests)
            return
        self.flush(status=RunStatus.WAITING, waiting_reason=reason, next_try_at=next_try_at, give_up_at=give_up_at,
                   api_requests=self._requests_before + api_requests, message=message, _returning=True,
                   _unless_stopping=True)
        self._session.close()

    # --- resume -----------------------------------------------------------------------------

    def completed_keys(self, entity: str) -> tuple[set[int], set[int]]:
        """Host ids and ConnectWise ids this run already finished (any outcome but "not attempted"): a
        resumed or re-attempted run skips them."""
        self.flush()  # written when it returns (nothing left behind)
        rows = self._session.execute(select(SyncItem.host_id, SyncItem.cw_id).where(
            SyncItem.run_id == self.run_id, SyncItem.entity == entity, SyncItem.action != NOT_ATTEMPTED)).all()
        return {h for h, _ in rows if h is not None}, {c for _, c in rows if c is not None}

    # --- internals --------------------------------------------------------------------------

    def _update(self, _returning: bool = False, _items: list[dict] | None = None, _unless_stopping: bool = False,
                **values) -> None:
        """:meth:`_write`; refused or dropped by the database (:mod:`.database`), it wrote nothing: the start's values
        it took are kept for the next write, and the session's failed transaction is rolled back (it held reads only)
        so that write can be made."""
        starting = self._starting
        try:
            self._write(_returning=_returning, _items=_items, _unless_stopping=_unless_stopping, **values)
        except DBAPIError as e:
            if not unavailable(e):
                raise
            self.rollback()
            if starting and self._attempt is None:  # (its own write, when results came with it, did not take it)
                self._starting = starting
            raise

    def rollback(self) -> None:
        """After colcw's database refused or dropped a connection (:mod:`.database`): what the recorder's session held
        open goes (reads only: every write of the recorder commits at once), so its next write can be made."""
        if self._session.in_transaction():
            self._session.rollback()

    def _write(self, _returning: bool = False, _items: list[dict] | None = None, _unless_stopping: bool = False,
               **values) -> None:
        """Write ``_items`` (results) and ``values`` (the run's row) and commit; ``_returning``: keep the row as
        written in :attr:`row` (detached, every column loaded), so the caller need not read it back.

        With something of this session's in its transaction (results inserted, records dropped, rows read)
        it commits with them, in one transaction. Alone, it is one statement in autocommit: no BEGIN and
        COMMIT round trips, and the same outcome (a single statement is atomic on its own). On PostgreSQL one
        result (a run of one document) goes in that statement too (``WITH … INSERT … UPDATE``: still one
        statement, so the result and the counts that include it commit together); several go by ``COPY``
        with the update, in a transaction (one INSERT of several rows would be compiled anew each time, and
        several INSERTs in a WITH run in no set order: the results' order is the run log's). Every write reads the
        run's status back (an admin's request to stop: :meth:`stop_requested`)."""
        self._drain()
        starting = self._started()
        if starting and _items:  # the start alone first (below): a run cancelled meanwhile gets no result
            self._starting = starting
            self._update()
            starting = {}
        values = {**starting, **values}
        guarded = not starting and self._attempt is not None  # only while no later attempt took the run over
        item = None
        if _items:
            if self.engine.dialect.name == "postgresql" and len(_items) == 1:
                item = _items[0]
            else:
                self._insert_items(_items)
        stmt, params = _run_update(self.run_id, self._attempt if guarded else None, values, starting=bool(starting),
                                   unless_stopping=_unless_stopping, item=item,
                                   item_guarded=not starting and self._attempt is not None, whole=_returning)
        if self._session.in_transaction():
            row = self._session.execute(stmt, params).first()
            if starting and row is None:
                self._session.rollback()  # what the start dropped with it stays
                raise RunCancelled(f"run #{self.run_id} was cancelled before it started")
            if row is None and self._owned_elsewhere():
                self._session.rollback()  # a superseded attempt's results are not the run's
                self._raise_if_superseded()
            self._own_start(starting, row, _returning)
            self._session.commit()  # the results, also when the run's row was not written (it stops)
            if _returning:
                self.row = _detached_run(row) if row is not None else None
            else:
                self._saw(row)
            self._stopped_unless(_unless_stopping and row is None)
            return
        if not _returning:
            with self._direct.connect() as conn:
                row = conn.execute(stmt, params).first()
            if starting and row is None:
                raise RunCancelled(f"run #{self.run_id} was cancelled before it started")
            if row is None and self._owned_elsewhere():
                self._raise_if_superseded()
            self._own_start(starting, row, False)
            self._saw(row)
            self._stopped_unless(_unless_stopping and row is None)
            return
        with self._direct.connect() as conn:
            row = conn.execute(stmt, params).first()
        self.row = _detached_run(row) if row is not None else None
        if starting and self.row is None:
            raise RunCancelled(f"run #{self.run_id} was cancelled before it started")
        if self.row is None and self._owned_elsewhere():
            self._raise_if_superseded()
        self._own_start(starting, self.row, True)
        self._stopped_unless(_unless_stopping and self.row is None)

    def _insert_items(self, items: list[dict]) -> None:
        """Insert results in this session's transaction. Refused (their run's row is gone: the foreign key), the
        transaction is rolled back at once and the attempt stops (:class:`RunGone`) rather than fail with the
        database's error, holding its transaction open."""
        try:
            insert_rows(self._session, SyncItem.__table__, items, ids=False)
        except Exception:
            self._session.rollback()
            if self._attempt is not None:
                self._look()
            self._raise_if_superseded()
            raise

    def _own_start(self, starting: dict, row, whole: bool) -> None:
        """The write that took the attempt's start wrote its number (``attempts``): later writes are made for it."""
        if starting and row is not None:
            self._attempt = row.attempts if whole else row[2]

    def _stopped_unless(self, refused: bool) -> None:
        """A write made only unless an admin asked the run to stop was refused: :class:`RunStopped`."""
        if refused:
            self._look()
            raise RunStopped(self._stop_request or "")

    def close(self) -> None:
        """The attempt ends without a last write (its run was cancelled before it started)."""
        self._stop_ticker()
        self._drain()
        self._starting = None
        self._session.close()

    def _started(self) -> dict:
        """The start's values not written yet (see :meth:`start`), once: the write that takes them writes them."""
        values, self._starting = self._starting or {}, None
        return values

    def _write_behind(self, items: list[dict], values: dict) -> None:
        """Write ``items`` and the run's progress ``values`` in one transaction on a thread of their own (the
        batch before is waited for first); a failure is raised by the next write or read (:meth:`_drain`)."""
        self._drain()
        if self._session.in_transaction():  # reads only (every write of this session commits at once)
            self._session.commit()
        failed: list[BaseException] = []

        def write() -> None:
            try:
                with Session(bind=self.engine) as session:
                    insert_rows(session, SyncItem.__table__, items, ids=False)
                    stmt = update(SyncRun).where(SyncRun.id == self.run_id).values(**values)
                    if self._attempt is not None:  # only while no later attempt took the run over
                        stmt = stmt.where(SyncRun.attempts == self._attempt)
                    row = session.execute(stmt.returning(SyncRun.status, SyncRun.message, SyncRun.attempts)).first()
                    if row is None and self._attempt is not None:
                        session.rollback()  # a superseded attempt's results are not the run's
                        failed.append(Superseded(f"run #{self.run_id}: a later attempt took it over; attempt "
                                                 f"{self._attempt} stops"))
                        self._superseded = True
                        return
                    session.commit()
                self._saw(row)
            except BaseException as e:  # noqa: BLE001 - handed to the run's own thread by _drain
                failed.append(self._gone_error(e))

        thread = threading.Thread(target=write, name=f"colcw-run-{self.run_id}-results", daemon=True)
        thread.start()
        self._behind = (thread, failed, items, values["counts"])

    def _gone_error(self, error: BaseException) -> BaseException:
        """What a batch written behind that failed raises: :class:`RunGone` when the run's row is gone (its results
        refused for it), else its own error."""
        if isinstance(error, Exception) and self._attempt is not None:
            try:
                self._look()
            except Exception:  # noqa: BLE001 - the batch's own error says more
                return error
            if self._gone:
                return RunGone(f"run #{self.run_id} no longer exists (deleted by a reset); attempt {self._attempt} "
                               "stops")
        return error

    def _lost_batch(self) -> str:
        """Wait for the batch written behind; what stopped it, as the run's message ("" when it was written, or when
        the database refused or dropped it: its results are then buffered again for the next write)."""
        try:
            self._drain()
        except Superseded:
            raise  # not this attempt's run any more: it writes nothing, its message neither
        except Exception as e:  # noqa: BLE001 - the run ends saying so (an unexpected error, as runs.py says it)
            if unavailable(e):
                return ""  # (buffered again by _drain: the next write takes them)
            log.error("sync run %s: results could not be written", self.run_id, exc_info=True)
            return f"Unexpected error: {type(e).__name__}: {e}"
        return ""

    def _drain(self) -> None:
        """Wait for the batch written behind, if any; raise what stopped it. Refused or dropped by the database
        (:mod:`.database`), the batch wrote nothing (one transaction): its results are buffered again, first."""
        if self._behind is None:
            return
        thread, failed, items, counts = self._behind
        self._behind = None
        thread.join()
        if failed:
            if unavailable(failed[0]):
                self._rebuffer(items, counts)
            raise failed[0]


def with_note(message: str, note: str) -> str:
    """``message`` followed by the sentence ``note``."""
    message = message.strip()
    if message and not message.endswith((".", "!", "?")):
        message += "."
    return f"{message} {note}".strip()


def close_cancelled(recorder: RunRecorder, who: str, *, was: str = "running", labels: dict[int, str] | None = None,
                    api_requests: int = 0, note: str = "", nouns: tuple[str, str] = ("record", "records")) -> None:
    """Close a run an admin cancelled: its message says who and how far it got ("Cancelled by … while running
    (1,234 of 40,000 customers done; 38,766 not done)."; ``nouns``: what its records are, as its kind names them,
    :func:`.kinds.selected_nouns`), and the selected records it did not reach end "not attempted" with why."""
    message = cancelled_message(who, was, recorder.reached, recorder.total,
                                listed=bool(recorder.selection.get("ids")), nouns=nouns) + note
    recorder.close_unattempted(f"the run was cancelled by {who}", RETRY_FIX, labels)
    recorder.finish(status=RunStatus.CANCELLED, message=message, api_requests=api_requests)


def describe_counts(counts: dict) -> str:
    return summarize_counts({}, counts)


def describe_recorder(recorder: RunRecorder) -> str:
    """The run's counts per kind of record (customers and contacts apart, documents and lines apart)."""
    return summarize_counts({e: dict(c) for e, c in recorder.entity_counts.items()}, dict(recorder.counts))
