"""Reset (§5.1 item 4): delete all of colcw's history, links and settings.

Every ``colcw_`` table is emptied (including tables added later: the list comes from the
metadata), then one audit record of the reset itself is written, so the new history starts
by saying who reset what. In the host, only what colcw recorded there goes with it: the
ConnectWise statuses shown on quotes and sales orders, forgotten through the host's service API
(:meth:`~host_stub.gateway.UnitOfWork.clear_external_status`), so no quote keeps saying "Won in
ConnectWise" that colcw no longer knows exported. The job queue's jobs of the deleted runs are
deleted too (by the caller's :class:`JobsOfRuns`: only the job queue speaks to RQ), so none is
requeued for a run that is gone. ConnectWise is never touched here (the view removes colcw's
callbacks there first).

A run a worker is running (or stopping) is never deleted, even with ``force``: its worker would go on writing links
for a run that no longer exists, into whatever connection comes next. ``force`` deletes the queued and waiting runs
(a worker that takes one later finds it gone and does nothing); the caller stops the running ones first (Reset
anyway: :func:`~colcw_plugin.sync.jobs.recovery.stop_all`). The check is made by the delete itself (its
``RETURNING``), so a run a worker claimed a moment before is seen, on any machine, and the reset refused.

The time zone each person chose is also kept outside its table (in their sessions and in Redis): the caller tells
those copies which choices went (:func:`time_zone_choosers`, read before the reset), once it is committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from host_stub.gateway import UnitOfWork
from host_stub.models import DocumentExternalStatus

from ..models import (
    ACTIVE_RUN_STATUSES,
    EXTERNAL_STATUS_SOURCE,
    ConfigChange,
    RunStatus,
    SyncRun,
    TimeZoneChoice,
)

PREFIX = "colcw_"

LABELS = {
    "colcw_settings": "The connection (site, company, credentials) and its options",
    "colcw_config_changes": "The record of configuration changes",
    "colcw_rep_mappings": "Sales rep → member mappings",
    "colcw_product_type_mappings": "Product type mappings",
    "colcw_category_mappings": "Category mappings",
    "colcw_manufacturer_aliases": "Manufacturer aliases",
    "colcw_links": "Links between ChannelOnline customers, contacts and documents and ConnectWise records",
    "colcw_sync_runs": "Synchronization job runs (history)",
    "colcw_sync_items": "Per-record results of those runs",
    "colcw_company_scan": "The last scan of ConnectWise companies",
    "colcw_live_settings": "Live updates: the switch, the public URL, the customer master, the safety net's state",
    "colcw_callbacks": "The callbacks registered in ConnectWise (removed from ConnectWise first)",
    "colcw_inbound_hints": "Changes ConnectWise announced (callbacks received)",
    "colcw_record_drift": "ConnectWise changes not taken and conflicts shown on customer pages",
    "colcw_document_drift": "Opportunity products changed in ConnectWise since their export",
    "colcw_create_intents": ("ConnectWise contacts being created, and companies whose create went unanswered, not "
                             "confirmed yet"),
    "colcw_required_fields": "Opportunity fields ConnectWise refused an export for as mandatory",
}


# What Reset removes outside colcw's tables, listed with them (``table`` is a key, not a colcw table).
EXTERNAL_STATUSES = "host:external_statuses"
QUEUED_JOBS = "queue:jobs"
OUTSIDE_LABELS = {
    EXTERNAL_STATUSES: "The ConnectWise statuses shown on quotes and sales orders (e.g. “Won in ConnectWise”)",
    QUEUED_JOBS: "The job queue's jobs of those runs (waiting, scheduled, failed or finished)",
}


class JobsOfRuns(Protocol):
    """The job queue, as Reset needs it (:class:`~colcw_plugin.sync.jobs.queue.JobQueue`): None when Redis
    did not answer."""

    def leftover_jobs(self) -> int | None: ...

    def purge(self) -> int | None: ...


@dataclass(frozen=True)
class TableCount:
    table: str
    label: str
    rows: int | None  # None: not known (the job queue did not answer)


class ResetRefused(RuntimeError):
    """Runs are queued or running; resetting under them would leave their results nowhere."""


# A run in one of these has a worker writing for it: never deleted (see the module doc).
WORKED_ON = (RunStatus.RUNNING, RunStatus.CANCELLING)


def still_running_message(run_ids: list[int]) -> str:
    """Why a reset was refused: runs still running (or stopping) when it would have deleted them."""
    runs = ", ".join(f"#{i}" for i in run_ids)
    one = len(run_ids) == 1
    workers = "its worker stops it" if one else "their workers stop them"
    return (f"Run{'' if one else 's'} {runs} {'is' if one else 'are'} still stopping: {workers} at the next safe "
            "point (between records or pages). Nothing was deleted; try Reset again in a minute.")


def colcw_tables() -> list[Table]:
    """colcw's tables, children first (safe delete order)."""
    return [t for t in reversed(ConfigChange.metadata.sorted_tables) if t.name.startswith(PREFIX)
            and not t.name.endswith("alembic_version")]


