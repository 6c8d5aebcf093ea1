"""The settings pages: sales rep mapping, product integration mapping, auto-map, pre-flight check and
the field mapping page (user guide §5.1 Settings, §5.2)."""

from __future__ import annotations

import dataclasses
import json
import logging

from flask import flash, redirect, render_template, request, url_for
from redis.exceptions import RedisError

from host_stub.extensions import db
from host_stub.models import PRODUCT_TYPES
from host_stub.views import admin_required, referrer_path

from ..errors import FieldErrors
from ..models import times_in
from ..setup import categories as category_mapping
from ..setup import common
from ..setup import field_mapping as field_mapping_defs
from ..setup import manufacturers as alias_mapping
from ..setup import product_types as type_mapping
from ..setup import reps as rep_mapping
from ..setup.automap import AutomapReport, automap
from ..setup.connection import get_settings, read_settings
from ..setup.preflight import read_companies, recent_scan, run_preflight
from ..text import plural
from . import admin_bp
from .forms import (
    categories_form,
    manufacturers_form,
    product_types_form,
    rep_mapping_form,
    subcategory_value,
)
from .support import _read_or_reason as read_or_reason
from .support import (
    actor_name,
    keep_result,
    kept_result,
    lookups_or_reason,
    opportunity_lists_or_reason,
)
from .zone import display_zone

log = logging.getLogger(__name__)
REP_LISTS = ("members", "locations", "departments")
PRODUCT_LISTS = ("product_types", "categories", "subcategories", "manufacturers")


def _shown(name: str, size: int) -> tuple[str, ...] | None:
    """What a row showed when the page was loaded (its hidden ``was-`` field, a JSON list of ``size`` names);
    None when the post has none (the row is then saved as sent)."""
    try:
        value = json.loads(request.form[name])
    except (KeyError, ValueError):
        return None
    if not isinstance(value, list) or len(value) != size or not all(isinstance(x, str) for x in value):
        return None
    return tuple(value)


# -- sales reps --------------------------------------------------------------------------------------


def _render_reps(form, lookups, reason, own_member, status=200):
    mappings = rep_mapping.rep_mappings(db.session)
    return render_template("colcw/mappings/reps.html", users=common.host_users(db.session), form=form,
                           mappings=mappings, lookups=lookups, reason=reason,
                           api_members=rep_mapping.api_member_statuses(mappings, lookups, own_member)), status


@admin_bp.route("/reps", methods=["GET", "POST"])
@admin_required
def reps():
    lookups, reason = lookups_or_reason(REP_LISTS)
    users = common.host_users(db.session)
    own_member = rep_mapping.own_api_member(db.session)  # (its member list says which members are API members)
    form = rep_mapping_form(users, rep_mapping.rep_mappings(db.session), lookups,
                            formdata=request.form if request.method == "POST" else None, own_member=own_member)
    if request.method == "GET":
        return _render_reps(form, lookups, reason, own_member)
    choices = [rep_mapping.RepChoice(u.id, form[f"member-{u.id}"].data or "", form[f"location-{u.id}"].data or "",
                                     form[f"department-{u.id}"].data or "", _shown(f"was-{u.id}", 3))
               for u in users if f"member-{u.id}" in request.form]
    try:
        rep_mapping.save_rep_mappings(db.session, choices, lookups, actor_name())
    except FieldErrors as e:
        db.session.rollback()
        form.show_errors(e.errors)
        for user_id, theirs in (e.now.items() if isinstance(e, common.ChangedSince) else ()):
            # The admin's choice stays in the row; saving again replaces the other save's value on purpose.
            form[f"was-{user_id}"].data = json.dumps(theirs)
        flash("Nothing was saved: correct the rows marked below.", "error")
        return _render_reps(form, lookups, reason, own_member, 400)
    db.session.commit()
    flash("Sales rep mapping saved." if lookups else "Sales rep mapping saved without checking: ConnectWise could not "
          "be reached. Save again once it answers to check the names.", "success" if lookups else "error")
    return redirect(url_for(".reps"))


# -- product integration -----------------------------------------------------------------------------


