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
into one slot.

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
