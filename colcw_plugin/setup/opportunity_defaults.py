"""The type, stage and open status a new opportunity gets (complaint 3: a tenant that made Opportunity
Type mandatory refuses every opportunity created without one).

Each is picked from ConnectWise's own list, or left to ConnectWise's default (then nothing is sent and
ConnectWise applies its own). The settings keep the id the export sends, checked in ConnectWise when it
is saved, and the name to show. One definition serves the settings section, the export, the export
page's checklist and the pre-flight check: :func:`problem` says what is wrong with a choice as
ConnectWise holds it now, and :func:`refused_create` what ConnectWise's refusal of a new opportunity
means for these settings. A refusal because the tenant makes a field mandatory is remembered in the
database (:func:`remember_required`, every process sees it) and :func:`required_problem` says it again
while that field is left to ConnectWise's default, until an opportunity is created without it
(:func:`forget_required`).

A stage has no inactive flag in ConnectWise (the official ``OpportunityStage`` schema), so a stage
can only be gone; a type can be inactive; a status must be active and open (neither closed, won nor
lost, by its flags — never its name).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from host_stub.models import utcnow

from ..cw import ConnectWiseClient, FieldError, places
from ..errors import FieldErrors
from ..models import RequiredField, Settings
from . import pages
from .common import audit, lock_settings, unknown_name

TYPE_FIELDS = ["id", "description", "inactiveFlag"]
STAGE_FIELDS = ["id", "name", "sequenceNumber"]
DEFAULT_LABEL = "ConnectWise's default"


@dataclass(frozen=True)
class Kind:
    """One of the three values: how people read it, the opportunity's field, the settings' columns."""

    key: str  # the opportunity's field and the form's: "type", "stage", "status"
    label: str  # "type", "stage", "open status"
    setup_table: str  # where ConnectWise keeps the list
    id_attr: str  # Settings columns
    name_attr: str
    name_field: str  # the list row's name: a type's "description", else "name"

    def name_of(self, row: Mapping[str, Any]) -> str:
        return str(row.get(self.name_field) or row.get("name") or "")

    def why_not(self, row: Mapping[str, Any]) -> str:
        """Why this row cannot be chosen ("" when it can): "inactive", or a status that is not open."""
        if row.get("inactiveFlag"):
            return "inactive"
        if self.key == "status":
            flags = [word for flag, word in (("wonFlag", "Won"), ("lostFlag", "Lost"), ("closedFlag", "closed"))
                     if row.get(flag)]
            if flags:
                return f"marked {' and '.join(flags)}, not open"
        return ""


TYPE = Kind("type", "type", places.OPPORTUNITY_TYPE, "opportunity_type_id", "opportunity_type_name",
            "description")
STAGE = Kind("stage", "stage", places.OPPORTUNITY_STAGE, "opportunity_stage_id", "opportunity_stage_name",
             "name")
STATUS = Kind("status", "open status", places.OPPORTUNITY_STATUS, "open_status_id", "open_status_name",
              "name")
KINDS = (TYPE, STAGE, STATUS)
BY_KEY = {k.key: k for k in KINDS}


def won_status(statuses: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The status a sales order's opportunity gets: an active one marked Won (and not Lost), the default one when
    several; None when ConnectWise has none (every sales order's export is then refused)."""
    won = sorted((s for s in statuses if s.get("wonFlag") and not s.get("lostFlag") and not s.get("inactiveFlag")),
                 key=lambda s: s.get("id") or 0)
    return next((s for s in won if s.get("defaultFlag")), won[0] if won else None)


class OpportunityLists(Protocol):
    """ConnectWise's list of a kind, as rows (``sync.quotes.opportunities.OpportunitySetup`` reads them
    through the shared reference cache, or fresh)."""

    def rows(self, kind: Kind) -> list[dict]: ...


def fetch_types(client: ConnectWiseClient) -> list[dict]:
    """Every opportunity type, inactive ones included (one request per 1,000)."""
    return list(client.opportunity_types.iterate(fields=TYPE_FIELDS))


def fetch_stages(client: ConnectWiseClient) -> list[dict]:
    """Every opportunity stage (``/sales/stages``)."""
    return list(client.opportunity_stages.iterate(fields=STAGE_FIELDS))


@dataclass(frozen=True)
class Loaded:
    """Lists read once (a page, a save, a command), so ConnectWise failing shows before anything is decided."""

    lists: Mapping[str, list[dict]]

    def rows(self, kind: Kind) -> list[dict]:
        return self.lists[kind.key]


def load(source: OpportunityLists, kinds: Iterable[Kind] = KINDS) -> Loaded:
    """Read the lists of ``kinds`` now (raises the client's ConnectWiseError when ConnectWise fails)."""
    return Loaded({k.key: list(source.rows(k)) for k in kinds})


