"""Import / map customers from ConnectWise, and Map Customers (user guide §5.1 Settings 3 and 4)."""

from __future__ import annotations

import logging

from flask import flash, jsonify, redirect, render_template, request, url_for

from host_stub.extensions import db
from host_stub.views import admin_required

from ..cw import ConnectWiseError
from ..errors import FieldErrors
from ..setup import customer_matching as CM
from ..setup.connection import NotConfigured
from ..setup.live_updates import cw_is_master
from ..setup.secrets import SecretError
from ..sync.customers import links as customer_links
from ..sync.customers.exclusive import IMPORT_KIND
from . import admin_bp
from .support import actor_name, paginate, runtime
from .zone import display_zone, when

log = logging.getLogger(__name__)
PAGE_SIZE = 50


@admin_bp.route("/customers/scan", methods=["POST"])
@admin_required
def scan_customers():
    try:
        with runtime().interactive_client(db.session) as client:
            result = CM.scan(db.session, client, actor_name())
    except (NotConfigured, SecretError, ConnectWiseError) as e:
        db.session.rollback()
        log.warning("Scanning ConnectWise companies failed: %s", e)
        flash(f"ConnectWise's companies could not be read, so nothing changed: {e}", "error")
        return redirect(url_for(".connection"))
    db.session.commit()
    flash(f"Read {result.total} ConnectWise companies: {result.auto_linked} linked now by account number, "
          f"{result.already_linked} already linked, {result.unmatched} left to map below.", "success")
    for conflict in result.conflicts[:20]:
        flash(conflict, "error")
    return redirect(url_for(".map_customers"))


def _render(errors=None, posted=None, status=200, previews=None):
    q = request.args.get("q", "")
    page = paginate(CM.unmatched_query(q), PAGE_SIZE)
    hints = CM.hints_for(db.session, page.items)
    return render_template("colcw/mappings/customers.html", page=page, q=q, hints=hints,
                           scanned_at=CM.last_scan_at(db.session), linked=CM.linked_count(db.session),
                           host_dups=CM.host_duplicate_groups(db.session), cw_dups=CM.cw_duplicate_groups(db.session),
                           unlinked_customers=CM.unlinked_customers(db.session),
                           full_import=CM.last_full_import(db.session, IMPORT_KIND),
                           cw_master=cw_is_master(db.session), previews=previews or [],
                           errors=errors or {}, posted=posted or {}, when=when, zone=display_zone()), status


@admin_bp.route("/customers/map", methods=["GET", "POST"])
@admin_required
def map_customers():
    if request.method == "GET":
        return _render()
    choices: dict[int, int] = {}
    errors: dict[str, str] = {}
    for key, value in request.form.items():
        if not (key.startswith("map-") and key[4:].isdigit()):
            continue
        typed = request.form.get(f"text-{key[4:]}", "").strip()
        if value.strip().isdigit():  # picked from the suggestions
            choices[int(key[4:])] = int(value)
        elif value.strip():
            errors[key] = "Choose the customer from the suggestions."
        elif typed:  # typed and not picked (or no JavaScript): the customer of that exact name or number
            try:
                choices[int(key[4:])] = CM.customer_typed(db.session, typed[:200])
            except LookupError as e:
                errors[key] = str(e)
    if errors:  # nothing saved while a row says what it cannot tell
        flash("Nothing was saved: correct the rows marked below.", "error")
        return _render(errors, request.form, 400)
    if not choices:
        flash("Nothing to save: choose a ChannelOnline customer for at least one company.", "error")
        return _render(status=400)
    try:
        with runtime().interactive_client(db.session) as cw:
            client = customer_links.ReadOnce(cw)  # the preview's read of the companies is the save's
            if request.form.get("confirm") != "1":
                # What linking changes, before anything is saved: the pairs whose mapped fields differ, and whose win.
                pairs = CM.check_customer_mappings(db.session, choices)
                previews = customer_links.link_previews(db.session, client, pairs)
                if previews:
                    return _render(posted=request.form, previews=previews)
            # The companies linked are checked against ConnectWise as they are saved: one deleted there since the
            # scan is refused, the others linked.
            saved = CM.save_customer_mappings(db.session, choices, actor_name(), client)
    except FieldErrors as e:
        db.session.rollback()
        flash("Nothing was saved: correct the rows marked below.", "error")
        return _render(e.errors, request.form, 400)
    except (NotConfigured, SecretError, ConnectWiseError) as e:
        db.session.rollback()
        log.warning("Reading the companies to link failed: %s", e)
        flash(f"Nothing was saved: ConnectWise's companies could not be read to check them: {e}", "error")
        return _render(posted=request.form, status=400)
    db.session.commit()
    if saved.linked:
        flash(f"Linked {saved.linked} ConnectWise compan{'y' if saved.linked == 1 else 'ies'} to ChannelOnline "
              "customers.", "success")
    if saved.refused:
        count = len(saved.refused)
        flash(f"{count} compan{'y was' if count == 1 else 'ies were'} not linked: deleted in ConnectWise after its "
              "companies were read (see the rows marked below). Read ConnectWise's companies again.", "error")
        return _render(saved.refused, request.form, 409)
    return redirect(url_for(".map_customers", q=request.args.get("q") or None, page=request.args.get("page") or None))


@admin_bp.route("/customers/search")
@admin_required
def search_customers():
    """Type-ahead: host customers by name or account number (read-only GET, at most 15, as an object)."""
    return jsonify({"results": CM.search_customers(db.session, request.args.get("q", ""))})
