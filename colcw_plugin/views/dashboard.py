"""rq-dashboard (the queue dashboard ops watch), mounted under the admin section, for admins only."""

from __future__ import annotations

import rq_dashboard
from flask import abort, redirect, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from rq_dashboard.web import setup_rq_connection

from . import admin_bp

RQ_PREFIX = "/admin/integration/connectwise/rq"


def _guard_dashboard():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    if not current_user.is_admin:
        abort(403)
    return None


def _dashboard_csrf_cookie(resp):
    # rq-dashboard's script sends the "_csrf_token" cookie as X-CSRFToken on its POSTs (delete, requeue).
    resp.set_cookie("_csrf_token", generate_csrf(), path=RQ_PREFIX, samesite="Strict", httponly=False)
    return resp


@admin_bp.record_once
def _mount_dashboard(state) -> None:
    """Mount rq-dashboard at /admin/integration/connectwise/rq on each app (its blueprint is global:
    the guard is added once, at import time, below)."""
    app = state.app
    app.config.setdefault("RQ_DASHBOARD_REDIS_URL", app.config["REDIS_URL"])
    setup_rq_connection(app)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=RQ_PREFIX)


def _guard_rq_dashboard_blueprint() -> None:
    bp = rq_dashboard.blueprint
    if not getattr(bp, "_colcw_guarded", False):
        # Before rq-dashboard's own handlers: nobody but an admin reaches its views or its Redis.
        bp.before_request_funcs.setdefault(None, []).insert(0, _guard_dashboard)
        bp.after_request(_dashboard_csrf_cookie)
        bp._colcw_guarded = True


_guard_rq_dashboard_blueprint()


BACK_LINK = ('<div id="colcw-back-to-admin" style="padding:.5rem 1rem;background:#12324f;font:15px system-ui,sans-serif">'
             '<a href="{jobs}" style="color:#fff">← ConnectWise Synchronization Jobs</a>'
             ' <span style="color:#b9c2cc">·</span> <a href="{admin}" style="color:#fff">Admin</a></div>')


def _dashboard_back_link(resp):
    """rq-dashboard's pages are its own; put a way back to colcw's admin pages at the top of each."""
    if resp.mimetype == "text/html" and not resp.direct_passthrough and resp.status_code == 200:
        html = resp.get_data(as_text=True)
        link = BACK_LINK.format(jobs=url_for("colcw_admin.jobs"), admin=url_for("admin.index"))
        if "<body>" in html and "colcw-back-to-admin" not in html:
            resp.set_data(html.replace("<body>", "<body>" + link, 1))
    return resp


def _link_rq_dashboard_back() -> None:
    bp = rq_dashboard.blueprint
    if not getattr(bp, "_colcw_back_link", False):
        bp.after_request(_dashboard_back_link)
        bp._colcw_back_link = True


_link_rq_dashboard_back()