def _statuses_recorded(session: Session) -> list[int]:
    """The documents colcw recorded a ConnectWise status on (in the host)."""
    return list(session.execute(select(DocumentExternalStatus.document_id).where(
        DocumentExternalStatus.source == EXTERNAL_STATUS_SOURCE).order_by(DocumentExternalStatus.document_id)
    ).scalars())


def what_will_be_lost(session: Session, jobs: JobsOfRuns | None = None) -> list[TableCount]:
    """Each colcw table with its row count, then what goes outside them (the ConnectWise statuses colcw
    recorded on host documents; the job queue's jobs, when ``jobs`` is given), for the confirmation page."""
    lost = [TableCount(t.name, LABELS.get(t.name, t.name.removeprefix(PREFIX).replace("_", " ").capitalize()),
                       session.execute(select(func.count()).select_from(t)).scalar_one())
            for t in sorted(colcw_tables(), key=lambda t: list(LABELS).index(t.name) if t.name in LABELS else 99)]
    lost.append(TableCount(EXTERNAL_STATUSES, OUTSIDE_LABELS[EXTERNAL_STATUSES], len(_statuses_recorded(session))))
    if jobs is not None:
        lost.append(TableCount(QUEUED_JOBS, OUTSIDE_LABELS[QUEUED_JOBS], jobs.leftover_jobs()))
    return lost


def active_runs(session: Session) -> int:
    return session.execute(select(func.count()).select_from(SyncRun)
                           .where(SyncRun.status.in_(ACTIVE_RUN_STATUSES))).scalar_one()


def time_zone_choosers(session: Session) -> list[int]:
    """The people whose time zone choice Reset deletes (locked until then: a choice changed meanwhile waits for it)."""
    return list(session.execute(select(TimeZoneChoice.user_id).order_by(TimeZoneChoice.user_id)
                                .with_for_update()).scalars())


def reset_all(session: Session, actor: str, *, force: bool = False, jobs: JobsOfRuns | None = None,
              host: Callable[[Session], UnitOfWork] = UnitOfWork) -> list[TableCount]:
    """Delete every colcw row and the ConnectWise statuses colcw recorded on host documents, and record the
    reset. Refuses while runs are active unless ``force``, and always while a run is running or stopping
    (:class:`ResetRefused`; the caller rolls back). ``jobs`` (the job queue) is only counted here:
    the caller purges it (:meth:`JobsOfRuns.purge`) once the deletion is committed.

    Returns what was deleted. Flushes; the caller commits (all or nothing).
    """
    if not force and active_runs(session):
        raise ResetRefused("Synchronization runs are queued or running. Wait for them to finish or cancel them on "
                           "the Synchronization Jobs page, then reset.")
    lost = what_will_be_lost(session, jobs)
    uow = host(session)
    for document_id in _statuses_recorded(session):
        uow.clear_external_status(document_id, EXTERNAL_STATUS_SOURCE)
    for table in colcw_tables():
        if table.name != SyncRun.__tablename__:
            session.execute(delete(table))
            continue
        # The runs as they are deleted: one a worker claimed meanwhile (committed, or waited for) shows here.
        gone = session.execute(delete(table).returning(table.c.id, table.c.status)).all()
        busy = sorted(run_id for run_id, status in gone if status in WORKED_ON)
        if busy:
            raise ResetRefused(still_running_message(busy))
    summary = ", ".join(f"{c.rows} {c.table.removeprefix(PREFIX).split(':')[-1]}" for c in lost if c.rows) or "nothing"
    session.add(ConfigChange(actor=actor, area="reset", summary=f"Reset the ConnectWise integration; deleted {summary}"))
    session.flush()
    return lost
