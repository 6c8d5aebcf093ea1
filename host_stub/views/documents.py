"""Quotes list, quote / sales order view and edit, convert quote to sales order."""

from __future__ import annotations

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload, selectinload

from ..extensions import db
from ..gateway import ChangedMeanwhile, document_form_version
from ..models import PRODUCT_TYPES, Contact, Customer, CustomField, Document, ProductCategory, User
from ..services import LINE_EDITABLE, ValidationError, convert_quote, save_document
from ..snapshots import document_snapshot
from . import current_actor, flash_save_warnings, form_rows, lists, plugin_html, plugin_links, row_errors
from .customers import changed_meanwhile_text, keep_typed_rows, merge_field, opened_version

bp = Blueprint("documents", __name__)

PER_PAGE = 25


LIST_NAMES = {"quote": "quotes", "order": "orders"}
LIST_ENDPOINTS = {"quote": "documents.list_quotes", "order": "documents.list_orders"}


def _list_query(doc_type: str, args) -> Select:
    """The Quotes or Sales Orders query for a search (``q``), before the plugins' filters."""
    q = args.get("q", "").strip()
    stmt = select(Document).where(Document.doc_type == doc_type).order_by(Document.created_at.desc(), Document.id.desc())
    if q:
        # the text as typed: "%" and "_" are characters searched for, not wildcards
        stmt = stmt.join(Customer).where(Document.number.icontains(q, autoescape=True)
                                         | Customer.name.icontains(q, autoescape=True))
    return stmt


@bp.route("/quotes/")
@bp.route("/orders/", endpoint="list_orders", defaults={"doc_type": "order"})
@login_required
def list_quotes(doc_type: str = "quote"):
    q = request.args.get("q", "").strip()
    stmt, filters = lists.filtered(LIST_NAMES[doc_type], _list_query(doc_type, request.args), Document.id)
    # Everything a row shows, loaded for the whole page at once: a constant number of statements
    # whatever the page size (the customer and rep joined, the lines and external statuses in one query each).
    stmt = stmt.options(joinedload(Document.customer), joinedload(Document.sales_rep), selectinload(Document.lines),
                        selectinload(Document.external_statuses))
    page = lists.paginate(stmt, PER_PAGE)
    extras = lists.page_extras(LIST_NAMES[doc_type], [d.id for d in page.items], filters)
    return render_template("host/documents.html", page=page, q=q, doc_type=doc_type, lst=extras,
                           bulk_url=url_for(".bulk_documents", doc_type=doc_type, **request.args))


@bp.route("/<any(quote, order):doc_type>s/bulk", methods=["POST"])
@login_required
def bulk_documents(doc_type: str):
    name = LIST_NAMES[doc_type]
    return lists.bulk(name, lambda: lists.filtered(name, _list_query(doc_type, request.args), Document.id)[0],
                      Document.id, LIST_ENDPOINTS[doc_type])


@bp.route("/documents/<int:doc_id>")
@login_required
def view_document(doc_id: int):
    doc = db.get_or_404(Document, doc_id)
    snap = document_snapshot(doc)
    fields = db.session.execute(select(CustomField).order_by(CustomField.position)).scalars().all()
    return render_template("host/document_view.html", doc=doc, fields=fields,
                           actions=plugin_links("document_view_actions", document=snap),
                           plugin_slot=plugin_html("document_view_render", document=snap))


def _form_lines() -> tuple[list[dict], list[str]]:
    """Lines posted as lines-<n>-<field>, and the form row of each; deleted or empty rows are dropped (an
    empty row still carries its defaults: quantity 1, type Product). A row with anything typed is kept,
    so a price without an item number is an error beside it, never silently lost."""
    out, rows = [], []
    for idx, row in sorted(form_rows("lines").items(), key=lambda kv: int(kv[0])):
        typed = {f: row.get(f, "").strip() for f in LINE_EDITABLE if f != "product_type"}
        if row.get("delete") or not any(v for f, v in typed.items() if not (f == "quantity" and v == "1")):
            continue
        line = {f: row.get(f, "") for f in LINE_EDITABLE}
        if row.get("id"):
            line["id"] = int(row["id"])
        out.append(line)
        rows.append(idx)
    return out, rows


