"""Customer and contact synchronisation as job kinds: ``customer_export`` and ``customer_import``.

``customer_export`` params: ``{"customer_id": id}``, ``{"customer_ids": [...]}`` (a retry, or with
``"selected": true`` the rows ticked on All Customers),
``{"range": {"field": "modified"|"created", "preset": ..., "start", "end"}}`` or ``{"all": true}``.
``customer_import`` params: ``{"company": "<Company ID or id>"}``, ``{"company_ids": [...]}``,
``{"mode": "all"}`` or ``{"mode": "changed"}`` (optionally ``"since": "<ISO datetime>"``).
The services are :mod:`.exporter` and :mod:`.importer`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from host_stub.models import Contact, Customer

from ...errors import FieldErrors
from ...models import CONTACT, CUSTOMER, Link, SyncItem, SyncRun, stored_time
from ..jobs import ranges
from ..jobs.forms import find_by_number, range_from_cli, range_from_form
from ..jobs.kinds import NAMED_IN_RETRY, JobKind, KindRegistry, and_list
from .export_reads import customer_labels
from .exporter import run_export
from .importer import WATERMARK_OVERLAP, last_import_start, run_import

RANGE_FIELDS = {"modified": "Last Modified", "created": "Created Date"}
_IDENT_IN_LABEL = re.compile(r"\(([^()]+)\)\s*$")  # an import's result names a company "Acme Ltd (ACME1)"
COMPANY_ID_MAX = 30


def _account_number(session: Session | None, customer_id: int) -> str:
    """The customer's account number for a description (its id without a session)."""
    if session is not None:
        number = session.execute(select(Customer.account_number).where(Customer.id == customer_id)).scalar()
        if number:
            return number
    return f"#{customer_id}"


def describe_export(session: Session | None, params: dict, *, scheduled: bool = False) -> str:
    """A readable description of an export run's params."""
    if params.get("customer_id") is not None:
        return f"Export customer {_account_number(session, int(params['customer_id']))} to ConnectWise"
    if params.get("customer_ids") is not None:
        n = len(params["customer_ids"])
        customers = f"{n} customer{'s' if n != 1 else ''}"
        if params.get("selected"):
            return f"Export {customers} selected on All Customers to ConnectWise"
        if session is not None and 0 < n <= NAMED_IN_RETRY:  # a few: named as one customer's export names it
            numbers = and_list([_account_number(session, int(i)) for i in params["customer_ids"]])
            customers = f"customer{'s' if n != 1 else ''} {numbers}"
        # Not "(retry)" here: these params are a retry's but not only (a run queued for some customers by a script
        # or a test); a true retry's run says "(retry of #12)" from its retry_of_id (jobs.kinds.retry_description).
        return f"Export {customers} to ConnectWise"
    if params.get("range"):
        r = params["range"]
        what = "created" if r.get("field") == "created" else "modified"
        if r.get("preset") == "custom":
            span = f"from {r.get('start')} to {r.get('end')}"
        else:
            span = ranges.PRESET_LABELS.get(r.get("preset", ""), str(r.get("preset"))).lower()
            span = "today" if span == "today" else f"in the {span}"
        return f"Export customers {what} {span} to ConnectWise"
    return "Export all customers to ConnectWise"


def _since(value: object) -> str:
    """An import's ``since`` (an ISO datetime, naive UTC) as its description says it (pages show it in their zone)."""
    try:
        return stored_time(dt.datetime.fromisoformat(str(value)).replace(tzinfo=None))  # as the importer reads it
    except ValueError:
        return f"{str(value)[:16].replace('T', ' ')} UTC"


