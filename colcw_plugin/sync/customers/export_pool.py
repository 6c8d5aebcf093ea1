"""Exporting a chunk's customers side by side (a helper of :mod:`.exporter`).

``COLCW_CONCURRENCY`` customers at a time, each on a worker thread with a database session of its own,
sharing the run's client (so its rate limiter: the tenant-wide budget holds whatever the number of
workers), its reference lists and the chunk read in bulk. Each customer's requests stay in their order
(company, site, contacts, the last PATCH) and issue 11's guarantees hold per customer exactly as one at a
time: its contacts' create intents are committed before their POSTs, its links with what they guard. The
run's thread holds the chunk's locks and is the only one to touch the run's recorder: it records each
customer's committed outcomes as that customer ends (in the chunk's order, a customer whose requests took their
time held back the outcomes of those done after it, and the run's pages and list rows showed them unfinished).
A run an admin asks to stop starts no other customer: each worker asks before it starts one
(:meth:`~..jobs.recorder.RunRecorder.stop_requested`, safe from any thread, which sees a request within a
second), so the customers under way end whole and are recorded and no other is sent.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from host_stub.models import Customer

from ...cw import ConnectWiseError
from ..jobs.recorder import RunStopped, Unreachable
from .export_writes import autocommit

if TYPE_CHECKING:
    from .contact_export import Outcome
    from .export_reads import Chunk
    from .exporter import CustomerExporter

log = logging.getLogger(__name__)

# (the result, the outcomes it committed); no result: not started, the run was asked to stop
Done = tuple[list["Outcome"] | ConnectWiseError | None, list["Outcome"]]


def side_by_side(exporter: CustomerExporter, customers: list[Customer], chunk: Chunk, workers: int) -> None:
    """Export ``customers`` ``workers`` at a time and record their outcomes (see the module doc)."""
    engine = exporter.session.get_bind()
    local = threading.local()
    held: list[tuple[Connection, Session]] = []

    def session_of_this_thread() -> Session:
        # One connection per worker for the chunk: no pool check-out (and its pre-ping) per customer. On
        # PostgreSQL in autocommit: each of a customer's writes is one statement (see :mod:`.export_writes`),
        # committed as it is sent without a BEGIN and a COMMIT of its own.
        session = getattr(local, "session", None)
        if session is None:
            connection = autocommit(engine.connect())
            session = local.session = Session(bind=connection)
            held.append((connection, session))
        return session

    def work(customer: Customer) -> Done:
        if exporter.recorder.stop_requested():  # an admin asked the run to stop: this customer is not started
            return None, []
        session = session_of_this_thread()
        try:
            mine = exporter.for_session(session)
            result = mine._export_guarded(customer, chunk)
            if not isinstance(result, ConnectWiseError):
                mine.settle(customer, result)
            mine._commit()  # its last writes: the next customer may run on another thread
            return result, mine._committed
        except BaseException:
            session.rollback()
            raise

    try:
        _drive(exporter, customers, workers, work)
    finally:
        for connection, session in held:
            session.close()
            connection.close()


def _drive(exporter: CustomerExporter, customers: list[Customer], workers: int, work) -> None:
    stop: BaseException | None = None
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="colcw-customers") as pool:
        futures: list[Future[Done]] = [pool.submit(work, c) for c in customers]
        of = dict(zip(futures, customers, strict=True))
        for future in as_completed(futures):  # as they end: one slow customer holds back no other's outcome
            customer = of[future]
            if future.cancelled():
                continue
            try:
                result, committed = future.result()
            except BaseException as e:  # noqa: BLE001 - a crash ends the run, after the workers stop (colcw's
                # database refusing or dropping a worker's connection: the run waits for its next attempt, runs.py)
                stop = stop or e
                _cancel(futures)
                continue
            exporter._committed += committed
            exporter.record_committed()
            if result is None:  # not started (asked to stop): the stop below ends the run; it has no outcome
                pass
            elif isinstance(result, ConnectWiseError):
                try:
                    exporter.settle(customer, result)
                except Unreachable as e:  # ConnectWise is down: start no other customer
                    stop = stop or e
                    _cancel(futures)
            if stop is None:
                try:
                    exporter.recorder.stop_if_requested()
                except RunStopped as e:  # an admin asked the run to stop: the same, and it ends cancelled
                    stop = e
                    _cancel(futures)
    if stop is not None:
        raise stop


def _cancel(futures: list[Future]) -> None:
    for f in futures:
        f.cancel()
