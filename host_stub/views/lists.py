"""What the list pages (All Customers, Quotes, Sales Orders) share: plugins' filters, columns, bulk
actions and HTML (see the list hooks in :mod:`host_stub.hookspecs`).

Plugins return data; this module applies their filters to the page's own query (so the page, its
count and "all matching" agree), asks for their columns once per page with the ids shown, and
resolves a bulk selection (the rows ticked, or every row matching the search) before handing it to
the plugin that owns the action.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from flask import abort, current_app, flash, redirect, request, url_for
from markupsafe import Markup, escape
from sqlalchemy import Select

from ..extensions import db
from ..plugins import call_hook, collect_html
from . import current_actor, safe_target

log = logging.getLogger(__name__)

MAX_BULK = 5000  # rows one bulk action may take ("all matching" on a very broad search is refused)


@dataclass
class ListExtras:
    """What plugins add to one list page."""

    name: str
    filters: list[dict] = field(default_factory=list)
    columns: list[dict] = field(default_factory=list)
    bulk_actions: list[dict] = field(default_factory=list)
    slot: object = ""

    def filter_args(self) -> dict[str, str]:
        """The chosen filter values, for links that keep them (the pager, the bulk form)."""
        return {f["name"]: f["value"] for f in self.filters if f.get("value")}

    def filters_html(self) -> Markup:
        """The plugins' filters for the search form: a labelled ``<select>`` each, its chosen option selected. Made
        here, as the row cells below are: through a macro, every option's look-ups and escapes went through the
        template runtime on every GET. An option that is not a dict is left out (the plugin's mistake)."""
        out = []
        for f in self.filters:
            chosen = f.get("value")
            if f.get("hidden"):  # a parameter the list keeps (hookspecs.list_filters): sent again with a new search
                if chosen:
                    out.append(f'<input type="hidden" name="{escape(f["name"])}" value="{escape(chosen)}">')
                continue
            options = "".join(
                f'<option value="{escape(o.get("value", ""))}"{" selected" if o.get("value") == chosen else ""}>'
                f'{escape(o.get("label", ""))}</option>' for o in f["options"] if isinstance(o, dict))
            out.append(f'<label class="inline-label">{escape(f["label"])}\n  <select name="{escape(f["name"])}" '
                       f'data-list-filter>\n    {options}\n  </select></label>')
        return Markup("".join(out))  # noqa: S704 - every value in it escaped

    # A row's cells for what plugins add, made here rather than by template macros: a list of 50 rows called
    # two macros per row, a tenth of the page's render time.

    def select_cell(self, row_id: int, label: object) -> Markup:
        """The row's tick box for the bulk actions (nothing when there are none)."""
        if not self.bulk_actions:
            return Markup("")
        value = row_id if type(row_id) is int else escape(row_id)  # an id is a number: nothing to escape
        return Markup(f'<td class="select"><input type="checkbox" name="ids" value="{value}" '  # noqa: S704
                      f'form="bulk-form" aria-label="Select {escape(label)}"></td>')  # every value escaped

    def column_cells(self, row_id: int) -> Markup:
        """The row's cell in each plugin column (a tag, linked when the cell has an ``href``; empty when the
        column has nothing for the row yet)."""
        blank = self._blank_cells
        return blank if blank is not None else self._cells(row_id)

    @cached_property
    def _blank_cells(self) -> Markup | None:
        """Every row's cells when no column has any on the page (colcw's load after it), made once; else None."""
        return None if any(col["cells"] for col in self.columns) else self._cells(None)

    def _cells(self, row_id: int | None) -> Markup:
        out = []
        for col in self.columns:
            cell = col["cells"].get(row_id)
            inner = ""
            if isinstance(cell, dict) and cell:
                tag = "a" if cell.get("href") else "span"
                href = f' href="{escape(cell["href"])}"' if tag == "a" else ""
                title = f' title="{escape(cell["title"])}"' if cell.get("title") else ""
                inner = (f'<{tag}{href} class="tag tone-{escape(cell.get("tone") or "muted")}"{title}>'
                         f'{escape(cell.get("label", ""))}</{tag}>')
            out.append(f'<td data-column="{escape(col.get("key", ""))}">{inner}</td>')
        return Markup("".join(out))  # noqa: S704 - every value in it escaped (Markup.format costs 4x)


def _pm():
    return current_app.extensions["host_stub"]["pm"]


def _hook(name: str, **kwargs) -> list:
    return call_hook(_pm(), name, actor=current_actor(), request=request, **kwargs)


def filtered(list_name: str, stmt: Select, id_column) -> tuple[Select, list[dict]]:
    """``stmt`` narrowed by the plugins' chosen filters, and the filters to show."""
    filters: list[dict] = []
    for result in _hook("list_filters", list_name=list_name, id_column=id_column):
        for f in result if isinstance(result, list | tuple) else [result]:
            if not (isinstance(f, dict) and f.get("name") and (
                    f.get("hidden") or (f.get("label") and isinstance(f.get("options"), list)))):
                log.warning("list_filters returned a malformed filter %r; ignored", f)
                continue
            f.setdefault("value", "")
            if f.get("where") is not None:
                stmt = stmt.where(f["where"])
            filters.append(f)
    return stmt, filters


# The largest page a list opens: far past any list's last page, and its OFFSET fits every database's integer (a larger
# number typed in an address overflowed SQLite's INTEGER and PostgreSQL's bigint: a 500).
MAX_PAGE = 10**9


def paginate(stmt: Select, per_page: int):
    """A page of ``stmt`` as the request asks for it; a page past the last (a bookmark, the list shrank, a number too
    large for a database) shows the last page, not "Page 99 of 3" with no rows or an error."""
    page = db.paginate(stmt, page=min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE), per_page=per_page,
                       error_out=False)
    if page.pages and page.page > page.pages:
        page = db.paginate(stmt, page=page.pages, per_page=per_page, error_out=False)
    return page