# --- what is chosen ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chosen:
    """A value chosen for new opportunities: its id (sent) and its name as saved (shown)."""

    kind: Kind
    id: int
    name: str

    @property
    def shown(self) -> str:
        return f"“{self.name}”" if self.name else f"id {self.id}"


@dataclass(frozen=True)
class NewOpportunityValues:
    """The three choices as plain values (a run's threads share them); None: ConnectWise's default."""

    type: Chosen | None = None
    stage: Chosen | None = None
    status: Chosen | None = None

    @classmethod
    def of(cls, settings: Settings) -> NewOpportunityValues:
        def chosen(kind: Kind) -> Chosen | None:
            cw_id = getattr(settings, kind.id_attr, None)
            return Chosen(kind, int(cw_id), getattr(settings, kind.name_attr, "") or "") if cw_id else None
        return cls(chosen(TYPE), chosen(STAGE), chosen(STATUS))

    def get(self, kind: Kind) -> Chosen | None:
        return getattr(self, kind.key)

    def for_document(self, *, quote: bool) -> list[Chosen]:
        """What a new opportunity for a quote (or, without the open status, a sales order: it is Won) gets."""
        return [c for c in (self.type, self.stage, self.status if quote else None) if c is not None]


def shown(values: NewOpportunityValues, kind: Kind) -> str:
    """The choice as the page and the audit say it."""
    chosen = values.get(kind)
    return (chosen.name or f"id {chosen.id}") if chosen else DEFAULT_LABEL


# --- what is wrong with a choice, defined once ----------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """A choice ConnectWise no longer accepts: the message and the fix, as the export, the export page and
    the pre-flight check say them."""

    chosen: Chosen
    reason: str  # "no longer exists", "is inactive", "is marked Won, not open"

    @property
    def message(self) -> str:
        return (f"The opportunity {self.chosen.kind.label} {self.chosen.shown} chosen for new opportunities "
                f"{self.reason} in ConnectWise.")

    @property
    def fix(self) -> str:
        kind = self.chosen.kind
        again = "" if self.reason == "no longer exists" else f", or change it back in ConnectWise ({kind.setup_table})"
        return (f"Choose another {kind.label}, or {DEFAULT_LABEL}, under {pages.NEW_OPPORTUNITIES.name}{again}; "
                "then export again.")

    @property
    def sentence(self) -> str:
        return f"{self.message} {self.fix}"


def problem(chosen: Chosen, rows: Iterable[Mapping[str, Any]]) -> Problem | None:
    """What is wrong with ``chosen`` in ConnectWise's list ``rows`` (None: it can be used)."""
    row = next((r for r in rows if r.get("id") == chosen.id), None)
    if row is None:
        return Problem(chosen, "no longer exists")
    why = chosen.kind.why_not(row)
    if not why:
        return None
    named = Chosen(chosen.kind, chosen.id, chosen.name or chosen.kind.name_of(row))
    return Problem(named, f"is {why}")


def problems(values: NewOpportunityValues, lists: OpportunityLists) -> list[Problem]:
    """Every chosen value ConnectWise no longer accepts (reads only the lists of chosen kinds)."""
    found = (problem(c, lists.rows(c.kind)) for c in values.for_document(quote=True))
    return [p for p in found if p is not None]


@dataclass(frozen=True)
class Missing:
    """Fields ConnectWise refused an opportunity for because this tenant makes them mandatory: what is remembered
    (:func:`remember_required`), and the message and fix the export, the pre-flight check, the New opportunities
    section and the rep's checklist say while they are left to ConnectWise's default."""

    kinds: tuple[Kind, ...]
    opportunity: str  # the opportunity's name
    refused_to: str = "create"  # create | update
    document: str = ""  # the document whose export ConnectWise refused
    at: dt.datetime | None = None

    @property
    def words(self) -> str:
        return " and ".join(k.label for k in self.kinds)

    @property
    def message(self) -> str:
        return (f"ConnectWise refused to {self.refused_to} the opportunity “{self.opportunity}”: this tenant requires "
                f"an opportunity {self.words} on every opportunity, and "
                f"{'none is' if len(self.kinds) == 1 else 'they are not'} chosen for the opportunities colcw creates "
                f"(left to {DEFAULT_LABEL}).")

    @property
    def fix(self) -> str:
        return f"Choose the {self.words} new opportunities get under {pages.NEW_OPPORTUNITIES.name}, then export again."

    @property
    def sentence(self) -> str:
        return f"{self.message} {self.fix}"


@dataclass(frozen=True)
class Refusal:
    message: str
    fix: str
    missing: Missing | None = None  # the fields it says the tenant makes mandatory (to remember)


def _kind_named(error: FieldError) -> Kind | None:
    """The value (type, stage, status) a field error of ConnectWise's is about ("type/id" → type), if any."""
    return BY_KEY.get((error.field or "").split("/")[0])


