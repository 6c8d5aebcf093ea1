"""ConnectWise opportunities for the quote export: statuses by flag, defaults, find by name, create.

Open / Won / Lost are found by ConnectWise's status flags (``wonFlag``, ``lostFlag``,
``closedFlag``, ``defaultFlag``), never by name (:mod:`..shared.statuses`). A new opportunity gets the
type, stage and open status an admin chose (:mod:`...setup.opportunity_defaults`), or ConnectWise's
defaults.
The status, type and stage lists are read once per run (lazily, only when needed) and shared by
the run's threads; with a shared cache (:mod:`..shared.reference_cache`) they are read once per ten
minutes for all runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ...cw import ConnectWiseClient, ValidationFailed, places
from ...cw import conditions as C
from ...models import Settings
from ...setup.connection import tenant_of
from ...setup.opportunity_defaults import (
    STAGE,
    STATUS,
    TYPE,
    Kind,
    NewOpportunityValues,
    fetch_stages,
    fetch_types,
    forget_required,
    problem,
    refused_create,
    refused_update,
    remember_required,
)
from ..shared.reference_cache import UNKNOWN, DbReferenceCache
from ..shared.statuses import CACHE_KEY, fetch_statuses, pick_open_status, pick_won_status
from .problems import ExportRefused

OPPORTUNITY_FIELDS = ["id", "name", "status", "company", "contact", "expectedCloseDate",
                      "closedBy", "closedDate", "_info"]  # (who closed it: a converted quote's note, quotes/won.py)
# Found by name, with the notes: those colcw creates carry their create intent's token (:mod:`.intents`).
BY_NAME_FIELDS = [*OPPORTUNITY_FIELDS, "notes"]
NAME_MAX = 100  # Opportunity.name, Max length: 100 (mapping.OPPORTUNITY "name" rule)


TYPES_KEY, STAGES_KEY = "opportunity_types", "opportunity_stages"  # the shared reference cache's keys


class OpportunitySetup:
    """The tenant's opportunity statuses, types and stages, each fetched at most once per run (thread-safe),
    and what a new opportunity gets."""

    def __init__(self, client: ConnectWiseClient, shared=None) -> None:
        self.client = client
        self.shared = shared  # e.g. reference_cache.DbReferenceCache: the lists shared between runs
        self._lock = threading.Lock()
        self._cache: dict[str, list[dict]] = {}
        self._fresh: set[str] = set()  # lists read from ConnectWise itself by this setup, not from the shared cache
        self._versions: dict[str, object] = {}  # the shared cache's entries' versions, as this run read them

    def shared_key(self, key: str) -> str | None:
        """The shared cache's full key of ``key``, to read its entry's version with a statement sent anyway
        (:func:`..shared.reference_cache.version_of`); None without a shared cache that keeps versions."""
        full_key = getattr(self.shared, "full_key", None)
        return full_key(key) if full_key is not None else None

    def note_version(self, key: str, version: object) -> None:
        """The shared cache's entry of ``key`` is at ``version``, as this run just read it: the rows this process
        keeps of that version are taken without reading the entry (:meth:`DbReferenceCache.rows`)."""
        if version is not UNKNOWN:
            self._versions[key] = version

    def _rows(self, key: str, fetch: Callable[[], Any], fresh: bool = False) -> list[dict]:
        with self._lock:
            if key not in self._cache or (fresh and key not in self._fresh):
                if self.shared is not None:
                    read = lambda: list(fetch())  # noqa: E731
                    version = {} if key not in self._versions else {"version": self._versions[key]}
                    self._cache[key] = self.shared.rows(key, read, fresh=True) if fresh else \
                        self.shared.rows(key, read, **version)
                else:
                    self._cache[key] = list(fetch())
                if fresh or self.shared is None:
                    self._fresh.add(key)
            return self._cache[key]

    def statuses(self, fresh: bool = False) -> list[dict]:
        return self._rows(CACHE_KEY, lambda: fetch_statuses(self.client), fresh)

    def types(self, fresh: bool = False) -> list[dict]:
        return self._rows(TYPES_KEY, lambda: fetch_types(self.client), fresh)

    def stages(self, fresh: bool = False) -> list[dict]:
        return self._rows(STAGES_KEY, lambda: fetch_stages(self.client), fresh)

    def rows(self, kind: Kind, fresh: bool = False) -> list[dict]:
        """ConnectWise's list of ``kind`` (the protocol of :mod:`...setup.opportunity_defaults`)."""
        return {TYPE.key: self.types, STAGE.key: self.stages, STATUS.key: self.statuses}[kind.key](fresh)

    def new_opportunity_refs(self, values: NewOpportunityValues, *, quote: bool) -> dict[str, dict]:
        """The chosen type, stage and (for a quote) open status a new opportunity gets, as references by field
        (what is left to ConnectWise's default is absent); :class:`ExportRefused` naming the value and the fix
        when ConnectWise no longer accepts one. The lists of chosen values are read from ConnectWise itself, once
        per run (not the shared cache's copy of up to ten minutes ago: a type made inactive since would be sent)."""
        refs: dict[str, dict] = {}
        for chosen in values.for_document(quote=quote):
            wrong = problem(chosen, self.rows(chosen.kind, fresh=True))
            if wrong is not None:
                raise ExportRefused(wrong.message, wrong.fix)
            refs[chosen.kind.key] = {"id": chosen.id}
        return refs

    def open_status(self) -> dict:
        # A refusal reads ConnectWise's list first: the shared cache's copy is up to ten minutes old, and an admin who
        # just added the status the refusal asks for would be refused again until it expires.
        status = pick_open_status(self.statuses()) or pick_open_status(self.statuses(fresh=True))
        if status is None:
            raise ExportRefused("ConnectWise has no open opportunity status (one that is neither closed, won nor lost).",
                                f"Add an open opportunity status in ConnectWise: {places.OPPORTUNITY_STATUS}.")
        return status

    def won_status(self) -> dict:
        status = pick_won_status(self.statuses()) or pick_won_status(self.statuses(fresh=True))  # (as open_status)
        if status is None:
            raise ExportRefused("ConnectWise has no opportunity status marked Won.",
                                f"Tick the Won flag on your won status in ConnectWise: {places.OPPORTUNITY_STATUS}.")
        return status

    def is_won(self, status_ref: dict | None) -> bool:
        sid = (status_ref or {}).get("id")
        return any(s.get("id") == sid and s.get("wonFlag") for s in self.statuses())

    def is_closed(self, status_ref: dict | None) -> bool:
        sid = (status_ref or {}).get("id")
        return any(s.get("id") == sid and s.get("closedFlag") for s in self.statuses())



