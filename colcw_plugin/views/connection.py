"""Admin → Integration → ConnectWise (the connection page)."""

from flask import render_template

from host_stub.views import admin_required

from . import admin_bp


@admin_bp.route("/")
@admin_required
def connection():
    return render_template("colcw/connection.html")
