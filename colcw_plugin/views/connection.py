"""Admin → Integration → ConnectWise: synced items, the connection, Test Connection, the options,
Live updates (callbacks, public URL, customer master, the mass-delete alert), the settings links and
Reset (user guide §5.1)."""

from __future__ import annotations

import logging

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from host_stub.extensions import db
from host_stub.models import CustomField
from host_stub.views import admin_required, current_actor

from ..cw import ConnectWiseClient, check_connection
from ..errors import FieldErrors
from ..models import HOST_MASTER, ConfigChange
from ..setup import reset as reset_service
from ..setup import synced_items
from ..setup.connection import (
    ConnectionInput,
    get_settings,
    is_configured,
    save_connection,
    typed_client_settings,
)
from ..setup.live_updates import LiveInput, get_live, read_live
from ..setup.options import OptionsInput, save_options
from ..setup.secrets import SecretError
from ..sync.inbound import RECONCILE_KIND
from ..sync.inbound.status import live_panel
from ..sync.inbound.switch import apply_live, register_callbacks, remove_callbacks
from . import admin_bp
from .support import actor_name, runtime

log = logging.getLogger(__name__)
PAGE_SIZE = 50


def _http_allowed() -> bool:
    return runtime().config.allow_http


def _form_input() -> ConnectionInput:
    f = request.form
    auth_mode = f.get("auth_mode", "api_keys")
    user = f.get("public_key" if auth_mode == "api_keys" else "username", "")
    secret = f.get("private_key" if auth_mode == "api_keys" else "password", "")
    return ConnectionInput(site_url=f.get("site_url", ""), company_id=f.get("company_id", ""), auth_mode=auth_mode,
                           user=user, secret=secret or None, client_id=f.get("client_id", ""),
                           allow_http=f.get("allow_http") == "on")


def _form_values(settings, typed: bool) -> dict:
    """What the connection form shows: the stored values (never the secret), or what was typed."""
    if typed:
        data = _form_input()
        return {"site_url": data.site_url, "company_id": data.company_id, "auth_mode": data.auth_mode,
                "user": data.user, "client_id": data.client_id, "allow_http": data.allow_http}
    return {"site_url": settings.site_url, "company_id": settings.company_id, "auth_mode": settings.auth_mode,
            "user": settings.public_key, "client_id": settings.client_id, "allow_http": settings.allow_http}


def _render(errors: dict | None = None, status: int = 200, typed: bool = False):
    settings = get_settings(db.session)
    fields = db.session.execute(select(CustomField).order_by(CustomField.position, CustomField.name)).scalars().all()
    changes = db.session.execute(select(ConfigChange).order_by(ConfigChange.at.desc(), ConfigChange.id.desc())
                                 .limit(10)).scalars().all()
    jobs_url = url_for("colcw_admin.jobs") if "colcw_admin.jobs" in current_app.view_functions else None
    return render_template("colcw/connection/index.html", settings=settings, configured=is_configured(settings),
                           values=_form_values(settings, typed), errors=errors or {}, http_allowed=_http_allowed(),
                           has_secret=bool(settings.secret_encrypted), fields=fields, changes=changes,
                           counts=synced_items.exported_counts(db.session), entities=synced_items.ENTITIES,
                           jobs_url=jobs_url, live=live_panel(db.session)), status


@admin_bp.route("/")
@admin_required
def connection():
    return _render()


@admin_bp.route("/connection", methods=["POST"])
@admin_required
def save_connection_view():
    try:
        save_connection(db.session, runtime().box, _form_input(), actor_name(), _http_allowed())
    except FieldErrors as e:
        db.session.rollback()
        flash("Nothing was saved: correct the fields marked below.", "error")
        return _render(e.errors, 400, typed=True)
    db.session.commit()
    flash("Connection saved. Use Test Connection to check it.", "success")
    if read_live(db.session).enabled:  # the callbacks belong to the tenant the connection names
        rt = runtime()
        flash(register_callbacks(db.session, rt.box, rt.interactive_client),
              "warning" if get_live(db.session).last_error else "info")
    return redirect(url_for(".connection"))


@admin_bp.route("/live-updates", methods=["POST"])
@admin_required
def save_live_updates():
    """The Live updates section: the switch, the public URL, the master for customer data."""
    f = request.form
    data = LiveInput(enabled=f.get("live_enabled") == "on", public_base_url=f.get("public_base_url", ""),
                     customer_master=f.get("customer_master", HOST_MASTER))
    rt = runtime()
    try:
        messages = apply_live(db.session, rt.box, rt.interactive_client, data, actor_name())
    except FieldErrors as e:
        db.session.rollback()
        flash("Live updates were not saved: correct the fields marked below.", "error")
        return _render(e.errors, 400)
    flash("Live updates are on." if data.enabled else "Live updates are off.", "success")
    for category, text in messages:
        flash(text, category)
    return redirect(url_for(".connection") + "#live-updates")