def refused_create(field_errors: Iterable[FieldError], values: NewOpportunityValues, name: str) -> Refusal | None:
    """What ConnectWise's 400 to creating the opportunity ``name`` means for these settings, when it is about the
    type, stage or status (None otherwise): a field the tenant made mandatory that is left to ConnectWise's default,
    or a chosen value ConnectWise refused (gone since it was checked)."""
    missing: list[Kind] = []
    refused: list[str] = []
    for fe in field_errors:
        kind = _kind_named(fe)
        if kind is None:
            continue
        chosen = values.get(kind)
        if chosen is None:
            if kind not in missing:
                missing.append(kind)
        elif (fe.code or "") == "NotFound":
            return Refusal(Problem(chosen, "no longer exists").message, Problem(chosen, "no longer exists").fix)
        else:
            refused.append(f"the {kind.label} {chosen.shown}: {fe.message or fe.code}")
    if missing:
        said = Missing(tuple(missing), name)
        return Refusal(said.message, said.fix, said)
    if refused:
        return Refusal(f"ConnectWise refused to create the opportunity “{name}” with " + "; ".join(refused) + ".",
                       f"Choose another value, or {DEFAULT_LABEL}, under {pages.NEW_OPPORTUNITIES.name}, then "
                       "export again.")
    return None


def refused_update(field_errors: Iterable[FieldError], opportunity_id: int, name: str) -> Refusal | None:
    """What ConnectWise's 400 to updating the existing opportunity ``name`` means, when it says a type or stage is
    required (None otherwise): the tenant made it mandatory after the opportunity was made without one, so no
    setting of colcw's can mend it; the opportunity itself needs one."""
    missing: list[Kind] = []
    for fe in field_errors:
        kind = _kind_named(fe)
        if kind in (TYPE, STAGE) and kind not in missing and (
                (fe.code or "") == "NullValue" or "required" in (fe.message or "").lower()):
            missing.append(kind)
    if not missing:
        return None
    words = " and ".join(k.label for k in missing)
    return Refusal(
        f"ConnectWise refused to update the opportunity “{name}” (id {opportunity_id}): this tenant requires an "
        f"opportunity {words} on every opportunity, and this one, made before {'it was' if len(missing) == 1 else 'they were'} "
        "required, has none.",
        f"Set its {words} in ConnectWise (Sales → Opportunities → “{name}”), then export again.",
        # A new opportunity would be refused as well while these are left to ConnectWise's default.
        Missing(tuple(missing), name, "update"))


# --- what ConnectWise said it requires, remembered ----------------------------------------------------------


def remember_required(session: Session, missing: Missing, document: str = "") -> None:
    """Remember (for every process, until :func:`forget_required`) that ConnectWise refused an opportunity because
    the tenant makes ``missing``'s fields mandatory. Not committed. It writes first (an UPDATE), so on SQLite its
    transaction never reads a snapshot another export's remembering could make stale."""
    for kind in missing.kinds:
        values = {"opportunity_name": missing.opportunity[:100], "refused_to": missing.refused_to,
                  "document_number": document[:50], "refused_at": utcnow()}
        again = update(RequiredField).where(RequiredField.field == kind.key).values(**values)
        if session.execute(again).rowcount:
            continue
        try:
            with session.begin_nested():  # another process may remember the same field at the same moment
                session.add(RequiredField(field=kind.key, **values))
        except IntegrityError:
            session.execute(again)


def forget_required(session: Session, created_without: Iterable[Kind]) -> None:
    """ConnectWise created an opportunity without these fields: it does not require them (any more). Not committed."""
    keys = [k.key for k in created_without]
    if keys:
        session.execute(delete(RequiredField).where(RequiredField.field.in_(keys)))


def required_problem(session: Session, values: NewOpportunityValues, remembered: int | None = None) -> Missing | None:
    """The fields ConnectWise last refused an opportunity for because the tenant makes them mandatory, among those
    left to ConnectWise's default in ``values`` (None: none; choosing a value for the field ends it). ``remembered``:
    how many are, when already known (:attr:`Settings.required_refusals`): none is looked for when it is 0."""
    if remembered == 0:
        return None
    rows = [r for r in session.execute(select(RequiredField).order_by(RequiredField.refused_at.desc())).scalars()
            if r.field in BY_KEY and values.get(BY_KEY[r.field]) is None]
    if not rows:
        return None
    latest = rows[0]
    kinds = tuple(k for k in KINDS if any(r.field == k.key for r in rows))
    return Missing(kinds, latest.opportunity_name, latest.refused_to, latest.document_number, latest.refused_at)


# --- the settings section ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One row of ConnectWise's list as the page offers it (``why_not``: shown marked, cannot be saved)."""

    id: int
    name: str
    why_not: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} ({self.why_not})" if self.why_not else self.name


