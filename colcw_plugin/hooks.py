"""colcw's hookimpls: thin glue from the host's hooks to colcw's composition root, views and services."""

from __future__ import annotations

import os

from flask import current_app, url_for

from host_stub.extensions import db
from host_stub.hookspecs import hookimpl

from .extension import init_app
from .sync.customers.save_warnings import save_warnings as customer_warnings
from .sync.quotes.preflight import save_warnings
from .sync.quotes.state import note_saved
from .sync.quotes.won import on_quote_converted
from .sync.runtime import Runtime
from .views import customers as customer_views
from .views import documents as document_views
from .views import lists as list_views
from .views.parts import constant, fixed_url


def _is_admin(actor) -> bool:
    return bool(actor) and actor.get("role") == "admin"


@hookimpl
def host_init_app(app):
    init_app(app)


@hookimpl
def host_migrations():
    return {
        "name": "colcw",
        "script_location": os.path.join(os.path.dirname(__file__), "migrations"),
        "version_table": "colcw_alembic_version",
        "table_prefix": "colcw_",
    }


# --- links on the host's pages ------------------------------------------------------------------


@hookimpl
def admin_menu(actor, request):
    if not _is_admin(actor):
        return []
    return [{"href": url_for("colcw_admin.connection"), "label": "ConnectWise",
             "description": "Connection, mappings and synchronization jobs"},
            {"href": url_for("colcw_admin.jobs"), "label": "ConnectWise Synchronization Jobs",
             "description": "Run and schedule customer and quote jobs, history and logs"}]


@hookimpl
def customers_list_actions(actor, request):
    if not actor:
        return []
    return [{"href": fixed_url("colcw.import_company"), "label": "Import From ConnectWise",
             "description": "Import a company and its contacts by ConnectWise Company ID",
             "attrs": {"id": "colcw-import-link", "data-colcw-popup": "import"}}]


@hookimpl
def customer_view_actions(customer, actor, request):
    if not actor:
        return []
    url = url_for("colcw.export_customer", customer_id=customer["id"])
    # Without JavaScript the link opens the page that says what the export will do; with it, it posts.
    return [{"href": url, "label": "Export to ConnectWise",
             "description": "Create or update this company and its contacts in ConnectWise",
             "attrs": {"id": "colcw-export-customer", "data-colcw-post": url, "data-colcw-busy": "Exporting…"}}]


@hookimpl
def document_view_actions(document, actor, request):
    if not actor:
        return []
    if document.get("doc_type") == "quote" and document.get("status") == "converted":
        return []  # its sales order carries its lines (the panel says so and links to it): nothing to export here
    return [{"href": url_for("colcw.export_document", doc_id=document["id"]), "label": "Export to ConnectWise",
             "description": "Send this document's lines to a ConnectWise opportunity",
             "attrs": {"id": "colcw-export-document"}}]


# --- panels on the host's pages -------------------------------------------------------------------


@hookimpl
def customers_list_render(actor, request):
    return customer_views.import_popup() if actor else None


@hookimpl
def customer_view_render(customer, actor, request):
    return customer_views.customer_panel_slot(customer) if actor else None


@hookimpl
def document_view_render(document, actor, request):
    return document_views.status_panel(document) if actor else None


# --- assets and the list pages ----------------------------------------------------------------------


ASSETS = {"css": ("colcw.css",), "js": ("htmx.min.js", "colcw.js")}


def _asset_urls(kind: str) -> list[str]:
    """colcw's stylesheet or scripts, their URLs built once per app (and script root): every page asks for them."""
    return list(constant(("assets", kind), lambda: tuple(url_for("colcw.static", filename=n) for n in ASSETS[kind])))


@hookimpl
def extra_css_urls(request):
    return _asset_urls("css")


@hookimpl
def extra_js_urls(request):
    return _asset_urls("js")


@hookimpl
def list_columns(list_name, ids, actor, request):
    return list_views.column(list_name, ids) if actor else None


@hookimpl
def list_filters(list_name, id_column, actor, request):
    return list_views.filters(list_name) if actor else []


@hookimpl
def list_bulk_actions(list_name, actor, request):
    return list_views.bulk_actions(list_name) if actor else []


@hookimpl
def list_bulk_action(list_name, action, ids, back, actor, request):
    return list_views.bulk_action(list_name, action, ids, back) if actor else None


@hookimpl
def list_render(list_name, actor, request):
    return list_views.slot(list_name) if actor else None


# --- events -----------------------------------------------------------------------------------------


@hookimpl
def quote_saved(document, created, actor):
    if not created:
        note_saved(db.session, document)


@hookimpl
def quote_converted(quote, order, actor):
    runtime = Runtime.of(current_app)
    on_quote_converted(db.session, runtime.queue, runtime.kinds, quote, order, actor)


# --- warnings after a save in the host's forms --------------------------------------------------------


@hookimpl
def document_save_warnings(document, created, actor, request):
    return save_warnings(db.session, document) if actor else []


@hookimpl
def customer_save_warnings(customer, created, actor, request):
    return customer_warnings(db.session, customer) if actor else []