@admin_bp.route("/live-updates/alert", methods=["POST"])
@admin_required
def live_updates_alert():
    """The mass-delete guard's alert: run the stopped pass anyway, or dismiss the alert."""
    live = get_live(db.session)
    if request.form.get("action") == "apply":
        run = runtime().submit(db.session, RECONCILE_KIND, {"mode": "deletions", "force": True}, trigger="manual",
                               actor=current_actor())
        live = get_live(db.session)
        live.alert, live.alert_at, live.alert_run_id = "", None, None
        db.session.commit()
        flash(f"Run #{run.id} marks the deleted records as deleted, past the mass-delete guard.", "success")
        return redirect(url_for(".job_run", run_id=run.id))
    live.alert, live.alert_at, live.alert_run_id = "", None, None
    db.session.commit()
    flash("Alert dismissed. The next safety-net pass checks again (and stops again if it still finds as many).",
          "success")
    return redirect(url_for(".connection") + "#live-updates")


@admin_bp.route("/test", methods=["POST"])
@admin_required
def test_connection():
    """Run the handshake with the connection typed on the page (saved or not); JSON for the page."""
    try:
        cs = typed_client_settings(db.session, runtime().box, _form_input(), _http_allowed(), read_timeout=20.0)
    except FieldErrors as e:
        db.session.rollback()
        return jsonify({"ok": False, "errors": e.errors}), 400
    except SecretError as e:
        return jsonify({"ok": False, "errors": {"secret": str(e)}}), 400
    with ConnectWiseClient(cs) as client:
        report = check_connection(client)
    db.session.rollback()
    log.info("Test Connection to %s for company %s: %s", cs.site_root, cs.company_id, "ok" if report.ok else
             ", ".join(s.problem or "failed" for s in report.failed_steps))
    return jsonify(report.as_dict())


@admin_bp.route("/options", methods=["POST"])
@admin_required
def save_options_view():
    raw = request.form.get("opportunity_field_id", "")
    if raw and not raw.isdigit():
        abort(400)
    data = OptionsInput(opportunity_field_id=int(raw) if raw else None,
                        allow_empty_opportunity_name=request.form.get("allow_empty_opportunity_name") == "on",
                        use_logged_in_rep=request.form.get("use_logged_in_rep") == "on")
    try:
        save_options(db.session, data, actor_name())
    except FieldErrors as e:
        db.session.rollback()
        flash(" ".join(e.errors.values()), "error")
        return _render(e.errors, 400)
    db.session.commit()
    flash("Options saved.", "success")
    return redirect(url_for(".connection"))


@admin_bp.route("/synced/<entity>")
@admin_required
def synced_list(entity: str):
    if entity not in synced_items.ENTITIES:
        abort(404)
    all_results = request.args.get("all") == "1"
    page = db.paginate(synced_items.items_query(entity, all_results=all_results), per_page=PAGE_SIZE,
                       error_out=False)
    return render_template("colcw/connection/synced_items.html", entity=entity, title=synced_items.ENTITIES[entity],
                           page=page, all_results=all_results)


@admin_bp.route("/reset", methods=["GET", "POST"])
@admin_required
def reset():
    error = None
    if request.method == "POST":
        if request.form.get("confirm", "").strip() != "RESET":
            error = "Type RESET in capitals to confirm."
        else:
            force = request.form.get("force") == "on"
            if force or not reset_service.active_runs(db.session):
                # Before the settings go: colcw's callbacks must not keep pointing at this host.
                removed = remove_callbacks(db.session, runtime().interactive_client)
                if removed:
                    flash(removed, "warning" if get_live(db.session).last_error else "info")
            try:
                reset_service.reset_all(db.session, actor_name(), force=force)
            except reset_service.ResetRefused as e:
                db.session.rollback()
                error = str(e)
            else:
                db.session.commit()
                flash("The ConnectWise integration was reset: its history, links and settings are gone. Host "
                      "customers and documents and everything in ConnectWise are unchanged.", "success")
                return redirect(url_for(".connection"))
    return render_template("colcw/connection/reset.html", lost=reset_service.what_will_be_lost(db.session),
                           active_runs=reset_service.active_runs(db.session), error=error), 400 if error else 200
