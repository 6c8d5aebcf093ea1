"""Customer and contact synchronisation (export to and import from ConnectWise): the job kinds.

``customer_export`` params: ``{"customer_id": id}``, ``{"customer_ids": [...]}`` (a retry),
``{"range": {"field": "modified"|"created", "preset": ..., "start", "end"}}`` or ``{"all": true}``.
``customer_import`` params: ``{"company": "<Company ID or id>"}``, ``{"company_ids": [...]}``,
``{"mode": "all"}`` or ``{"mode": "changed"}`` (optionally ``"since": "<ISO datetime>"``).
The services are :mod:`.customer_export` and :mod:`.customer_import`.
"""

from __future__ import annotations

from flask import has_app_context
from sqlalchemy import select

from ..jobs.ranges import PRESET_LABELS
from ..jobs.runs import JobKind, register
from .exporter import run_export
from .importer import run_import


def _account_number(customer_id: int) -> str:
    """The customer's account number for a description (the id when there is no app context)."""
    if has_app_context():
        from host_stub.extensions import db
        from host_stub.models import Customer

        number = db.session.execute(select(Customer.account_number).where(Customer.id == customer_id)).scalar()
        if number:
            return number
    return f"#{customer_id}"


def _last_import():
    """The incremental import's watermark for a description (None without an app context)."""
    if not has_app_context():
        return None
    from host_stub.extensions import db

    from .importer import WATERMARK_OVERLAP, last_import_start

    started = last_import_start(db.session)
    return started - WATERMARK_OVERLAP if started else None


def describe_export(params: dict) -> str:
    """A readable description of an export run's params."""
    if params.get("customer_id") is not None:
        return f"Export customer {_account_number(int(params['customer_id']))} to ConnectWise"
    if params.get("customer_ids") is not None:
        n = len(params["customer_ids"])
        return f"Export {n} customer{'s' if n != 1 else ''} to ConnectWise (retry)"
    if params.get("range"):
        r = params["range"]
        what = "created" if r.get("field") == "created" else "modified"
        if r.get("preset") == "custom":
            span = f"from {r.get('start')} to {r.get('end')}"
        else:
            span = PRESET_LABELS.get(r.get("preset", ""), str(r.get("preset"))).lower()
            span = "today" if span == "today" else f"in the {span}"
        return f"Export customers {what} {span} to ConnectWise"
    return "Export all customers to ConnectWise"


def describe_import(params: dict) -> str:
    """A readable description of an import run's params."""
    if params.get("company") not in (None, ""):
        return f"Import company {params['company']} from ConnectWise"
    if params.get("company_ids") is not None:
        n = len(params["company_ids"])
        return f"Import {n} compan{'ies' if n != 1 else 'y'} from ConnectWise (retry)"
    if params.get("mode") == "changed":
        if params.get("since"):
            return f"Import companies changed in ConnectWise since {str(params['since'])[:16].replace('T', ' ')} UTC"
        since = _last_import()
        if since is not None:
            return f"Import companies changed in ConnectWise since {since:%Y-%m-%d %H:%M} UTC"
        return "Import companies changed in ConnectWise since the last import"
    return "Import all companies from ConnectWise"


CUSTOMER_EXPORT = register(JobKind("customer_export", "Customer export (ChannelOnline → ConnectWise)", run_export,
                                   describe_export))
CUSTOMER_IMPORT = register(JobKind("customer_import", "Customer import (ConnectWise → ChannelOnline)", run_import,
                                   describe_import))
