"""Sign-in and sign-out."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user
from sqlalchemy import select

from .. import fields as F
from ..extensions import db
from ..models import User
from . import safe_target

bp = Blueprint("auth", __name__)


MAX_PASSWORD = 1024  # no column holds it; a longer one is refused before it is hashed


@bp.route("/login", methods=["GET", "POST"])
def login():
    errors: dict[str, str] = {}
    email = ""
    if request.method == "POST":
        email = F.text(errors, "email", request.form.get("email"), User, "email", "An e-mail address",
                       required="Enter your e-mail address.").lower()
        password = request.form.get("password", "")
        if not password:
            errors["password"] = "Enter your password."  # noqa: S105 - a message, not a password
        elif len(password) > MAX_PASSWORD:
            errors["password"] = f"A password has at most {MAX_PASSWORD} characters."
        user = None if errors else db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
        if user and user.active and user.check_password(password):
            login_user(user)
            # Only a path on this site: never another site after sign-in.
            return redirect(safe_target(request.args.get("next"), url_for("customers.list_customers")))
        if not errors:
            flash("Unknown e-mail or wrong password.", "error")
    return render_template("host/login.html", errors=errors, email=email), 400 if errors else 200


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    return redirect(url_for("auth.login"))