def options(kind: Kind, rows: Iterable[Mapping[str, Any]], current: Chosen | None = None) -> list[Option]:
    """What the page offers for ``kind``: the usable rows (stages in their pipeline order, the rest by name);
    a stored choice ConnectWise no longer accepts stays listed, marked, so the page shows what is saved."""
    rows = list(rows)
    if kind is STAGE:
        rows.sort(key=lambda r: (r.get("sequenceNumber") is None, r.get("sequenceNumber") or 0, kind.name_of(r).lower()))
    else:
        rows.sort(key=lambda r: kind.name_of(r).lower())
    out = [Option(int(r["id"]), kind.name_of(r)) for r in rows if not kind.why_not(r)]
    if current is not None and all(o.id != current.id for o in out):
        wrong = problem(current, rows)
        out.append(Option(current.id, current.name or f"id {current.id}",
                          wrong.reason.removeprefix("is ") if wrong else "not in ConnectWise"))
    return out


@dataclass(frozen=True)
class DefaultsInput:
    """What the form or the command sent: an id per kind (None: ConnectWise's default)."""

    type_id: int | None = None
    stage_id: int | None = None
    status_id: int | None = None

    def get(self, kind: Kind) -> int | None:
        return getattr(self, f"{kind.key}_id")


def input_by_names(names: Mapping[str, str | None], current: NewOpportunityValues,
                   lists: OpportunityLists | None) -> DefaultsInput:
    """What a command typed, by name (exactly as ConnectWise spells it; "" for ConnectWise's default, None to keep
    the saved choice), as ids; :class:`FieldErrors` for a name ConnectWise does not have or that cannot be chosen."""
    ids: dict[str, int | None] = {}
    errors: dict[str, str] = {}
    for kind in KINDS:
        name = names.get(kind.key)
        saved = current.get(kind)
        if name is None:
            ids[kind.key] = saved.id if saved else None
        elif not name.strip():
            ids[kind.key] = None
        elif lists is None:
            if saved is not None and saved.name == name.strip():
                ids[kind.key] = saved.id
            else:
                errors[kind.key] = f"ConnectWise cannot be reached to look up the {kind.label} “{name.strip()}”."
        else:
            rows = lists.rows(kind)
            usable = [r for r in rows if not kind.why_not(r)]
            row = next((r for r in usable if kind.name_of(r) == name.strip()), None)
            if row is None:
                errors[kind.key] = unknown_name(f"usable opportunity {kind.label}", name.strip(),
                                                (kind.name_of(r) for r in usable))
            else:
                ids[kind.key] = int(row["id"])
    if errors:
        raise FieldErrors(errors)
    return DefaultsInput(ids["type"], ids["stage"], ids["status"])


def save_new_opportunity_values(session: Session, data: DefaultsInput, lists: OpportunityLists | None,
                                actor: str) -> Settings:
    """Check each chosen id in ConnectWise's list and store it with its name; nothing is saved when one is
    wrong. ``lists`` None (ConnectWise cannot be reached): an unchanged choice keeps its verified id, a
    new one is refused, ConnectWise's default can always be chosen."""
    row = lock_settings(session)
    errors: dict[str, str] = {}
    resolved: dict[str, tuple[int | None, str]] = {}
    for kind in KINDS:
        wanted = data.get(kind)
        current_id, current_name = getattr(row, kind.id_attr), getattr(row, kind.name_attr) or ""
        if wanted is None:
            resolved[kind.key] = (None, "")
        elif lists is None:
            if wanted == current_id:
                resolved[kind.key] = (current_id, current_name)
            else:
                errors[kind.key] = (f"ConnectWise cannot be reached to check this {kind.label}: save it again once "
                                    "ConnectWise answers (unchanged choices are kept).")
        else:
            rows = lists.rows(kind)
            chosen = Chosen(kind, wanted, current_name if wanted == current_id else "")
            wrong = problem(chosen, rows)
            if wrong is not None:
                errors[kind.key] = f"{wrong.message} Choose another {kind.label}, or {DEFAULT_LABEL}."
            else:
                resolved[kind.key] = (wanted, next(kind.name_of(r) for r in rows if r.get("id") == wanted))
    if errors:
        raise FieldErrors(errors)
    before = NewOpportunityValues.of(row)
    for kind in KINDS:
        cw_id, name = resolved[kind.key]
        setattr(row, kind.id_attr, cw_id)
        setattr(row, kind.name_attr, name[:100])
    after = NewOpportunityValues.of(row)
    changes = [f"{kind.label} → {shown(after, kind)}" for kind in KINDS if before.get(kind) != after.get(kind)]
    if changes:
        row.updated_by = actor
        audit(session, actor, "new opportunities", ["New opportunities: " + "; ".join(changes)])
    session.flush()
    return row
