"""Admin → Integration → ConnectWise → New opportunities: the type, stage and open status an opportunity colcw
creates gets, picked from ConnectWise's lists (:mod:`..setup.opportunity_defaults`).

The section sits on the connection page under Options and loads after it (htmx), so the connection page never
waits for ConnectWise; without JavaScript its link opens the same form as a page of its own. Showing the form and
saving it read the lists from ConnectWise itself (a type or status added or made inactive a minute ago counts).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for

from host_stub.extensions import db
from host_stub.views import admin_required

from ..errors import FieldErrors
from ..setup.connection import is_configured, read_settings
from ..setup.opportunity_defaults import (
    KINDS,
    Loaded,
    NewOpportunityValues,
    required_problem,
    save_new_opportunity_values,
)
from ..text import sentence
from . import admin_bp
from .forms import NewOpportunityForm
from .parts import fragment_or_page
from .support import actor_name, opportunity_lists_or_failure


def _render(form: NewOpportunityForm, lists: Loaded | None, reason: str | None, connection_fails: bool,
            status: int = 200):
    settings = read_settings(db.session)
    values = NewOpportunityValues.of(settings)
    # A field ConnectWise refused an export for as mandatory, left to its default here (as the pre-flight says it).
    required = required_problem(db.session, values)
    # (The connection's own failure is the Connection card's to say: here only that the lists wait for it.)
    fragment = render_template("colcw/connection/_new_opportunities.html", form=form, lists=lists, reason=reason,
                               connection_fails=connection_fails, configured=is_configured(settings),
                               saved_any=any(values.get(kind) for kind in KINDS), required=required)
    response = fragment_or_page(fragment, "colcw/connection/new_opportunities.html")
    response.status_code = status
    return response


@admin_bp.route("/new-opportunities")
@admin_required
def new_opportunities():
    """The section's form (a fragment for htmx, a page without JavaScript)."""
    lists, reason, connection_fails = opportunity_lists_or_failure()  # what ConnectWise holds now (loaded late)
    values = NewOpportunityValues.of(read_settings(db.session))
    form = NewOpportunityForm.of_values(values, lists)
    db.session.rollback()  # a GET writes nothing
    return _render(form, lists, reason, connection_fails)


@admin_bp.route("/new-opportunities", methods=["POST"])
@admin_required
def save_new_opportunities():
    lists, reason, connection_fails = opportunity_lists_or_failure()
    values = NewOpportunityValues.of(read_settings(db.session))
    form = NewOpportunityForm().set_lists(values, lists)
    data = form.to_input()
    if data is None:
        abort(400)
    try:
        save_new_opportunity_values(db.session, data, lists, actor_name())
    except FieldErrors as e:
        db.session.rollback()
        form.show_errors(e.errors)
        flash("Nothing was saved: correct the fields marked below.", "error")
        return _render(form, lists, reason, connection_fails, status=400)
    db.session.commit()
    if lists is None and any(data.get(kind) for kind in KINDS):
        flash(f"Saved without checking in ConnectWise. {sentence(reason)} The unchanged choices keep their ids.",
              "warning")
    else:
        flash("New opportunities: saved.", "success")
    return redirect(url_for(".connection") + "#new-opportunities")