def _product_forms(lookups, posted: str | None = None) -> dict:
    """The page's three forms; the posted one (by its ``section``) reads what was sent (the manufacturers form
    with the rows the admin's page had, so a refused save shows them as they were)."""
    settings = read_settings(db.session)
    data = {name: request.form if posted == name else None for name in ("types", "categories", "manufacturers")}
    aliases = alias_mapping.manufacturer_aliases(db.session)
    names = _posted_alias_names() if posted == "manufacturers" else _alias_names(
        aliases, _missing_manufacturers(lookups, aliases))
    return {"types": product_types_form(PRODUCT_TYPES, type_mapping.product_type_mappings(db.session), lookups,
                                        data["types"]),
            "categories": categories_form(settings, common.host_category_pairs(db.session),
                                          category_mapping.category_mappings(db.session), lookups, data["categories"]),
            "manufacturers": manufacturers_form(names, aliases, lookups, data["manufacturers"])}


def _posted_alias_rows() -> list[tuple[str, str, str | None]]:
    """The manufacturer rows sent: (host name, ConnectWise name, the alias the row showed or None), in order; the
    last is the page's new row."""
    rows, n = [], 0
    while f"alias_host-{n}" in request.form:
        rows.append((request.form[f"alias_host-{n}"], request.form.get(f"alias_cw-{n}", ""),
                     request.form.get(f"was-{n}")))
        n += 1
    return rows


def _posted_alias_names() -> list[str]:
    """The named rows of the manufacturers table the admin's page had (all but its new row)."""
    return [host for host, _, _ in _posted_alias_rows()[:-1]]


def _missing_manufacturers(lookups, aliases) -> list[str] | None:
    if lookups is None:
        return None
    return [m for m in common.host_manufacturers(db.session)
            if lookups.named("manufacturers", m) is None and m not in aliases]


def _case_twins(lookups, missing) -> dict[str, tuple[str, str, str]]:
    """Each missing manufacturer's ConnectWise name that differs from it only in case (``samsung`` → ``Samsung``),
    with what is wrong and its fix, worded as the export, the Pre-flight check and Auto-map word it."""
    if not missing:
        return {}
    cw_names = [x.name for x in lookups.manufacturers]
    return {m: (twin, *alias_mapping.case_twin_problem(m, twin)) for m in missing
            if (twin := alias_mapping.case_twin(m, cw_names)) is not None}


def _inactive_twins(lookups, missing) -> dict[str, tuple[str, str]]:
    """Each missing manufacturer ConnectWise has but marks inactive (by the same name, or differing only in case
    from it when no active one does): what is wrong and its fix, worded as the export words its refusal."""
    if not missing:
        return {}
    active, inactive = [x.name for x in lookups.manufacturers], [x.name for x in lookups.inactive_manufacturers]
    return {m: alias_mapping.inactive_problem(m, cw_name) for m in missing
            if (cw_name := alias_mapping.inactive_twin(m, active, inactive)) is not None}


def _inactive_aliases(lookups, aliases) -> dict[str, tuple[str, str]]:
    """Each alias whose ConnectWise manufacturer ConnectWise now marks inactive: what is wrong and its fix, as the
    export words its refusal of their lines."""
    inactive = {x.name for x in lookups.inactive_manufacturers} if lookups is not None else set()
    return {name: alias_mapping.inactive_problem(name, a.cw_manufacturer_name, alias=True)
            for name, a in aliases.items() if a.cw_manufacturer_name in inactive}


def _alias_names(aliases, missing) -> list[str]:
    return sorted(set(aliases) | set(missing or []), key=str.lower)


def _render_products(lookups, reason, forms, status=200, alias_names=None):
    settings = read_settings(db.session)
    pairs = common.host_category_pairs(db.session)
    aliases = alias_mapping.manufacturer_aliases(db.session)
    missing_manufacturers = _missing_manufacturers(lookups, aliases)
    missing_categories = [p for p in pairs if p[1] and lookups.subcategory(*p) is None] if lookups else None
    if alias_names is None:
        alias_names = _alias_names(aliases, missing_manufacturers)
    return render_template("colcw/mappings/products.html", settings=settings, product_types=PRODUCT_TYPES,
                           type_mappings=type_mapping.product_type_mappings(db.session), pairs=pairs,
                           category_mappings=category_mapping.category_mappings(db.session), aliases=aliases,
                           alias_names=alias_names,
                           missing_categories=missing_categories, missing_manufacturers=missing_manufacturers,
                           case_twins=_case_twins(lookups, missing_manufacturers),
                           inactive_twins=_inactive_twins(lookups, missing_manufacturers),
                           inactive_aliases=_inactive_aliases(lookups, aliases),
                           lookups=lookups, reason=reason, forms=forms), status


