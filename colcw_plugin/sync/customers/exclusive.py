"""One export of a customer, and one import of a company, at a time — across every web process and worker.

The services take these locks themselves (:mod:`..shared.locks`): an export holds its customers'
locks while it reads and writes them (a bulk run, a chunk at a time), an import its companies'. So a
customer and its contacts are written by one export at a time, and the second export reads what the
first wrote: one company, each contact once.

A rep's click must not queue up behind another export of the same record, nor start a second one:
:func:`exporting_customer` and :func:`importing_company` only *try* the lock (the run they start takes
it again for free, in the same thread) and otherwise raise :class:`AlreadyRunning` with the run that
holds the record, for the page to say "already being exported — here is its progress".
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.models import Customer

from ...models import ACTIVE_RUN_STATUSES, CUSTOMER, RunStatus, Settings, SyncItem, SyncRun, get_link
from ...setup.reps import who_acts
from ..jobs.ranges import resolve
from ..jobs.recorder import NOT_ATTEMPTED, LockWait
from ..jobs.runs import run_actor
from ..jobs.waits import ColcwWait
from ..shared.link_locks import export_lock_key, import_lock_key
from ..shared.locks import LOCK_WAIT_SECONDS, Busy, advisory_locks, lock_key

EXPORT_KIND, IMPORT_KIND = "customer_export", "customer_import"
EXPORT_BUSY = "Another export of this customer was still running after two minutes, so it was not exported now."
IMPORT_BUSY = "Another import of this company was still running after two minutes, so it was not imported now."
BULK_WAIT_SECONDS: float = LOCK_WAIT_SECONDS  # how long a bulk run waits for another export's records
# What becomes of records still held after that wait (exporter._chunk, importer: deferred, HeldElsewhere).
HELD_THEN = "those still held wait for a later pass of this run"
RUN_APPEARS_SECONDS = 2.0  # how long a click waits for the run holding the record to be recorded


class HeldElsewhere(ColcwWait):
    """Not an answer of ConnectWise: another export (or import) still held the record after the wait.
    Transient like a 503: the run tries the record again later instead of failing it. A wait of colcw's own
    (:mod:`..jobs.waits`): a run that gives up on it says colcw held it back, never that ConnectWise did not answer."""

    why_not_done = "another export or import of it was still running"


class AlreadyRunning(Exception):
    """The record is being exported (or imported) by ``run`` (None: its run is not recorded yet)."""

    def __init__(self, run: SyncRun | None):
        super().__init__(f"already running as run #{run.id}" if run else "already running")
        self.run = run


def waiting_text(session: Session, customer_ids: list[int]) -> str:
    """What a run shows while another export holds some of its customers."""
    if len(customer_ids) == 1:
        name = session.execute(select(Customer.name).where(Customer.id == customer_ids[0])).scalar()
        session.rollback()
        what = name or f"customer {customer_ids[0]}"
    else:
        what = f"some of these {len(customer_ids)} customers"
    return LockWait(f"Waiting for another export of {what} to finish (one export of a customer runs at a time)",
                    what=what, seconds=BULK_WAIT_SECONDS, then=HELD_THEN)


def import_waiting_text(records: list[dict]) -> str:
    """What a run shows while another import holds some of its companies."""
    what = records[0].get("name") or f"company {records[0]['id']}" if len(records) == 1 else \
        f"some of these {len(records)} companies"
    return LockWait(f"Waiting for another import of {what} to finish (one import of a company runs at a time)",
                    what=what, seconds=BULK_WAIT_SECONDS, then=HELD_THEN)


def customer_keys(customer_ids: Iterable[int]) -> list[int]:
    return [export_lock_key(i) for i in customer_ids]


def company_keys(company_ids: Iterable[int]) -> list[int]:
    return [import_lock_key(i) for i in company_ids]


def customers_locked(session: Session, customer_ids: Iterable[int], *, wait_seconds: float | None = None,
                     should_stop: Callable[[], bool] | None = None):
    """Hold the export locks of these customers (a bulk run's chunk); :class:`Busy` after the wait,
    :class:`Stopped` when ``should_stop`` (the run's recorder's ``stop_requested``) ends it first."""
    return advisory_locks(session.get_bind(), customer_keys(customer_ids), EXPORT_BUSY,
                          BULK_WAIT_SECONDS if wait_seconds is None else wait_seconds, should_stop=should_stop)


def companies_locked(session: Session, company_ids: Iterable[int], *, wait_seconds: float | None = None,
                     should_stop: Callable[[], bool] | None = None):
    """Hold the import locks of these ConnectWise companies (a bulk import's page); see :func:`customers_locked`."""
    return advisory_locks(session.get_bind(), company_keys(company_ids), IMPORT_BUSY,
                          BULK_WAIT_SECONDS if wait_seconds is None else wait_seconds, should_stop=should_stop)


def _typed_key(ident: str) -> int:
    return lock_key("colcw-company-import", ident.strip().casefold())


def _exports_customer(customer_id: int) -> Callable[[dict], bool]:
    def selects(params: dict) -> bool:
        if params.get("customer_id") is not None:
            return int(params["customer_id"]) == customer_id
        if params.get("customer_ids") is not None:
            return customer_id in {int(i) for i in params["customer_ids"]}
        return bool(params.get("range") or params.get("all"))
    return selects


def _imports_company(ident: str) -> Callable[[dict], bool]:
    wanted = ident.strip().casefold()
    return lambda params: str(params.get("company") or "").strip().casefold() == wanted


def active_run(session: Session, kind: str, selects: Callable[[dict], bool]) -> SyncRun | None:
    """The queued or running run of ``kind`` whose params select the record (single-record runs first)."""
    runs = session.execute(select(SyncRun).where(SyncRun.kind == kind, SyncRun.status.in_(ACTIVE_RUN_STATUSES))
                           .order_by(SyncRun.id.desc())).scalars().all()
    mine = [r for r in runs if selects(dict(r.params or {}))]
    single = [r for r in mine if "customer_id" in (r.params or {}) or "company" in (r.params or {})]
    return (single or mine or [None])[0]


def _in_range(session: Session, customer_id: int, spec: dict) -> bool:
    """Whether a date-range export (``{"range": …}``) selects the customer as it would if it started now."""
    try:
        span = resolve(spec.get("preset", ""), spec.get("start"), spec.get("end"))
    except ValueError:
        return False
    column = Customer.created_at if spec.get("field") == "created" else Customer.updated_at
    at = session.execute(select(column).where(Customer.id == customer_id)).scalar()
    return at is not None and span.start <= at < span.end


def covering_run(session: Session, customer_id: int) -> SyncRun | None:
    """The queued, running or waiting export that still exports the customer: its own (a click's, ``customer_id``),
    else a bulk one whose ``customer_ids``, ``all`` or date range (as it selects now) include it and that has not
    recorded the customer's result yet (one that has is past it: the customer's changes since are a new export's).
    Of the bulk ones, one running (or waiting to retry) first, else the oldest queued (the first a worker takes)."""
    runs = session.execute(select(SyncRun).where(SyncRun.kind == EXPORT_KIND,
                                                 SyncRun.status.in_(ACTIVE_RUN_STATUSES))
                           .order_by(SyncRun.id)).scalars().all()
    own = [r for r in runs if (r.params or {}).get("customer_id") is not None]
    mine = [r for r in own if int(r.params["customer_id"]) == customer_id]
    if mine:
        return mine[-1]
    bulk = []
    for run in runs:
        params = dict(run.params or {})
        if params.get("customer_id") is not None:
            continue
        if params.get("customer_ids") is not None:
            selects = customer_id in {int(i) for i in params["customer_ids"]}
        elif params.get("range"):
            selects = _in_range(session, customer_id, dict(params["range"]))
        else:
            selects = bool(params.get("all"))
        if selects:
            bulk.append(run)
    if not bulk:
        return None
    done = set(session.execute(select(SyncItem.run_id).where(
        SyncItem.run_id.in_([r.id for r in bulk]), SyncItem.entity == CUSTOMER, SyncItem.host_id == customer_id,
        SyncItem.action != NOT_ATTEMPTED)).scalars())
    ahead = [r for r in bulk if r.id not in done]
    ahead.sort(key=lambda r: (r.status == RunStatus.QUEUED, r.id))
    return ahead[0] if ahead else None


def acts_as_one(session: Session, settings: Settings, run: SyncRun, actor: dict | None, customer_id: int) -> bool:
    """The bulk ``run`` still to reach the customer exports it as the click of ``actor`` would: the customer is linked
    (an update sets no member), or a new company would get the same ConnectWise member from either (the store's
    default rep, or with "assign to the logged-in sales rep" the two people mapped alike). Only then may a rep's click
    leave the customer to that run: else the company would go to the member of whoever started the bulk export."""
    if get_link(session, CUSTOMER, customer_id) is not None:
        return True

    def member(who: dict | None) -> int | None:
        mapping = who_acts(session, settings, who).mapping
        return mapping.member_id if mapping is not None else None
    return member(run_actor(run)) == member(actor)


def _holder(session: Session, kind: str, selects: Callable[[dict], bool]) -> SyncRun | None:
    # The holder takes the lock, then records its run: give it a moment to appear.
    deadline = time.monotonic() + RUN_APPEARS_SECONDS
    while True:
        session.rollback()  # a fresh snapshot each look
        run = active_run(session, kind, selects)
        if run is not None or time.monotonic() >= deadline:
            return run
        time.sleep(0.1)


@contextmanager
def _try(session: Session, keys: list[int], kind: str, selects: Callable[[dict], bool]) -> Iterator[None]:
    # Give the session's connection back first: twenty clicks each holding one connection while waiting for
    # a second (the lock's) would exhaust the pool and wait on each other.
    session.rollback()
    with ExitStack() as stack:
        try:
            stack.enter_context(advisory_locks(session.get_bind(), keys, "busy", wait_seconds=0))
        except Busy:
            raise AlreadyRunning(_holder(session, kind, selects)) from None
        yield


def exporting_customer(session: Session, customer_id: int):
    """Hold the customer's export lock while a rep's export runs, or raise :class:`AlreadyRunning` at once."""
    return _try(session, customer_keys([customer_id]), EXPORT_KIND, _exports_customer(customer_id))


def importing_company(session: Session, ident: str):
    """Hold the lock on a typed Company ID while a rep's import runs, or raise :class:`AlreadyRunning` at once."""
    return _try(session, [_typed_key(ident)], IMPORT_KIND, _imports_company(ident))


IMPORTED = ("created", "updated", "unchanged")  # a company import's results that leave the company in the host


def just_imported(session: Session, ident: str, user_id: int | None, since: dt.datetime) -> SyncRun | None:
    """The person's import of the Company ID ``ident`` that ended at ``since`` or later having imported the company
    (None otherwise: a failed one is tried again): a second click of the popup's Import is answered by it."""
    runs = session.execute(select(SyncRun).where(
        SyncRun.kind == IMPORT_KIND, SyncRun.requested_by_id == user_id,
        SyncRun.finished_at >= since).order_by(SyncRun.id.desc())).scalars()
    selects = _imports_company(ident)
    for run in runs:
        if not selects(dict(run.params or {})):
            continue
        first = session.execute(select(SyncItem.action, SyncItem.host_id).where(
            SyncItem.run_id == run.id, SyncItem.entity == CUSTOMER).order_by(SyncItem.id).limit(1)).first()
        return run if first is not None and first.action in IMPORTED and first.host_id else None
    return None
