"""The host's plugin contract.

Plugins are pluggy plugins registered under the entry-point group ``host_stub`` (the same
name is the pluggy project name). Every hook is called with keyword arguments only, and the
host guards every implementation: a plugin that raises is logged and skipped, never breaking
a host page or a save (see :mod:`host_stub.plugins`).

Arguments:

* ``actor`` is a plain dict ``{"id", "email", "name", "role"}`` for the signed-in user, or
  ``{"id": None, "system": "<name>", "role": "system"}`` when a background process acted, or
  ``None`` for an anonymous visitor.
* ``request`` is the current :class:`flask.Request` (render hooks only).
* Records are passed as *snapshots*: plain dicts of column values (see
  :func:`host_stub.snapshots.customer_snapshot` and friends) with their ``id``. Plugins that
  need to write go through the host's services, never through an ORM object they were given.

Link hooks return a list of ``{"href", "label", "description"?, "attrs"?}`` dicts which the
host renders; HTML hooks return :class:`markupsafe.Markup` (or ``None``) which the host joins
into one slot. The list hooks (All Customers, Quotes, Sales Orders) return plain data, never HTML:
the host renders every column, filter and action itself, in the same way for every plugin.

Writing: plugins change host data through the service API, :class:`host_stub.gateway.UnitOfWork`
on their own session (customers and contacts, documents, locking). A plugin that mirrors a
document in another system records where it stands there with
``UnitOfWork.set_external_status(document_id, source, status=..., label=..., detail=..., url=...,
changed_at=...)`` (``clear_external_status`` forgets it): ``status`` is open, won, lost, closed or
deleted, ``label`` the sentence people read ("Won in ConnectWise on 2026-05-04 by Sam Admin").
The host shows it on the quote / sales order page and in the Quotes and Sales Orders lists; it is
not an edit of the document, so it fires no event and works on locked documents.
"""

from __future__ import annotations

import pluggy

PROJECT = "host_stub"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- set-up -------------------------------------------------------------------------------


@hookspec
def host_init_app(app):
    """Called once from ``create_app`` after the host's own blueprints are registered.

    Register blueprints, CLI commands (``app.cli``), template globals and extensions here.
    Return value ignored.
    """


@hookspec
def host_migrations():
    """Return a dict ``{"name", "script_location", "version_table"}`` describing the plugin's own
    Alembic migration history, or ``None``.

    ``flask --app host_stub upgrade-db`` upgrades the host's history first, then each plugin's,
    so a plugin's tables can be added to an existing host database and upgraded later.
    """


# --- pages: links and HTML ----------------------------------------------------------------


@hookspec
def admin_menu(actor, request):
    """Entries for the Integration menu of the admin section.

    Called only for admins. Return a list of link dicts.
    """


@hookspec
def customers_list_actions(actor, request):
    """Action links shown above the results on the All Customers page. Return a list of link dicts."""


@hookspec
def customers_list_render(actor, request):
    """HTML added below the All Customers actions (e.g. a popup's markup). Return ``Markup`` or None."""


@hookspec
def customer_view_actions(customer, actor, request):
    """Action links on a customer's view page. ``customer`` is a snapshot with its contacts."""


@hookspec
def customer_view_render(customer, actor, request):
    """HTML shown in the plugin slot of a customer's view page (e.g. sync status). Return ``Markup``."""


@hookspec
def document_view_actions(document, actor, request):
    """Action links on a quote's or sales order's view page. ``document`` is a snapshot with lines."""


@hookspec
def document_view_render(document, actor, request):
    """HTML shown in the plugin slot of a quote's or sales order's view page. Return ``Markup``."""


# --- assets on every page -----------------------------------------------------------------


@hookspec
def extra_css_urls(request):
    """Stylesheets for every page's ``<head>``: return a list of URLs (the plugin serves them)."""


@hookspec
def extra_js_urls(request):
    """Scripts for every page, loaded with ``defer`` at the end of ``<head>``: return a list of URLs.

    Pages must keep working without them: a script only improves what a plain form already does.
    """


