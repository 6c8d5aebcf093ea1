"""Reset (§5.1 item 4): delete all of colcw's history, links and settings.

Every ``colcw_`` table is emptied (including tables added later: the list comes from the
metadata), then one audit record of the reset itself is written, so the new history starts
by saying who reset what. The host's tables and ConnectWise are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from ..models import ACTIVE_RUN_STATUSES, ConfigChange, SyncRun

PREFIX = "colcw_"

LABELS = {
    "colcw_settings": "The connection (site, company, credentials) and its options",
    "colcw_config_changes": "The record of configuration changes",
    "colcw_rep_mappings": "Sales rep → member mappings",
    "colcw_product_type_mappings": "Product type mappings",
    "colcw_category_mappings": "Category mappings",
    "colcw_manufacturer_aliases": "Manufacturer aliases",
    "colcw_links": "Links between host customers, contacts and documents and ConnectWise records",
    "colcw_sync_runs": "Synchronization job runs (history)",
    "colcw_sync_items": "Per-record results of those runs",
    "colcw_company_scan": "The last scan of ConnectWise companies",
    "colcw_live_settings": "Live updates: the switch, the public URL, the customer master, the safety net's state",
    "colcw_callbacks": "The callbacks registered in ConnectWise (removed from ConnectWise first)",
    "colcw_inbound_hints": "Changes ConnectWise announced (callbacks received)",
    "colcw_record_drift": "ConnectWise changes not taken and conflicts shown on customer pages",
    "colcw_document_drift": "Opportunity products changed in ConnectWise since their export",
    "colcw_create_intents": "ConnectWise contacts being created, not confirmed yet",
    "colcw_required_fields": "Opportunity fields ConnectWise refused an export for as mandatory",
}


@dataclass(frozen=True)
class TableCount:
    table: str
    label: str
    rows: int


class ResetRefused(RuntimeError):
    """Runs are queued or running; resetting under them would leave their results nowhere."""


def colcw_tables() -> list[Table]:
    """colcw's tables, children first (safe delete order)."""
    return [t for t in reversed(ConfigChange.metadata.sorted_tables) if t.name.startswith(PREFIX)
            and not t.name.endswith("alembic_version")]


def what_will_be_lost(session: Session) -> list[TableCount]:
    """Each colcw table with its row count, for the confirmation page."""
    return [TableCount(t.name, LABELS.get(t.name, t.name.removeprefix(PREFIX).replace("_", " ").capitalize()),
                       session.execute(select(func.count()).select_from(t)).scalar_one())
            for t in sorted(colcw_tables(), key=lambda t: list(LABELS).index(t.name) if t.name in LABELS else 99)]


def active_runs(session: Session) -> int:
    return session.execute(select(func.count()).select_from(SyncRun)
                           .where(SyncRun.status.in_(ACTIVE_RUN_STATUSES))).scalar_one()


def reset_all(session: Session, actor: str, *, force: bool = False) -> list[TableCount]:
    """Delete every colcw row and record the reset. Refuses while runs are active unless ``force``.

    Returns what was deleted. Flushes; the caller commits (all or nothing).
    """
    if not force and active_runs(session):
        raise ResetRefused("Synchronization runs are queued or running. Wait for them to finish or cancel them on "
                           "the Synchronization Jobs page, then reset.")
    lost = what_will_be_lost(session)
    for table in colcw_tables():
        session.execute(delete(table))
    summary = ", ".join(f"{c.rows} {c.table.removeprefix(PREFIX)}" for c in lost if c.rows) or "nothing"
    session.add(ConfigChange(actor=actor, area="reset", summary=f"Reset the ConnectWise integration; deleted {summary}"))
    session.flush()
    return lost