def _category_choices(form, pairs, lookups) -> list[category_mapping.CategoryChoice]:
    """The rows the form sent; each carries its host names so a row never shifts to another category, and the
    ConnectWise names it showed when the page was loaded. A pick left as the page showed it sends those names
    back (a row whose sub-category ConnectWise no longer has shows no pick: it is kept, not cleared)."""
    choices = []
    for n in range(len(pairs)):
        if f"hostcat-{n}" not in request.form:
            break
        cat, sub = form[f"hostcat-{n}"].data or "", form[f"hostsub-{n}"].data or ""
        shown = _shown(f"was-{n}", 2)
        if lookups is not None and f"target-{n}" in request.form:
            raw = form[f"target-{n}"].data or ""
            if shown is not None and raw == subcategory_value(lookups, shown):
                choices.append(category_mapping.CategoryChoice(cat, sub, *shown, shown=shown))
                continue
            ref = lookups.subcategory_by_id(int(raw)) if raw.isdigit() else None
            if raw and ref is None:
                raise FieldErrors({f"target-{n}": "That ConnectWise sub-category no longer exists; reload."})
            choices.append(category_mapping.CategoryChoice(cat, sub, ref.parent_name if ref else "",
                                                           ref.name if ref else "", shown=shown))
        else:
            choices.append(category_mapping.CategoryChoice(cat, sub, request.form.get(f"cwcat-{n}", ""),
                                                           request.form.get(f"cwsub-{n}", ""), shown=shown))
    return choices


def _show_theirs(section: str, form, e: FieldErrors) -> None:
    """After a save refused for rows another save changed, each such row keeps the admin's choice and is marked
    as loaded with the other save's value: saving again replaces it on purpose."""
    if not isinstance(e, common.ChangedSince):
        return
    for key, theirs in e.now.items():
        if section == "types":
            form[f"was-{key}"].data = theirs
        elif section == "categories":
            for n, pair in enumerate(common.host_category_pairs(db.session)):
                if pair == key and f"was-{n}" in form:
                    form[f"was-{n}"].data = json.dumps(theirs)
        elif f"was-{key}" in form:  # manufacturers: the row's position
            form[f"was-{key}"].data = theirs


def _one_click_refused(lookups, reason, e: FieldErrors):
    """A refused one-click alias (``samsung → Samsung`` beside the missing manufacturers): another save aliased the
    name meanwhile, or ConnectWise no longer has the manufacturer. Its form sent that one row, so the table is
    the whole one a GET shows, with the row marked as a refused save marks it: the admin's choice kept, the
    message under it, and (another save's) value loaded, so Save aliases then replaces it on purpose."""
    host, value, _ = _posted_alias_rows()[0]
    host, value = host.strip(), value.strip()
    aliases = alias_mapping.manufacturer_aliases(db.session)
    names = _alias_names(aliases, _missing_manufacturers(lookups, aliases))
    if host not in names:  # (no longer on the lines nor aliased: its row is still where the message goes)
        names = sorted([*names, host], key=str.lower)
    forms = _product_forms(lookups)
    form = forms["manufacturers"] = manufacturers_form(names, aliases, lookups)
    row = names.index(host)
    form[f"alias_cw-{row}"].data = value
    form.show_errors({f"alias-{row}": message for message in e.errors.values()})
    if isinstance(e, common.ChangedSince) and 0 in e.now:
        form[f"was-{row}"].data = e.now[0]
    flash(f"The alias {host} → {value} was not added: see its row under Manufacturers.", "error")
    return _render_products(lookups, reason, forms, 400, names)


@admin_bp.route("/products", methods=["GET", "POST"])
@admin_required
def products():
    lookups, reason = lookups_or_reason(PRODUCT_LISTS)
    if request.method == "GET":
        return _render_products(lookups, reason, _product_forms(lookups))
    section = request.form.get("section")
    forms = _product_forms(lookups, posted=section)
    actor = actor_name()
    try:
        if section == "types":
            form = forms["types"]
            type_mapping.save_product_types(
                db.session, {t: form[f"type-{t}"].data or "" for t in PRODUCT_TYPES if f"type-{t}" in request.form},
                lookups, actor, {t: request.form[f"was-{t}"] for t in PRODUCT_TYPES if f"was-{t}" in request.form})
        elif section == "categories":
            form = forms["categories"]
            category_mapping.save_categories(db.session, get_settings(db.session), form.category_mode.data or "",
                                             _category_choices(form, common.host_category_pairs(db.session), lookups),
                                             lookups, actor, request.form.get("was_mode"))
        elif section == "manufacturers":
            # Row by row: a name typed twice is refused in its row, never saved over the other row's choice.
            rows = _posted_alias_rows()
            alias_mapping.save_manufacturer_aliases(db.session, rows, lookups, actor, new_row=len(rows) - 1)
        else:
            raise FieldErrors({"section": "Unknown form; reload the page."})
    except FieldErrors as e:
        db.session.rollback()
        if section == "manufacturers" and request.form.get("one_click"):
            return _one_click_refused(lookups, reason, e)
        if section in forms:
            forms[section].show_errors(e.errors)
            _show_theirs(section, forms[section], e)
        flash("Nothing was saved: correct the rows marked below." if section in forms else
              " ".join(e.errors.values()), "error")
        return _render_products(lookups, reason, forms, 400,
                                _posted_alias_names() if section == "manufacturers" else None)
    db.session.commit()
    flash("Saved." if lookups else "Saved without checking: ConnectWise could not be reached. Save again once it "
          "answers to check the names.", "success" if lookups else "error")
    return redirect(url_for(".products") + f"#{section}")