def shared_setup(client: ConnectWiseClient, engine: Engine, settings: Settings, store: bool = True,
                 session: Session | None = None) -> OpportunitySetup:
    """The tenant's statuses, types and stages through the cache every process shares (ten minutes);
    ``store=False`` (a page's GET) reads it without writing; a page passes its ``session`` to read through it."""
    return OpportunitySetup(client, DbReferenceCache(engine, tenant=tenant_of(settings), store=store,
                                                     session=session))


def find_by_name(client: ConnectWiseClient, company_id: int, name: str) -> list[dict]:
    """The company's opportunities named exactly ``name`` (case-sensitive).

    ConnectWise compares strings case-insensitively (SQL Server collation), so the server's
    answer is re-checked here: "Network Refresh" must not land on "network refresh".
    """
    return exactly(named_like(client, company_id, name), name)


def named_like(client: ConnectWiseClient, company_id: int, name: str) -> list[dict]:
    """The company's opportunities ConnectWise finds by ``name``: named so but for upper and lower case too."""
    return list(client.opportunities.iterate(conditions=C.and_(C.eq("company/id", company_id), C.eq("name", name)),
                                             fields=BY_NAME_FIELDS))


def exactly(rows: list[dict], name: str) -> list[dict]:
    """Of :func:`named_like`'s answer, the opportunities named exactly ``name``."""
    return [r for r in rows if r.get("name") == name]