def _company_idents(session: Session, cw_ids: list[int]) -> list[str]:
    """ConnectWise companies' Company IDs by their ids, as the host knows them: a linked company's from its link,
    another's from the result an import recorded for it ("Acme Ltd (ACME1)"); else "id 250"."""
    known = dict(session.execute(select(Link.cw_id, Link.cw_identifier).where(
        Link.entity == CUSTOMER, Link.cw_id.in_(cw_ids), Link.cw_identifier != "")).all())
    missing = [i for i in cw_ids if not known.get(i)]
    if missing:
        rows = session.execute(select(SyncItem.cw_id, SyncItem.label).where(
            SyncItem.entity == CUSTOMER, SyncItem.direction == "import", SyncItem.cw_id.in_(missing))
            .order_by(SyncItem.id.desc())).all()
        for cw_id, label in rows:
            found = _IDENT_IN_LABEL.search(label or "")
            if found and not known.get(cw_id):
                known[cw_id] = found.group(1)
    return [known.get(i) or f"id {i}" for i in cw_ids]


def describe_import(session: Session | None, params: dict, *, scheduled: bool = False) -> str:
    """A readable description of an import run's params. A schedule's "changed" import names its
    moving watermark ("since the previous import") instead of today's value."""
    if params.get("company") not in (None, ""):
        return f"Import company {params['company']} from ConnectWise"
    if params.get("company_ids") is not None:
        n = len(params["company_ids"])
        companies = f"{n} compan{'ies' if n != 1 else 'y'}"
        if session is not None and 0 < n <= NAMED_IN_RETRY:  # a few: named as one company's import names it
            idents = _company_idents(session, [int(i) for i in params["company_ids"]])
            companies = f"compan{'ies' if n != 1 else 'y'} {and_list(idents)}"
        return f"Import {companies} from ConnectWise"  # a true retry's "(retry of #12)" is added as an export's
    if params.get("mode") == "changed":
        if params.get("since"):
            return f"Import companies changed in ConnectWise since {_since(params['since'])}"
        if scheduled:
            return "Import companies changed in ConnectWise since the previous import"
        started = last_import_start(session) if session is not None else None
        if started is not None:
            return f"Import companies changed in ConnectWise since {stored_time(started - WATERMARK_OVERLAP)}"
        return "Import companies changed in ConnectWise since the last import"
    return "Import all companies from ConnectWise"


# --- the jobs form and the command line -----------------------------------------------------------


def customer_by_account(session: Session, number: str, *, field: str) -> int:
    """The customer with this account number (any case), or :class:`FieldErrors` on ``field``."""
    if not number.strip():
        raise FieldErrors({field: "Enter the customer's account number."})
    found = find_by_number(session, Customer.account_number, number)
    if found is None:
        raise FieldErrors({field: f"No customer has the account number {number.strip()!r}. Check it on the "
                                  "customer's page."})
    return found


def export_from_form(session: Session, form: Mapping[str, str]) -> dict:
    scope = form.get("customer_scope")
    if scope == "one":
        return {"customer_id": customer_by_account(session, form.get("account_number") or "", field="account_number")}
    if scope == "range":
        return range_from_form(form, "customer", RANGE_FIELDS)
    if scope == "all":
        return {"all": True}
    raise FieldErrors({"customer_scope": "Choose a specific customer, a date range, or all."})


def company_params(ident: str, *, field: str) -> dict:
    ident = ident.strip()
    if not ident:
        raise FieldErrors({field: "Enter the ConnectWise Company ID of the company to import."})
    if len(ident) > COMPANY_ID_MAX:
        raise FieldErrors({field: f"A ConnectWise Company ID has at most {COMPANY_ID_MAX} characters."})
    return {"company": ident}


def import_from_form(session: Session, form: Mapping[str, str]) -> dict:
    scope = form.get("import_scope")
    if scope == "company":
        return company_params(form.get("company") or "", field="company")
    if scope in ("all", "changed"):
        return {"mode": scope}
    raise FieldErrors({"import_scope": "Choose what to import: one company, all companies, or those changed "
                                       "since the last import."})


def _one_of(options: Mapping[str, object]) -> None:
    if sum(bool(options.get(k)) for k in ("customer", "since", "all")) > 1:
        raise FieldErrors({"options": "Use only one of --customer, --since and --all."})


