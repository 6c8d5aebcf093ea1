"""The host's blueprints and the helpers plugins' pages share (roles, actor, plugin links, where a
redirect may go)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Flask, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required

from ..extensions import db, login_manager
from ..models import User
from ..plugins import call_hook, collect_html, collect_links, collect_texts, listens
from ..redirects import local_path, same_site_path
from ..snapshots import actor_snapshot


@login_manager.user_loader
def _load_user(user_id: str):
    return db.session.get(User, int(user_id))


def current_actor() -> dict | None:
    """The signed-in user as the plain dict hooks receive."""
    return actor_snapshot(current_user)


def admin_required(view):
    """Sign-in required, and the admin role: 403 for reps, redirect to sign-in for anonymous."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def safe_target(target: str | None, fallback: str) -> str:
    """Where to redirect for a target taken from the request (a ``next`` field or argument, a plugin's
    answer): ``target`` when it is a local path, else ``fallback`` (see :mod:`host_stub.redirects`).
    Every redirect of the host and its plugins whose target the request chose goes through this."""
    return local_path(target, fallback)


def referrer_path(fallback: str | None = None) -> str | None:
    """The page the request came from, as a local path, when it is a page of this site; else ``fallback``."""
    return same_site_path(request.referrer, request.host_url) or fallback


def form_rows(prefix: str) -> dict[str, dict]:
    """Rows posted as <prefix>-<n>-<field>, by <n> (a tampered row number or id is a bad request)."""
    rows: dict[str, dict] = {}
    for key, value in request.form.items():
        if key.startswith(prefix + "-"):
            _, idx, field = (key.split("-", 2) + [""])[:3]
            if not (idx.isascii() and idx.isdigit()) or (field == "id" and not (value.isascii() and value.isdigit())):
                abort(400)
            rows.setdefault(idx, {})[field] = value
    return rows


def row_errors(errors: dict[str, str], prefix: str, rows: list[str]) -> dict[str, str]:
    """The service's errors with ``<prefix>[<i>].<field>`` keys renamed to the form's ``<prefix>-<n>-<field>``,
    so each shows beside its field (``rows[i]`` is the form row of the i-th item saved)."""
    out = {}
    for key, message in errors.items():
        head, _, field = key.partition(".")
        i = head[len(prefix) + 1:-1] if head.startswith(prefix + "[") else ""
        out[f"{prefix}-{rows[int(i)]}-{field}" if i.isdigit() and int(i) < len(rows) else key] = message
    return out


def plugin_links(hook: str, **kwargs) -> list[dict]:
    pm = current_app.extensions["host_stub"]["pm"]
    return collect_links(pm, hook, actor=current_actor(), request=request, **kwargs)


def plugin_html(hook: str, **kwargs):
    pm = current_app.extensions["host_stub"]["pm"]
    return collect_html(pm, hook, actor=current_actor(), request=request, **kwargs)


def flash_save_warnings(hook: str, arg: str, snapshot: Callable[[], dict], created: bool) -> None:
    """Flash, as warnings after the save's confirmation, what the plugins say of a record the signed-in user just
    saved in a host form (``hook``: ``document_save_warnings`` or ``customer_save_warnings``; ``snapshot`` builds
    the record's snapshot, passed as ``arg``, only when a plugin listens). The record is saved already: a warning
    never undoes or stops a save."""
    pm = current_app.extensions["host_stub"]["pm"]
    if not listens(pm, hook):
        return
    for text in collect_texts(pm, hook, created=created, actor=current_actor(), request=request,
                              **{arg: snapshot()}):
        flash(text, "warning")


def register_views(app: Flask) -> None:
    from . import admin, auth, customers, documents

    app.register_blueprint(auth.bp)
    app.register_blueprint(customers.bp)
    app.register_blueprint(documents.bp)
    app.register_blueprint(admin.bp)

    @app.route("/")
    @login_required
    def index():
        return redirect(url_for("customers.list_customers"))

    @app.context_processor
    def _inject():
        def admin_menu():
            if current_user.is_authenticated and current_user.is_admin:
                return plugin_links("admin_menu")
            return []

        def plugin_assets():
            pm = current_app.extensions["host_stub"]["pm"]
            urls = {kind: [u for urls in call_hook(pm, f"extra_{kind}_urls", request=request)
                           for u in (urls if isinstance(urls, list | tuple) else [urls]) if isinstance(u, str)]
                    for kind in ("css", "js")}
            return urls

        return {"admin_menu": admin_menu, "plugin_assets": plugin_assets}

    @app.errorhandler(403)
    def _forbidden(e):
        from flask import render_template

        return render_template("host/error.html", code=403,
                               message="You do not have access to this page. Ask an administrator."), 403

    @app.errorhandler(404)
    def _not_found(e):
        from flask import render_template

        return render_template("host/error.html", code=404, message="That page or record does not exist."), 404
