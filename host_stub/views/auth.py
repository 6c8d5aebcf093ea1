"""Sign-in and sign-out."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user
from sqlalchemy import select

from ..extensions import db
from ..models import User
from . import safe_target

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        email = request.form.get("email", "").strip().lower()
        user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
        if user and user.active and user.check_password(request.form.get("password", "")):
            login_user(user)
            # Only a path on this site: never another site after sign-in.
            return redirect(safe_target(request.args.get("next"), url_for("customers.list_customers")))
        flash("Unknown e-mail or wrong password.", "error")
    return render_template("host/login.html")


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    return redirect(url_for("auth.login"))