# --- list pages: All Customers (``customers``), Quotes (``quotes``), Sales Orders (``orders``) ----


LIST_NAMES = ("customers", "quotes", "orders")


@hookspec
def list_columns(list_name, ids, actor, request):
    """A column for the rows shown on a list page, called once per page with the ids of its rows.

    Return ``{"key": str, "label": str, "cells": {row_id: cell}}`` (or None), where a cell is
    ``{"label": str, "title"?: str (shown on hover), "tone"?: "ok" | "warn" | "error" | "muted",
    "href"?: str}``. Read every row in one query (the host budgets list pages per plugin), never
    one per row. Rows without a cell show an empty one.
    """


@hookspec
def list_filters(list_name, id_column, actor, request):
    """Filters a plugin adds to a list page's search form.

    Return a list of ``{"name": str (the query parameter), "label": str, "options": [{"value",
    "label"}], "value": str (the chosen value, "" for all), "where": clause | None}``. ``where`` is
    a SQLAlchemy boolean clause on ``id_column`` (the listed table's primary key column) that the
    host adds to its own query, so paging, counts and "all matching" bulk actions all agree; the
    plugin reads the chosen value from ``request.args[name]``.

    ``{"name": str, "value": str, "hidden": True}`` (no label, no options) is a parameter the list keeps rather than
    a choice it shows: a hidden field of the search form, and in the pager's links, while it has a value (a plugin's
    view of the list that must survive a new search or another page, such as the run it follows).
    """


@hookspec
def list_bulk_actions(list_name, actor, request):
    """Actions on rows selected on a list page: a list of ``{"name", "label", "description"?}``.

    The host shows a checkbox per row, "all N matching this search", and a button per action;
    submitting calls :func:`list_bulk_action`.
    """


@hookspec(firstresult=True)
def list_bulk_action(list_name, action, ids, back, actor, request):
    """Carry out bulk action ``action`` (a ``name`` from :func:`list_bulk_actions`) on the rows ``ids``
    (the ones ticked, or every row matching the list's search and filters, resolved by the host).

    ``back`` is the list page's URL with its search and filters. Return ``{"redirect": url,
    "message"?: str, "category"?: "success" | "error"}``, or None when ``action`` is not this
    plugin's (the first plugin that answers wins).
    """


@hookspec
def list_render(list_name, actor, request):
    """HTML above a list page's table (e.g. the progress of a bulk action). Return ``Markup`` or None."""


# --- warnings after a save (non-blocking) ---------------------------------------------------


@hookspec
def document_save_warnings(document, created, actor, request):
    """A person saved a quote or sales order in the host's edit form, and it was committed: what a plugin has to
    warn them about it. ``document`` is the snapshot after the save (with its lines), ``created`` True for a new one.

    Return a list of plain-text warnings (``str``; the host escapes them), or None. Warnings never stop a save: the
    document is already saved when this is called. The host shows them after its save confirmation, as warnings,
    on the page the person lands on. Called only for the host's own form, not for services' saves (imports, syncs).
    """


@hookspec
def customer_save_warnings(customer, created, actor, request):
    """As :func:`document_save_warnings`, for a customer (and its contacts) saved in the host's customer form.

    ``customer`` is the snapshot after the save, with its contacts.
    """


# --- events (fired after the database commit) ---------------------------------------------


@hookspec
def customer_saved(customer, created, actor):
    """A customer (and its contacts) was created or updated and committed.

    ``customer`` is the snapshot after the save, ``created`` is True for a new customer.
    """


@hookspec
def quote_saved(document, created, actor):
    """A quote or sales order was created or edited and committed. ``document["doc_type"]`` says which."""


@hookspec
def quote_converted(quote, order, actor):
    """A quote was converted into a sales order and both were committed.

    ``quote`` and ``order`` are snapshots; ``order["source_quote_id"] == quote["id"]``.
    """
