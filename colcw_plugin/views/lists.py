"""colcw on the host's list pages (All Customers, Quotes, Sales Orders): the ConnectWise status
column and filter, the "Export to ConnectWise" bulk action, and the progress of that run above the
list (see the list hooks in ``host_stub/hookspecs.py``).

Each list maps to its feature's status service and export kind; the hookimpls in ``hooks.py`` call
these functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from redis.exceptions import RedisError

from host_stub.extensions import db
from host_stub.views import current_actor

from ..models import RecordState, SyncRun
from ..sync.customers import list_status as customer_status
from ..sync.quotes import KIND as QUOTE_EXPORT
from ..sync.quotes import list_status as document_status
from .support import runtime

RUN_PARAM = "colcw_run"  # the list URL's parameter naming the bulk run to follow
FILTER_PARAM = "cw"


@dataclass(frozen=True)
class ListFeature:
    """What colcw does on one host list."""

    states: Callable  # (session, ids) -> {id: RowState}
    state_filter: Callable  # (value) -> clause | None
    labels: dict
    kind: str  # the export job kind
    ids_param: str  # its params key for a list of records
    noun: tuple[str, str]


FEATURES = {
    "customers": ListFeature(customer_status.row_states, customer_status.state_filter, customer_status.LABELS,
                             "customer_export", "customer_ids", ("customer", "customers")),
    "quotes": ListFeature(document_status.row_states, document_status.state_filter, document_status.LABELS,
                          QUOTE_EXPORT, "document_ids", ("quote", "quotes")),
    "orders": ListFeature(document_status.row_states, document_status.state_filter, document_status.LABELS,
                          QUOTE_EXPORT, "document_ids", ("sales order", "sales orders")),
}


def column(list_name: str, ids: list[int]) -> dict | None:
    feature = FEATURES.get(list_name)
    if feature is None:
        return None
    states = feature.states(db.session, ids)
    return {"key": "colcw", "label": "ConnectWise",
            "cells": {i: {"label": s.label, "title": s.reason, "tone": s.state.tone} for i, s in states.items()}}


def filters(list_name: str) -> list[dict]:
    feature = FEATURES.get(list_name)
    if feature is None:
        return []
    value = request.args.get(FILTER_PARAM, "")
    where = feature.state_filter(value) if value else None
    return [{"name": FILTER_PARAM, "label": "ConnectWise",
             "options": [{"value": "", "label": "Any status"}] + [{"value": s.value, "label": feature.labels[s]}
                                                                  for s in RecordState],
             "value": value if where is not None else "", "where": where}]


def bulk_actions(list_name: str) -> list[dict]:
    if list_name not in FEATURES:
        return []
    return [{"name": "colcw-export", "label": "Export to ConnectWise",
             "description": "Export the selected rows to ConnectWise in one run"}]


def bulk_action(list_name: str, action: str, ids: list[int], back: str) -> dict | None:
    feature = FEATURES.get(list_name)
    if feature is None or action != "colcw-export":
        return None
    try:
        run = runtime().submit(db.session, feature.kind, {feature.ids_param: ids, "selected": True},
                               trigger="manual", actor=current_actor())
    except RedisError:
        db.session.rollback()
        return {"redirect": back, "category": "error",
                "message": "The export could not be queued: the job queue (Redis) is not reachable. Try again in "
                           "a minute; if it persists, ask an admin to check the colcw workers."}
    one, many = feature.noun
    what = f"{len(ids)} {one if len(ids) == 1 else many}"
    message = (f"That export is already {run.status} as run #{run.id}." if run.duplicate
               else f"Exporting {what} to ConnectWise as run #{run.id}.")
    sep = "&" if "?" in back else "?"
    return {"redirect": f"{back}{sep}{RUN_PARAM}={run.id}", "message": message, "category": "success"}


def run_panel() -> Markup | None:
    """The progress of the bulk run named in the list's URL, with its log (for the one who may see it)."""
    raw = request.args.get(RUN_PARAM, "")
    run = db.session.get(SyncRun, int(raw)) if raw.isdigit() else None
    if run is None or not can_see(run):
        return None
    return Markup(render_template("colcw/lists/_run_panel.html", run=run))  # noqa: S704 - autoescaped template


def can_see(run: SyncRun) -> bool:
    """Admins see every run; a rep the runs they started."""
    return current_user.is_authenticated and (current_user.is_admin or run.requested_by_id == current_user.id)


def run_log_url(run: SyncRun) -> str:
    return url_for("colcw.run_log", run_id=run.id)
