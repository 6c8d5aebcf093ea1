"""colcw on the host's list pages (All Customers, Quotes, Sales Orders): the ConnectWise status
column and filter, the "Export to ConnectWise" bulk action, and the progress of that run above the
list (see the list hooks in ``host_stub/hookspecs.py``).

Each list maps to its feature's status service and export kind; the hookimpls in ``hooks.py`` call
these functions. The status column's cells load after the page is shown: the column is empty on the page,
and one request (:func:`list_status`, htmx) fills every row's cell, so the list's own render costs what
the bare host's does; without JavaScript a link opens the statuses as a page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import abort, g, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from redis.exceptions import RedisError

from host_stub.extensions import db
from host_stub.views import current_actor, referrer_path

from ..errors import QueueBusy
from ..models import RecordState, SyncRun
from ..sync.customers import list_status as customer_status
from ..sync.jobs import history
from ..sync.quotes import KIND as QUOTE_EXPORT
from ..sync.quotes import list_status as document_status
from . import rep_bp
from .parts import arg, filled, fixed_url, fragment_or_page
from .support import ASK_AN_ADMIN, queue_busy, queue_unreachable, runtime
from .zone import display_zone

RUN_PARAM = "colcw_run"  # the list URL's parameter naming the bulk run to follow
FILTER_PARAM = "cw"
MAX_STATUS_ROWS = 500  # rows one status request may ask for (a list page shows far fewer)
# Where the list's statuses come from: htmx asks once the page is shown and swaps each row's cell in (hx-swap-oob).
STATUS_LOADER = ('<div id="colcw-list-status" hx-get="{url}" hx-trigger="load" hx-swap="none"><noscript>'
                 '<p class="hint"><a href="{url}">ConnectWise status of these rows</a></p></noscript></div>')
# While the bulk run the list follows is unfinished, the statuses are asked for again every 2 s: a row its run has not
# reached says so, and turns to its new state once the run has done it. The answer that finds nothing left to follow
# puts the loader back without the repeat (colcw/lists/_status_cells.html, stop_following).
STATUS_FOLLOWER = STATUS_LOADER.replace('hx-trigger="load"', 'hx-trigger="load, every 2s"')


@dataclass(frozen=True)
class ListFeature:
    """What colcw does on one host list."""

    states: Callable  # (session, ids) -> {id: RowState}
    state_filter: Callable  # (value) -> clause | None
    options: list[tuple[str, str]]  # the filter's options: (value, label), each selecting the rows showing that label
    kind: str  # the export job kind
    ids_param: str  # its params key for a list of records
    noun: tuple[str, str]
    entity: str  # what the export's results for one row are recorded as


DOCUMENT_OPTIONS = [(s.value, document_status.LABELS[s]) for s in RecordState]

LIST_PAGES = {"customers": "customers.list_customers", "quotes": "documents.list_quotes",
              "orders": "documents.list_orders"}
FEATURES = {
    "customers": ListFeature(customer_status.row_states, customer_status.state_filter, customer_status.FILTER_OPTIONS,
                             "customer_export", "customer_ids", ("customer", "customers"), "customer"),
    "quotes": ListFeature(document_status.row_states, document_status.state_filter, DOCUMENT_OPTIONS,
                          QUOTE_EXPORT, "document_ids", ("quote", "quotes"), "document"),
    "orders": ListFeature(document_status.row_states, document_status.state_filter, DOCUMENT_OPTIONS,
                          QUOTE_EXPORT, "document_ids", ("sales order", "sales orders"), "document"),
}


def column(list_name: str, ids: list[int]) -> dict | None:
    """The ConnectWise column, its cells empty: :func:`slot` loads them after the page."""
    if list_name not in FEATURES:
        return None
    g.colcw_list_rows = (list_name, list(ids))
    return {"key": "colcw", "label": "ConnectWise", "cells": {}}


def slot(list_name: str) -> Markup | None:
    """Above the list: the bulk run it follows, and the loader of its rows' statuses (following the run's progress
    row by row while it is unfinished)."""
    run = followed_run()
    parts = [run_panel(run)]
    # Taken, not read: a request whose page has no rows (a filter matching none) must not find an earlier one's.
    shown, ids = g.pop("colcw_list_rows", (None, []))
    if shown == list_name and ids:
        # ids are ints: joined by hand, not url-encoded by url_for (which costs more than the rest of the hook)
        url = f'{fixed_url("colcw.list_status", list_name=list_name)}?ids={",".join(map(str, ids))}'
        if run is not None and history.followable(run, FEATURES[list_name].kind):
            parts.append(filled(STATUS_FOLLOWER, f"{url}&run={run.id}"))
        else:
            parts.append(filled(STATUS_LOADER, url))
    return Markup("").join(p for p in parts if p) or None


@rep_bp.route("/lists/<list_name>/status", methods=["GET"])
@login_required
def list_status(list_name: str):
    """The ConnectWise state of the rows ``ids`` of a list: each row's cell (htmx swaps them into the list),
    or a page of its own without JavaScript."""
    feature = FEATURES.get(list_name)
    raw, raw_run = request.args.get("ids", ""), request.args.get("run", "")
    parts = raw.split(",") if raw else []
    if feature is None or len(parts) > MAX_STATUS_ROWS or not all(p.isdigit() for p in parts) \
            or not (raw_run == "" or raw_run.isdigit()):
        abort(404 if feature is None else 400)
    ids = [int(p) for p in parts]
    states = feature.states(db.session, ids)
    in_run = None
    if raw_run:  # the list follows a bulk run: which of its rows the run has still to do
        run = db.session.get(SyncRun, int(raw_run))
        if run is not None and can_see(run):
            in_run = history.not_reached(db.session, run, feature.kind, feature.entity, feature.ids_param, ids)
    return fragment_or_page(
        render_template("colcw/lists/_status_cells.html", states=states, in_run=in_run,
                        stop_following=bool(raw_run) and not (in_run and in_run.waiting)),
        "colcw/lists/status.html", states=states, in_run=in_run, noun=feature.noun,
        back=referrer_path(url_for(LIST_PAGES[list_name])))


def filters(list_name: str) -> list[dict]:
    feature = FEATURES.get(list_name)
    if feature is None:
        return []
    value = arg(FILTER_PARAM)
    where = feature.state_filter(value) if value else None
    followed = arg(RUN_PARAM)
    return [{"name": FILTER_PARAM, "label": "ConnectWise",
             "options": [{"value": "", "label": "Any status"}] + [{"value": v, "label": label}
                                                                  for v, label in feature.options],
             "value": value if where is not None else "", "where": where},
            # The bulk run the list follows stays followed on another page and after a new search or filter.
            {"name": RUN_PARAM, "hidden": True, "value": followed if followed.isdigit() else ""}]


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
        submitted = runtime().submit(db.session, feature.kind, {feature.ids_param: ids, "selected": True},
                                     trigger="manual", actor=current_actor())
    except QueueBusy:
        db.session.rollback()
        one, many = feature.noun
        return {"redirect": back, "category": "error",
                "message": queue_busy(f"another export of these {len(ids)} {one if len(ids) == 1 else many}")}
    except RedisError:
        db.session.rollback()
        return {"redirect": back, "category": "error",
                "message": queue_unreachable("The export", ASK_AN_ADMIN)}
    one, many = feature.noun
    what = f"{len(ids)} {one if len(ids) == 1 else many}"
    run = submitted.run
    message = (f"That export is already {run.status} as run #{run.id}." if submitted.duplicate
               else f"Exporting {what} to ConnectWise as run #{run.id}.")
    return {"redirect": following(back, run.id), "message": message, "category": "success"}


def following(url: str, run_id: int) -> str:
    """The list at ``url`` following run ``run_id`` (in place of a run it followed)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != RUN_PARAM]
    return urlunsplit(parts._replace(query=urlencode([*query, (RUN_PARAM, str(run_id))])))


def followed_run() -> SyncRun | None:
    """The bulk run named in the list's URL, when the person may see it."""
    raw = arg(RUN_PARAM)
    run = db.session.get(SyncRun, int(raw)) if raw.isdigit() else None
    return run if run is not None and can_see(run) else None


def run_panel(run: SyncRun | None) -> Markup | None:
    """The progress of the bulk run the list follows, with its log."""
    if run is None:
        return None
    return Markup(render_template("colcw/lists/_run_panel.html", run=run, zone=display_zone()))  # noqa: S704 - autoescaped


def can_see(run: SyncRun) -> bool:
    """Admins see every run; a rep the runs they started."""
    return current_user.is_authenticated and (current_user.is_admin or run.requested_by_id == current_user.id)


def run_log_url(run: SyncRun) -> str:
    return url_for("colcw.run_log", run_id=run.id)