def page_extras(list_name: str, ids: list[int], filters: list[dict]) -> ListExtras:
    """The plugins' columns for the rows ``ids``, their bulk actions and their HTML."""
    extras = ListExtras(list_name, filters=filters)
    if ids:
        for col in _hook("list_columns", list_name=list_name, ids=list(ids)):
            if isinstance(col, dict) and col.get("label") and isinstance(col.get("cells"), dict):
                extras.columns.append(col)
            else:
                log.warning("list_columns returned a malformed column %r; ignored", col)
    for result in _hook("list_bulk_actions", list_name=list_name):
        extras.bulk_actions += [a for a in (result if isinstance(result, list | tuple) else [result])
                                if isinstance(a, dict) and a.get("name") and a.get("label")]
    extras.slot = collect_html(_pm(), "list_render", list_name=list_name, actor=current_actor(), request=request)
    return extras


def bulk(list_name: str, query: Callable[[], Select], id_column, list_endpoint: str):
    """The POST of a list's bulk form: resolve the selection, hand it to the action's plugin.

    The form's URL carries the list's own query string, so ``query()`` rebuilds exactly the search
    and filters the person saw; "all matching" takes every row of it.
    """
    # Back to the page the rows were ticked on ("all matching" spans every page: back to the first).
    everything = bool(request.form.get("all_matching"))
    args = {k: v for k, v in request.args.items() if not (k == "page" and everything)}
    back = url_for(list_endpoint, **args)
    action = request.form.get("action", "")
    stmt = query().with_only_columns(id_column).order_by(None)
    if request.form.get("all_matching"):
        ids = list(db.session.execute(stmt.limit(MAX_BULK + 1)).scalars())
        if len(ids) > MAX_BULK:
            flash(f"More than {MAX_BULK:,} rows match this search: narrow it (search or filter) and try again.",
                  "error")
            return redirect(back)
    else:
        raw = request.form.getlist("ids")
        if any(not r.isdigit() for r in raw):
            abort(400)
        wanted = sorted({int(r) for r in raw})
        ids = list(db.session.execute(stmt.where(id_column.in_(wanted))).scalars()) if wanted else []
    if not ids:
        flash("Select at least one row (or “all matching this search”), then choose the action.", "error")
        return redirect(back)
    results = _hook("list_bulk_action", list_name=list_name, action=action, ids=sorted(ids), back=back)
    if not results or not isinstance(results[0], dict) or not results[0].get("redirect"):
        flash("That action is not available any more; reload the page.", "error")
        return redirect(back)
    result = results[0]
    if result.get("message"):
        flash(result["message"], result.get("category", "success"))
    return redirect(safe_target(str(result["redirect"]), back))
