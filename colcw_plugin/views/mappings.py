"""The settings pages: sales rep mapping, product integration mapping, auto-map, pre-flight check and
the field mapping page (user guide §5.1 Settings, §5.2)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from host_stub.extensions import db
from host_stub.models import PRODUCT_TYPES
from host_stub.views import admin_required

from ..errors import FieldErrors
from ..setup import categories as category_mapping
from ..setup import common
from ..setup import field_mapping as field_mapping_defs
from ..setup import manufacturers as alias_mapping
from ..setup import product_types as type_mapping
from ..setup import reps as rep_mapping
from ..setup.automap import automap
from ..setup.connection import get_settings
from ..setup.preflight import run_preflight
from . import admin_bp
from .support import actor_name, lookups_or_reason

REP_LISTS = ("members", "locations", "departments")
PRODUCT_LISTS = ("product_types", "categories", "subcategories", "manufacturers")


# -- sales reps --------------------------------------------------------------------------------------


def _render_reps(lookups, reason, errors=None, posted=None, status=200):
    return render_template("colcw/mappings/reps.html", users=common.host_users(db.session),
                           mappings=rep_mapping.rep_mappings(db.session), lookups=lookups, reason=reason,
                           errors=errors or {}, posted=posted), status


@admin_bp.route("/reps", methods=["GET", "POST"])
@admin_required
def reps():
    lookups, reason = lookups_or_reason(REP_LISTS)
    if request.method == "GET":
        return _render_reps(lookups, reason)
    choices = []
    for user in common.host_users(db.session):
        if f"member-{user.id}" in request.form:
            choices.append(rep_mapping.RepChoice(user.id, request.form.get(f"member-{user.id}", ""),
                                       request.form.get(f"location-{user.id}", ""),
                                       request.form.get(f"department-{user.id}", "")))
    try:
        rep_mapping.save_rep_mappings(db.session, choices, lookups, actor_name())
    except FieldErrors as e:
        db.session.rollback()
        flash("Nothing was saved: correct the rows marked below.", "error")
        return _render_reps(lookups, reason, e.errors, request.form, 400)
    db.session.commit()
    flash("Sales rep mapping saved." if lookups else "Sales rep mapping saved without checking: ConnectWise could not "
          "be reached. Save again once it answers to check the names.", "success" if lookups else "error")
    return redirect(url_for(".reps"))


# -- product integration -----------------------------------------------------------------------------


def _render_products(lookups, reason, errors=None, posted=None, status=200):
    settings = get_settings(db.session)
    pairs = common.host_category_pairs(db.session)
    manufacturers = common.host_manufacturers(db.session)
    aliases = alias_mapping.manufacturer_aliases(db.session)
    missing_categories = [p for p in pairs if p[1] and lookups.subcategory(*p) is None] if lookups else None
    missing_manufacturers = [m for m in manufacturers if lookups.named("manufacturers", m) is None
                             and m not in aliases] if lookups else None
    alias_names = sorted(set(aliases) | set(missing_manufacturers or []), key=str.lower)
    return render_template("colcw/mappings/products.html", settings=settings, product_types=PRODUCT_TYPES,
                           type_mappings=type_mapping.product_type_mappings(db.session), pairs=pairs,
                           category_mappings=category_mapping.category_mappings(db.session), aliases=aliases,
                           alias_names=alias_names, missing_categories=missing_categories,
                           missing_manufacturers=missing_manufacturers, lookups=lookups, reason=reason,
                           errors=errors or {}, posted=posted), status


def _category_choices(lookups) -> list[category_mapping.CategoryChoice]:
    """The rows the form sent; each carries its host names so a row never shifts to another category."""
    choices, n = [], 0
    while f"hostcat-{n}" in request.form:
        cat, sub = request.form.get(f"hostcat-{n}", ""), request.form.get(f"hostsub-{n}", "")
        if lookups is not None and f"target-{n}" in request.form:
            raw = request.form.get(f"target-{n}", "")
            ref = lookups.subcategory_by_id(int(raw)) if raw.isdigit() else None
            if raw and ref is None:
                raise FieldErrors({f"category-{n}": "That ConnectWise sub-category no longer exists; reload."})
            choices.append(category_mapping.CategoryChoice(cat, sub, ref.parent_name if ref else "", ref.name if ref else ""))
        else:
            choices.append(category_mapping.CategoryChoice(cat, sub, request.form.get(f"cwcat-{n}", ""),
                                            request.form.get(f"cwsub-{n}", "")))
        n += 1
    return choices


@admin_bp.route("/products", methods=["GET", "POST"])
@admin_required
def products():
    lookups, reason = lookups_or_reason(PRODUCT_LISTS)
    if request.method == "GET":
        return _render_products(lookups, reason)
    section = request.form.get("section")
    actor = actor_name()
    try:
        if section == "types":
            type_mapping.save_product_types(db.session, {t: request.form.get(f"type-{t}", "") for t in PRODUCT_TYPES
                                              if f"type-{t}" in request.form}, lookups, actor)
        elif section == "categories":
            category_mapping.save_categories(db.session, get_settings(db.session), request.form.get("category_mode", ""),
                              _category_choices(lookups), lookups, actor)
        elif section == "manufacturers":
            names = request.form.getlist("alias_host")
            targets = request.form.getlist("alias_cw")
            alias_mapping.save_manufacturer_aliases(db.session, dict(zip(names, targets, strict=False)), lookups, actor)
        else:
            raise FieldErrors({"section": "Unknown form; reload the page."})
    except FieldErrors as e:
        db.session.rollback()
        flash("Nothing was saved: correct the rows marked below.", "error")
        return _render_products(lookups, reason, e.errors, request.form, 400)
    db.session.commit()
    flash("Saved." if lookups else "Saved without checking: ConnectWise could not be reached. Save again once it "
          "answers to check the names.", "success" if lookups else "error")
    return redirect(url_for(".products") + f"#{section}")


# -- auto-map, pre-flight, field mapping -------------------------------------------------------------


@admin_bp.route("/automap", methods=["POST"])
@admin_required
def automap_view():
    lookups, reason = lookups_or_reason(REP_LISTS[:1] + PRODUCT_LISTS)
    if lookups is None:
        flash(f"Auto-map needs ConnectWise's lists. {reason}", "error")
        return redirect(request.referrer or url_for(".connection"))
    report = automap(db.session, lookups, actor_name())
    db.session.commit()
    return render_template("colcw/mappings/automap.html", report=report)


@admin_bp.route("/preflight")
@admin_required
def preflight():
    lookups, reason = lookups_or_reason(("members", "product_types", "categories", "subcategories",
                                         "manufacturers", "states"))
    report = run_preflight(db.session, lookups, reason)
    db.session.rollback()
    return render_template("colcw/mappings/preflight.html", report=report)


@admin_bp.route("/mapping")
@admin_required
def field_mapping():
    return render_template("colcw/mappings/field_mapping.html", tables=field_mapping_defs.TABLES,
                           document_types=field_mapping_defs.DOCUMENT_TYPES,
                           provinces=field_mapping_defs.CANADIAN_PROVINCES)