def _numbered_as_shown(errors: dict[str, str], rows: list[str]) -> dict[str, str]:
    """The service's line errors ("Line 5: …", numbered among the lines it was given) numbered as the form shows
    the rows: a row ticked Delete, or left empty, above the one in error still counts (row ``lines-5`` is line 6)."""
    out = {}
    for key, message in errors.items():
        head = key.partition(".")[0]
        i = head[len("lines["):-1] if head.startswith("lines[") and head.endswith("]") else ""
        if i.isdigit() and int(i) < len(rows) and message.startswith(f"Line {int(i) + 1}: "):
            message = f"Line {int(rows[int(i)]) + 1}: " + message.removeprefix(f"Line {int(i) + 1}: ")
        out[key] = message
    return out


HEADER = ("customer_id", "contact_id", "sales_rep_id", "title", "follow_up_date")
_CHOICES = {"customer_id": Customer, "contact_id": Contact, "sales_rep_id": User}


def _choice_name(key: str, value: str) -> str:
    """A header choice's id as the page names it (the customer, contact or sales rep)."""
    row = db.session.get(_CHOICES[key], int(value)) if key in _CHOICES and value.isdigit() else None
    return row.name if row is not None else value or "none"


def _merged_document(doc: Document, opened: dict, current: dict) -> tuple[dict, dict, int]:
    """The document form refused as changed meanwhile, shown again: what each field shows (keyed as the form),
    the notes beside the fields that changed meanwhile, and how many empty line rows follow the current lines."""
    form, src, notes = request.form, {}, {}
    was_h, now_h = opened.get("header") or {}, current["header"]
    for key in HEADER:
        was, now = str(was_h.get(key, "")), now_h[key]
        merge_field(src, notes, key, form.get(key, now), was, now)
        if key in notes and key in _CHOICES:  # a choice: named, not its id
            notes[key] = notes[key].replace(f"“{was}”", f"“{_choice_name(key, was)}”").replace(
                f"“{now}”", f"“{_choice_name(key, now)}”").replace(
                f"“{form.get(key, '')}”", f"“{_choice_name(key, form.get(key, ''))}”")
    was_c, now_c = opened.get("custom") or {}, current["custom"]
    for fv_id in {k for k in form if k.startswith("field-")} | {f"field-{k}" for k in now_c}:
        field_id = fv_id.removeprefix("field-")
        merge_field(src, notes, fv_id, form.get(fv_id, now_c.get(field_id, "")), str(was_c.get(field_id, "")),
                    now_c.get(field_id, ""))
    was_lines = opened.get("lines") or {}
    posted = sorted(form_rows("lines").items(), key=lambda kv: int(kv[0]))
    by_id = {row["id"]: row for _, row in posted if row.get("id")}
    lines = list(doc.lines)
    for i, line in enumerate(lines):
        now = current["lines"][str(line.id)]
        row, was = by_id.pop(str(line.id), None), was_lines.get(str(line.id))
        if row is None or was is None:  # added meanwhile (or not on the rep's form): as it is now
            for f in LINE_EDITABLE:
                src[f"lines-{i}-{f}"] = now[f]
            notes[f"lines-{i}"] = f"Line {line.item_number} was added meanwhile."
            continue
        for f in LINE_EDITABLE:
            merge_field(src, notes, f"lines-{i}-{f}", row.get(f, now[f]), str(was.get(f, "")), now[f])
        if row.get("delete"):
            src[f"lines-{i}-delete"] = "1"
    def blank(row):
        typed = {f: row.get(f, "").strip() for f in LINE_EDITABLE if f != "product_type"}
        return not any(v for f, v in typed.items() if not (f == "quantity" and v == "1"))

    extra = keep_typed_rows(src, notes, posted, by_id, was_lines, LINE_EDITABLE, prefix="lines", start=len(lines),
                            noun="line", blank=blank, named=lambda was: was.get("item_number") or "")
    return src, notes, extra + 3


