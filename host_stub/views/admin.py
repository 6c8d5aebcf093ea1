"""The admin section: overview, custom header fields, and the Integration menu plugins fill."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from ..extensions import db
from ..models import CustomField
from ..services import ValidationError, add_custom_field
from . import admin_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@admin_required
def index():
    return render_template("host/admin_index.html")


@bp.route("/custom-fields", methods=["GET", "POST"])
@admin_required
def custom_fields():
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            field = add_custom_field(request.form.get("name", ""))
        except ValidationError as e:
            db.session.rollback()
            errors = e.errors
        else:
            flash(f"Custom header field {field.name} added.", "success")
            return redirect(url_for(".custom_fields"))
    fields = db.session.execute(select(CustomField).order_by(CustomField.position)).scalars().all()
    return render_template("host/custom_fields.html", fields=fields, errors=errors,
                           name=request.form.get("name", "")), 400 if errors else 200
