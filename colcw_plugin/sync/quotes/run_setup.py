"""What every document of a run shares from colcw's own tables, read once per run: the connection
options an export uses and the ConnectWise member each sales rep acts as.

Plain values only: the run's threads share them, each on a session of its own. A change an admin
saves while a run goes on applies from the next run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ...models import Settings
from ...setup.opportunity_defaults import NewOpportunityValues
from ...setup.reps import MemberIds, UnmappedRep, member_for
from .problems import ExportRefused


@dataclass(frozen=True)
class ExportSettings:
    """The connection options an export reads (duck-types :class:`~colcw_plugin.models.Settings` for
    :func:`.state.document_fingerprint` and :func:`.state.opportunity_field_value`)."""

    opportunity_field_id: int | None
    allow_empty_opportunity_name: bool
    use_logged_in_rep: bool
    category_mode: str
    new_opportunity: NewOpportunityValues  # the type, stage and open status a new opportunity gets
    required_refusals: int = 0  # mandatory fields remembered from ConnectWise's refusals when the run began

    @classmethod
    def of(cls, settings: Settings) -> ExportSettings:
        return cls(settings.opportunity_field_id, bool(settings.allow_empty_opportunity_name),
                   bool(settings.use_logged_in_rep), settings.category_mode or "names",
                   NewOpportunityValues.of(settings), int(settings.required_refusals or 0))


class Reps:
    """The member of each (actor, document's rep), resolved once per run (Appendix C when unmapped)."""

    def __init__(self, settings: ExportSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._known: dict[tuple, MemberIds | tuple[str, str]] = {}

    def member(self, session: Session, actor: dict | None, document_rep_id: int | None) -> MemberIds:
        key = ((actor or {}).get("id"), document_rep_id)
        with self._lock:
            known = self._known.get(key)
        if known is None:
            try:
                known = member_for(session, self.settings, actor, document_rep_id)
            except UnmappedRep as e:
                known = (e.reason, e.resolution)  # the run log says "… was not exported: " itself
            with self._lock:
                self._known[key] = known
        if isinstance(known, MemberIds):
            return known
        raise ExportRefused(*known)
