"""Quote and sales order export as a job kind: ``quote_export``.

Params (the jobs engine's contract): ``{"document_id": id}`` | ``{"document_ids": [...]}`` (a
retry of failed ones, or with ``"selected": true`` the rows ticked on a list) | ``{"range": {"field": "created"|"modified"|"follow_up", "preset", "start",
"end"}}`` | ``{"all": true}``. Presets are resolved when the run starts. The job is in :mod:`.job`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.models import Document, DocumentLine

from ...errors import FieldErrors
from ...models import SyncItem, SyncRun
from ..jobs import ranges
from ..jobs.forms import find_by_number, range_from_cli, range_from_form
from ..jobs.kinds import NAMED_IN_RETRY, JobKind, KindRegistry, and_list
from . import KIND
from .job import document_labels, run

RANGE_FIELDS = {"created": "Created Date", "modified": "Last Modified", "follow_up": "Follow-up Date"}
RANGE_WORDS = {"created": "created", "modified": "last modified", "follow_up": "follow-up"}
CLI_RANGE_OPTIONS = {"created": "--created", "modified": "--modified", "follow_up": "--follow-up"}


def describe(session: Session | None, params: dict, *, scheduled: bool = False) -> str:
    """A readable description of a run (for the jobs page and rq-dashboard)."""
    if params.get("document_id") is not None:
        return f"Export {_number(session, params['document_id'])} to ConnectWise"
    if params.get("document_ids") is not None:
        n = len(params["document_ids"])
        if params.get("selected"):
            return f"Export {n} selected quote{'s' if n != 1 else ''} / order{'s' if n != 1 else ''} to ConnectWise"
        if session is not None and 0 < n <= NAMED_IN_RETRY:  # a few: named as one document's export names it
            return f"Export {and_list([_number(session, i) for i in params['document_ids']])} to ConnectWise again"
        return f"Export {n} document{'s' if n != 1 else ''} to ConnectWise again"
    if params.get("range"):
        spec = params["range"]
        when = ranges.PRESET_LABELS.get(spec.get("preset", ""), spec.get("preset", ""))
        if spec.get("preset") == "custom":
            when = f"{spec.get('start')} to {spec.get('end')}"
        return f"Export quotes and sales orders by {RANGE_WORDS.get(spec.get('field'), 'date')} date: {when}"
    return "Export all quotes and sales orders to ConnectWise"


def _number(session: Session | None, document_id) -> str:
    if session is not None:
        number = session.execute(select(Document.number).where(Document.id == int(document_id))).scalar()
        if number:
            return number
    return f"document #{document_id}"


def document_by_number(session: Session, number: str, *, field: str) -> int:
    """The quote or sales order with this number (any case), or :class:`FieldErrors` on ``field``."""
    if not number.strip():
        raise FieldErrors({field: "Enter the quote or sales order number."})
    found = find_by_number(session, Document.number, number)
    if found is None:
        raise FieldErrors({field: f"No quote or sales order has the number {number.strip()!r}."})
    return found


def from_form(session: Session, form: Mapping[str, str]) -> dict:
    scope = form.get("quote_scope")
    if scope == "one":
        return {"document_id": document_by_number(session, form.get("document_number") or "",
                                                  field="document_number")}
    if scope == "range":
        return range_from_form(form, "quote", RANGE_FIELDS)
    if scope == "all":
        return {"all": True}
    raise FieldErrors({"quote_scope": "Choose a specific quote / order, a date range, or all."})


def from_cli(session: Session, options: Mapping[str, object]) -> dict:
    """Exactly one of ``--document NUMBER``, ``--created``/``--modified``/``--follow-up RANGE``, ``--all``."""
    given = [k for k in ("document", *CLI_RANGE_OPTIONS, "all") if options.get(k)]
    if len(given) != 1:
        raise FieldErrors({"options": "Give exactly one of --document, --created, --modified, --follow-up or --all."})
    if options.get("document"):
        return {"document_id": document_by_number(session, str(options["document"]), field="--document")}
    for field, option in CLI_RANGE_OPTIONS.items():
        if options.get(field):
            return {"range": range_from_cli(str(options[field]), field, option=option)}
    return {"all": True}


def retry(session: Session, run: SyncRun, failed: Sequence[SyncItem]) -> dict | None:
    """The documents to export again: failed documents, and the documents of failed lines."""
    ids = [i.host_id for i in failed if i.entity == "document" and i.host_id]
    line_ids = [i.host_id for i in failed if i.entity == "line" and i.host_id]
    if line_ids:
        ids += session.execute(select(DocumentLine.document_id).where(DocumentLine.id.in_(line_ids))).scalars().all()
    if ids:
        return {"document_ids": sorted(set(ids))}
    single = (run.params or {}).get("document_id")
    return {"document_id": single} if single is not None else None


QUOTE_EXPORT = JobKind(
    KIND, "Quote / sales order export", run, describe, form_job="quote", form_job_label="quote / order",
    form_template="colcw/jobs/_quote_form.html", range_fields=RANGE_FIELDS, parse_form=from_form, parse_cli=from_cli, retry=retry, retry_nouns=("quote / order", "quotes / orders"),
    record_labels=document_labels, selects_in_host=True,
    one_record=lambda params: params.get("document_id") is not None)  # a rep's export, a converted quote's order


def register(kinds: KindRegistry) -> None:
    """Register the quote export job kind."""
    kinds.register(QUOTE_EXPORT)