@bp.route("/quotes/new", methods=["GET", "POST"])
@bp.route("/documents/<int:doc_id>/edit", methods=["GET", "POST"])
@login_required
def edit_document(doc_id: int | None = None):
    doc = db.get_or_404(Document, doc_id) if doc_id else None
    if doc is not None and doc.locked:
        flash(f"{doc.number} is locked because it was exported to ConnectWise. Unlock it to edit.", "error")
        return redirect(url_for(".view_document", doc_id=doc.id))
    fields = db.session.execute(select(CustomField).order_by(CustomField.position)).scalars().all()
    errors: dict[str, str] = {}
    notes: dict[str, str] = {}
    blank_rows = 3
    form = request.form
    opened = opened_version() if request.method == "POST" else None
    if request.method == "POST":
        header = {k: form.get(k, "") for k in HEADER}
        custom = {f.id: form.get(f"field-{f.id}", "") for f in fields}
        lines, rows = _form_lines()
        try:
            saved = save_document(header, lines, document_id=doc_id, custom_fields=custom, actor=current_actor(),
                                  opened=opened)
        except ChangedMeanwhile as e:
            db.session.rollback()
            doc = db.get_or_404(Document, doc_id)
            form, notes, blank_rows = _merged_document(doc, opened or {}, e.current)
            opened = e.current
            flash(changed_meanwhile_text("quote" if doc.is_quote else "sales order", e), "error")
        except ValidationError as e:
            db.session.rollback()
            errors = row_errors(_numbered_as_shown(e.errors, rows), "lines", rows)
            flash(e.errors.get("locked") or "Nothing was saved: correct the fields marked below.", "error")
        else:
            flash(f"{'Quote' if saved.is_quote else 'Sales order'} {saved.number} saved.", "success")
            flash_save_warnings("document_save_warnings", "document", lambda: document_snapshot(saved),
                                created=doc_id is None)
            return redirect(url_for(".view_document", doc_id=saved.id))
    if doc is not None and opened is None:
        opened = document_form_version(doc)
    preselect = request.args.get("customer_id", type=int)
    customers = db.session.execute(select(Customer).order_by(Customer.name).limit(500)).scalars().all()
    # The first 500 by name, plus the document's own customer (or the one posted, or preselected) wherever it
    # sorts: else the form would show "Choose…" for it and saving would lose it.
    wanted_posted = int(form["customer_id"]) if str(form.get("customer_id", "")).isdigit() else None
    for wanted in (wanted_posted, doc.customer_id if doc else None, preselect):
        if wanted and not any(c.id == wanted for c in customers):
            extra = db.session.get(Customer, wanted)
            if extra:
                customers.append(extra)
    reps = db.session.execute(select(User).where(User.active).order_by(User.first_name)).scalars().all()
    cats = db.session.execute(select(ProductCategory).where(ProductCategory.parent_id.is_(None))
                              .order_by(ProductCategory.name)).scalars().all()
    return render_template("host/document_edit.html", doc=doc, fields=fields, errors=errors, form=form,
                           customers=customers, reps=reps, categories=cats, product_types=PRODUCT_TYPES,
                           preselect=preselect, me=current_user, notes=notes, blank_rows=blank_rows,
                           opened=json.dumps(opened) if opened is not None else None)


@bp.route("/documents/<int:doc_id>/convert", methods=["POST"])
@login_required
def convert(doc_id: int):
    try:
        order = convert_quote(doc_id, actor=current_actor())
    except ValidationError as e:
        db.session.rollback()
        flash(" ".join(e.errors.values()), "error")
        return redirect(url_for(".view_document", doc_id=doc_id))
    flash(f"Quote converted to sales order {order.number}.", "success")
    return redirect(url_for(".view_document", doc_id=order.id))
