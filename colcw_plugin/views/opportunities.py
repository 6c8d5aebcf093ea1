"""The opportunity picker on the quote / sales order page and the export checklist: the customer's
ConnectWise opportunities (searchable), linking the document to one by id, and unlinking it.

The picker is a page of its own (reached without JavaScript) and, through htmx, a fragment loaded
into the page that asked for it; its search updates the list as the rep types.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from host_stub.extensions import db
from host_stub.models import Document

from ..cw import ConnectWiseError
from ..models import get_link
from ..setup.connection import NotConfigured, read_settings
from ..setup.secrets import SecretError
from ..sync.quotes import picker
from ..sync.quotes.opportunities import shared_setup
from ..sync.quotes.preflight import long_name_check
from ..sync.quotes.problems import customer_not_linked
from ..sync.quotes.state import get_state, opportunity_field_value
from . import rep_bp
from .support import not_connected, runtime


def _document(doc_id: int) -> Document:
    return db.session.get(Document, doc_id) or abort(404)


def _back(doc: Document) -> str:
    """Where the picker returns: the export checklist when it came from there, else the document."""
    if request.values.get("from") == "export":
        return url_for("colcw.export_document", doc_id=doc.id)
    return url_for("documents.view_document", doc_id=doc.id)


@rep_bp.route("/documents/<int:doc_id>/opportunities", methods=["GET"])
@login_required
def choose_opportunity(doc_id: int):
    """The customer's opportunities to link the document to (a fragment for htmx, else a page)."""
    doc = _document(doc_id)
    search = request.args.get("q", "").strip()[:100]
    include_closed = request.args.get("closed") == "1"
    settings = read_settings(db.session)
    company = get_link(db.session, "customer", doc.customer_id)
    state = get_state(db.session, doc.id)
    choices, problem = [], not_connected()
    if problem is not None:
        pass  # said at once: nothing to ask ConnectWise
    elif state is not None and state.exported_at is not None:
        problem = (f"{doc.number} is exported to opportunity {state.opportunity_id} “{state.opportunity_name}” and "
                   "stays linked to it.")
    elif company is None:
        problem = customer_not_linked(doc.customer.name, doc.customer.account_number,
                                      " (or keep the name field to create a new one)")
    else:
        try:
            with runtime().interactive_client(db.session) as client:
                choices = picker.company_opportunities(client, shared_setup(client, db.engine, settings, store=False, session=db.session),
                                                       company.cw_id, search=search, include_closed=include_closed)
        except (NotConfigured, SecretError):
            problem = not_connected() or "ConnectWise's stored credentials cannot be read; ask an admin to enter them again."
        except ConnectWiseError as e:
            problem = f"ConnectWise could not be read: {e.message}. Try again in a minute."
    link = get_link(db.session, "document", doc.id)
    name_now = opportunity_field_value_of(doc, settings)
    # A name the export refuses (longer than ConnectWise holds) is said as the checklist's row says it (marked in_form),
    # not offered as the new opportunity colcw would create.
    too_long = long_name_check(name_now)
    context = {"doc": doc, "choices": choices, "problem": problem, "q": search, "closed": include_closed,
               "linked_id": link.cw_id if link else None, "origin": request.args.get("from", ""),
               "name_now": name_now, "name_refused": too_long.detail if too_long else ""}
    if request.headers.get("HX-Request"):
        return render_template("colcw/documents/_picker.html", **context)
    return render_template("colcw/documents/picker.html", **context)


def opportunity_field_value_of(doc: Document, settings) -> str:
    return opportunity_field_value({"field_values": {fv.field_id: fv.value for fv in doc.field_values}}, settings)


@rep_bp.route("/documents/<int:doc_id>/opportunity", methods=["POST"])
@login_required
def link_opportunity(doc_id: int):
    doc = _document(doc_id)
    raw = request.form.get("opportunity_id", "")
    if not raw.isdigit():
        flash("Choose an opportunity from the list.", "error")
        return redirect(_back(doc))
    unconnected = not_connected()
    if unconnected is not None:
        flash(unconnected, "error")
        return redirect(_back(doc))
    rt = runtime()
    try:
        with rt.interactive_client(db.session) as client:
            message = picker.link_document(db.session, rt.host(db.session), client,
                                           shared_setup(client, db.engine, read_settings(db.session), session=db.session),
                                           read_settings(db.session), doc, int(raw))
    except picker.PickRefused as e:
        db.session.rollback()
        flash(str(e), "error")
    except (NotConfigured, SecretError):
        db.session.rollback()
        flash(not_connected() or "ConnectWise's stored credentials cannot be read; ask an admin to enter them again.",
              "error")
    except ConnectWiseError as e:
        db.session.rollback()
        flash(f"The opportunity could not be read from ConnectWise: {e.message}. Try again in a minute.", "error")
    else:
        flash(message, "success")
    return redirect(_back(doc))


@rep_bp.route("/documents/<int:doc_id>/opportunity/unlink", methods=["POST"])
@login_required
def unlink_opportunity(doc_id: int):
    doc = _document(doc_id)
    try:
        flash(picker.unlink_document(db.session, doc), "success")
    except picker.PickRefused as e:
        db.session.rollback()
        flash(str(e), "error")
    return redirect(_back(doc))