def export_from_cli(session: Session, options: Mapping[str, object]) -> dict:
    """``--customer ACCOUNT`` | ``--since RANGE`` (``--created`` to select by created date) | ``--all``."""
    _one_of(options)
    if options.get("customer"):
        return {"customer_id": customer_by_account(session, str(options["customer"]), field="--customer")}
    if options.get("since"):
        field = "created" if options.get("created") else "modified"
        return {"range": range_from_cli(str(options["since"]), field, option="--since")}
    if options.get("all"):
        return {"all": True}
    raise FieldErrors({"options": "Say what to export: --customer ACCOUNT, --since DATE or --all."})


def import_from_cli(session: Session, options: Mapping[str, object]) -> dict:
    """``--customer COMPANY_ID`` | ``--since RANGE`` | ``--all``; nothing: what changed since the last import."""
    _one_of(options)
    if options.get("customer"):
        return company_params(str(options["customer"]), field="--customer")
    if options.get("since"):
        spec = range_from_cli(str(options["since"]), "modified", option="--since")
        start = ranges.resolve(spec["preset"], spec.get("start"), spec.get("end")).start
        return {"mode": "changed", "since": start.isoformat()}
    return {"mode": "all"} if options.get("all") else {"mode": "changed"}


# --- Retry ---------------------------------------------------------------------------------------


def _single_target(run: SyncRun, key: str) -> dict | None:
    """A failure without a record id (a company not found, say) retries the run's single target."""
    value = (run.params or {}).get(key)
    return {key: value} if value not in (None, "") else None


def retry_export(session: Session, run: SyncRun, failed: Sequence[SyncItem]) -> dict | None:
    """The customers to export again: failed customers, and the customers of failed contacts."""
    ids = [i.host_id for i in failed if i.entity == "customer" and i.host_id]
    contact_ids = [i.host_id for i in failed if i.entity == "contact" and i.host_id]
    if contact_ids:
        ids += session.execute(select(Contact.customer_id).where(Contact.id.in_(contact_ids))).scalars().all()
    return {"customer_ids": sorted(set(ids))} if ids else _single_target(run, "customer_id")


def retry_import(session: Session, run: SyncRun, failed: Sequence[SyncItem]) -> dict | None:
    """The companies to import again: failed companies, and the companies of failed contacts (an import writes a
    company with its contacts: importing the company again redoes them, and those already imported stay one each)."""
    ids = {i.cw_id for i in failed if i.entity == CUSTOMER and i.cw_id}
    contacts = [i for i in failed if i.entity == CONTACT]
    if contacts:
        ids |= _companies_of_contacts(session, run, contacts)
    return {"company_ids": sorted(ids)} if ids else _single_target(run, "company")


_LIKE_ESCAPE = "\\"


def _label_like(name: str) -> tuple[str, ...]:
    """Case-insensitive LIKE patterns (``ilike``) for a company result labelled ``name``: the name alone, or followed
    by its Company ID ("Acme Ltd (ACME1)"). Only ASCII letters are matched by their case there: SQLite's LIKE and
    lower() fold ASCII only, and PostgreSQL's as its locale says. A letter beyond ASCII (the É of “ÉCOLE”, which
    the label may spell “école”) matches any one character, and one whose case is spelled with more letters (ß)
    any number of them, as does an "ss" (the label may spell it ß); the caller checks the exact casefolded name."""
    out, i = [], 0
    while i < len(name):
        ch = name[i]
        if name[i:i + 2].lower() == "ss":
            out.append("%")
            i += 2
            continue
        if ch in "%_" + _LIKE_ESCAPE:
            out.append(_LIKE_ESCAPE + ch)
        elif ch.isascii():
            out.append(ch)
        else:
            out.append("_" if len(ch.upper()) == len(ch.lower()) == len(ch.casefold()) == 1 else "%")
        i += 1
    like = "".join(out)
    return like, like + " (%", like + "(%"