# -- auto-map, pre-flight, field mapping -------------------------------------------------------------


AUTOMAP_KEPT_SECONDS = 24 * 3600  # how long an Auto-map's result page can be opened (and reloaded)
_AUTOMAP_KIND = "automap"


def _automap_summary(report: AutomapReport) -> str:
    return (f"Auto-map done: {plural(len(report.mapped), 'item')} mapped now, {report.kept} already mapped, "
            f"{plural(len(report.left), 'item')} left for a person.")


@admin_bp.route("/automap", methods=["POST"])
@admin_required
def automap_view():
    """Run Auto-map, then redirect (Post/Redirect/Get) to its result, kept for a while: reloading the result page
    shows it again and never runs Auto-map a second time."""
    lookups, reason = lookups_or_reason(REP_LISTS[:1] + PRODUCT_LISTS)
    if lookups is None:
        flash(f"Auto-map needs ConnectWise's lists. {reason}", "error")
        return redirect(referrer_path(url_for(".connection")))
    report = automap(db.session, lookups, actor_name())
    db.session.commit()
    try:
        token = keep_result(_AUTOMAP_KIND, dataclasses.asdict(report), AUTOMAP_KEPT_SECONDS)
    except RedisError:
        log.warning("colcw: Redis did not answer: Auto-map's result is shown by its counts only", exc_info=True)
        flash(_automap_summary(report), "success")
        flash("Its list could not be kept to show (the job queue's Redis did not answer). The pre-flight check below "
              "lists what is left for a person; running Auto-map again changes nothing already mapped.", "warning")
        return redirect(url_for(".preflight"))
    flash(_automap_summary(report), "success")
    return redirect(url_for(".automap_result", token=token))


@admin_bp.route("/automap/<token>")
@admin_required
def automap_result(token: str):
    """An Auto-map's result (what it mapped and what it left for a person), as it was when it ran."""
    try:
        kept = kept_result(_AUTOMAP_KIND, token)
    except RedisError:
        log.warning("colcw: Redis did not answer: Auto-map's result cannot be shown", exc_info=True)
        kept, gone = None, "could not be read (the job queue's Redis did not answer)"
    else:
        gone = f"is kept for {AUTOMAP_KEPT_SECONDS // 3600} hours and this one is no longer there"
    if kept is None:
        return render_template("colcw/mappings/automap.html", report=None, gone=gone), 404
    return render_template("colcw/mappings/automap.html", report=AutomapReport(**kept))


@admin_bp.route("/preflight")
@admin_required
def preflight():
    lookups, reason = lookups_or_reason(("members", "product_types", "categories", "subcategories",
                                         "manufacturers", "states"))
    # Read fresh, as the export reads them again before it refuses a document for what a cached list says.
    opportunity_lists = opportunity_lists_or_reason()[0] if lookups is not None else None
    # The Customers area: the last Map customers scan if recent (no request), else one page of companies read now.
    companies, companies_reason = None, None
    if lookups is not None:
        companies = recent_scan(db.session)
        if companies is None:
            companies, companies_reason = read_or_reason(read_companies, "ConnectWise's companies")
    report = run_preflight(db.session, lookups, reason, opportunity_lists, companies, companies_reason)
    db.session.rollback()
    return render_template("colcw/mappings/preflight.html", report=report, zone=display_zone(), times_in=times_in)


@admin_bp.route("/mapping")
@admin_required
def field_mapping():
    return render_template("colcw/mappings/field_mapping.html", tables=field_mapping_defs.TABLES,
                           document_types=field_mapping_defs.DOCUMENT_TYPES,
                           provinces=field_mapping_defs.CANADIAN_PROVINCES)