def case_slips(rows: list[dict], name: str) -> list[dict]:
    """Of :func:`named_like`'s answer, the opportunities named like ``name`` but for upper and lower case."""
    return [r for r in rows if r.get("name") != name and str(r.get("name", "")).casefold() == name.casefold()]


def choose_match(matches: list[dict], setup: OpportunitySetup, name: str, company_label: str) -> dict | None:
    """One opportunity among exact-name matches; refuses when several open ones make it ambiguous."""
    if len(matches) <= 1:
        return matches[0] if matches else None
    open_ = [m for m in matches if not setup.is_closed(m.get("status"))]
    if len(open_) == 1:
        return open_[0]
    ids = ", ".join(str(m["id"]) for m in (open_ or matches))
    raise ExportRefused(
        f"{company_label} has {len(open_ or matches)} opportunities named \"{name}\" in ConnectWise (ids {ids}).",
        "Rename or close the duplicates in ConnectWise, or put a different opportunity name on the document.")


def create_refused(error: ValidationFailed, values: NewOpportunityValues, name: str) -> ExportRefused | None:
    """ConnectWise's 400 to creating the opportunity ``name``, when it is about its type, stage or status (a field
    the tenant made mandatory, a chosen value gone since), as a refusal naming the setting that fixes it."""
    refusal = refused_create(error.field_errors, values, name)
    return ExportRefused(refusal.message, refusal.fix, required=refusal.missing) if refusal is not None else None


def update_refused(error: ValidationFailed, opp: dict) -> ExportRefused | None:
    """ConnectWise's 400 to updating the existing opportunity ``opp``, when it says a type or stage is required (the
    tenant made it mandatory since): a refusal naming the opportunity and what to set on it. The document's lines
    were sent before (``partly``)."""
    refusal = refused_update(error.field_errors, opp["id"], str(opp.get("name", "")))
    if refusal is None:
        return None
    return ExportRefused(refusal.message, refusal.fix + " Lines already sent are matched, not duplicated.",
                         partly=True, required=refusal.missing)


def remember_refusal(session: Session, refused: ExportRefused, number: str) -> bool:
    """After ConnectWise refused ``number``'s export: remember a field it said the tenant makes mandatory, so the
    pre-flight check and the checklists say so until it is chosen (not committed); whether there was one."""
    if refused.required is None:
        return False
    remember_required(session, refused.required, number)
    return True


def created_with(session: Session, body: dict) -> None:
    """ConnectWise created an opportunity from ``body``: the type, stage or status it left to ConnectWise's default
    are not mandatory (any more), whatever an earlier refusal said (not committed)."""
    forget_required(session, [kind for kind in (TYPE, STAGE, STATUS) if kind.key not in body])


def new_opportunity_body(*, name: str, company_id: int, contact_id: int, member_id: int,
                         location_id: int | None, department_id: int | None, status: dict,
                         type_: dict | None, stage: dict | None, expected_close: str | None,
                         notes: str) -> dict:
    """The POST body of a new opportunity (Appendix B's Opportunities mapping)."""
    body: dict[str, Any] = {
        "name": name, "company": {"id": company_id}, "contact": {"id": contact_id},
        "primarySalesRep": {"id": member_id}, "status": {"id": status["id"]}, "notes": notes,
        "source": "ChannelOnline",
    }
    if location_id:
        body["locationId"] = location_id
    if department_id:
        body["businessUnitId"] = department_id
    if type_:
        body["type"] = {"id": type_["id"]}
    if stage:
        body["stage"] = {"id": stage["id"]}
    if expected_close:
        body["expectedCloseDate"] = expected_close
    return body