def _companies_of_contacts(session: Session, run: SyncRun, contacts: Sequence[SyncItem]) -> set[int]:
    """The ConnectWise companies of an import's contact results: through the host contact (its customer's link) or
    the contact's own link; a contact the host does not hold (its write failed) by the company its result names
    ("Ada Lovelace (Acme Ltd)"), among the companies the run imported."""
    host_ids = {i.host_id for i in contacts if i.host_id}
    cw_ids = [i.cw_id for i in contacts if i.cw_id]
    if cw_ids:
        host_ids |= set(session.execute(select(Link.host_id).where(Link.entity == CONTACT, Link.cw_id.in_(cw_ids)))
                        .scalars())
    found = set(session.execute(
        select(Link.cw_id).join(Contact, Contact.customer_id == Link.host_id)
        .where(Link.entity == CUSTOMER, Contact.id.in_(host_ids))).scalars()) if host_ids else set()
    placed = {c for c in session.execute(select(Contact.id).where(Contact.id.in_(host_ids))).scalars()} \
        if host_ids else set()
    unplaced = [i for i in contacts if not (i.host_id and i.host_id in placed)]
    wanted = {m.group(1).strip() for i in unplaced if (m := _IDENT_IN_LABEL.search(i.label or ""))} - {""}
    if wanted:
        # Only the company results labelled with a name wanted ("Acme Ltd (ACME1)", or "Acme Ltd" alone), not
        # every company the run imported, the case aside (_label_like); the exact (casefolded) name is checked below.
        starts = [SyncItem.label.ilike(like, escape=_LIKE_ESCAPE)
                  for name in wanted for like in _label_like(name)]
        by_name: dict[str, int] = {}
        for cw_id, label in session.execute(select(SyncItem.cw_id, SyncItem.label).where(
                SyncItem.run_id == run.id, SyncItem.entity == CUSTOMER, SyncItem.cw_id.is_not(None), or_(*starts))
                .order_by(SyncItem.id)):
            name = _IDENT_IN_LABEL.sub("", label or "").strip()
            if name:
                by_name.setdefault(name.casefold(), cw_id)
        found |= {cw_id for name in wanted if (cw_id := by_name.get(name.casefold()))}
    return found


CUSTOMER_EXPORT = JobKind(
    "customer_export", "Customer export (ChannelOnline → ConnectWise)", run_export, describe_export,
    form_job="customer", form_job_label="customer", form_source="channelonline",
    form_source_prompt="Choose the source of the customer data: ChannelOnline (export) or ConnectWise (import).",
    form_template="colcw/jobs/_customer_form.html", range_fields=RANGE_FIELDS, parse_form=export_from_form, parse_cli=export_from_cli, retry=retry_export,
    retry_nouns=("customer", "customers"), record_labels=customer_labels,
    one_record=lambda params: params.get("customer_id") is not None,  # a rep's export of one customer
    # a failed contact is retried with its customer (retry_export): the button counts it as the contact it is
    retry_entities={"customer": ("customer", "customers"), "contact": ("contact", "contacts")})
CUSTOMER_IMPORT = JobKind(
    "customer_import", "Customer import (ConnectWise → ChannelOnline)", run_import, describe_import,
    form_job="customer", form_job_label="customer", form_source="connectwise",
    form_source_prompt=CUSTOMER_EXPORT.form_source_prompt, form_template=CUSTOMER_EXPORT.form_template,
    parse_form=import_from_form, parse_cli=import_from_cli, retry=retry_import,
    retry_nouns=("company", "companies"),
    one_record=lambda params: params.get("company") not in (None, ""),  # one company, by its Company ID
    # a failed contact is retried with its company (retry_import): the button counts it as the contact it is
    retry_entities={"customer": ("company", "companies"), "contact": ("contact", "contacts")})


def register(kinds: KindRegistry) -> None:
    """Register the customer job kinds."""
    kinds.register(CUSTOMER_EXPORT)
    kinds.register(CUSTOMER_IMPORT)
