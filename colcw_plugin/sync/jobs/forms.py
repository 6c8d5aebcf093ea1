"""The Synchronization Jobs forms → a job kind and its params (the contract of the sync services).

* Customer job, source ChannelOnline → ``customer_export``: ``{"customer_id"}`` (chosen by account
  number), ``{"range": {"field": "modified"|"created", "preset", ["start", "end"]}}`` or ``{"all": true}``.
* Customer job, source ConnectWise → ``customer_import``: ``{"company": "<Company ID>"}``,
  ``{"mode": "all"}`` or ``{"mode": "changed"}``.
* Quote job → ``quote_export``: ``{"document_id"}`` (by document number), ``{"range": {"field":
  "created"|"modified"|"follow_up", ...}}`` or ``{"all": true}``.

Preset ranges (today, last 7 / 15 / 30 days) keep no dates, so a scheduled job's range moves with
the day it runs; a custom range keeps its start and end.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from host_stub.models import Customer, Document

from . import ranges


class JobFormError(ValueError):
    """Invalid job form input; ``errors`` maps form fields to messages saying what to do."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


CUSTOMER_RANGE_FIELDS = {"modified": "Last Modified", "created": "Created Date"}
QUOTE_RANGE_FIELDS = {"created": "Created Date", "modified": "Last Modified", "follow_up": "Follow-up Date"}


def parse_job_form(session: Session, form: dict) -> tuple[str, dict]:
    """(kind, params) from a submitted job form; :class:`JobFormError` when something is missing."""
    job = form.get("job")
    if job == "customer":
        if form.get("source") == "connectwise":
            return "customer_import", _import_params(form)
        if form.get("source") == "channelonline":
            return "customer_export", _export_params(session, form, "customer")
        raise JobFormError({"source": "Choose the source of the customer data: ChannelOnline (export) or "
                                      "ConnectWise (import)."})
    if job == "quote":
        return "quote_export", _export_params(session, form, "quote")
    raise JobFormError({"job": "Choose a job type: customer or quote / order."})


def _import_params(form: dict) -> dict:
    scope = form.get("import_scope")
    if scope == "company":
        ident = (form.get("company") or "").strip()
        if not ident:
            raise JobFormError({"company": "Enter the ConnectWise Company ID of the company to import."})
        if len(ident) > 30:
            raise JobFormError({"company": "A ConnectWise Company ID has at most 30 characters."})
        return {"company": ident}
    if scope in ("all", "changed"):
        return {"mode": scope}
    raise JobFormError({"import_scope": "Choose what to import: one company, all companies, or those changed "
                                        "since the last import."})


def _export_params(session: Session, form: dict, what: str) -> dict:
    scope = form.get(f"{what}_scope")
    if scope == "one":
        if what == "customer":
            number = (form.get("account_number") or "").strip()
            if not number:
                raise JobFormError({"account_number": "Enter the customer's account number."})
            found = session.execute(select(Customer.id).where(func.lower(Customer.account_number) == number.lower())
                                    ).scalar()
            if found is None:
                raise JobFormError({"account_number": f"No customer has the account number {number!r}. Check it "
                                                      "on the customer's page."})
            return {"customer_id": found}
        number = (form.get("document_number") or "").strip()
        if not number:
            raise JobFormError({"document_number": "Enter the quote or sales order number."})
        found = session.execute(select(Document.id).where(func.lower(Document.number) == number.lower())).scalar()
        if found is None:
            raise JobFormError({"document_number": f"No quote or sales order has the number {number!r}."})
        return {"document_id": found}
    if scope == "range":
        fields = CUSTOMER_RANGE_FIELDS if what == "customer" else QUOTE_RANGE_FIELDS
        field = form.get(f"{what}_range_field") or ""
        if field not in fields:
            raise JobFormError({f"{what}_range_field": "Choose which date the range applies to: "
                                                       + ", ".join(fields.values()) + "."})
        preset = form.get(f"{what}_preset") or ""
        start, end = (form.get(f"{what}_start") or "").strip(), (form.get(f"{what}_end") or "").strip()
        try:
            ranges.resolve(preset, start, end)
        except ValueError as e:
            raise JobFormError({f"{what}_preset": str(e)}) from None
        spec = {"field": field, "preset": preset}
        if preset == "custom":
            spec.update(start=start, end=end)
        return {"range": spec}
    if scope == "all":
        return {"all": True}
    noun = "customer" if what == "customer" else "quote / order"
    raise JobFormError({f"{what}_scope": f"Choose a specific {noun}, a date range, or all."})
