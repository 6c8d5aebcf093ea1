"""Quotes list, quote / sales order view and edit, convert quote to sales order."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload, selectinload

from ..extensions import db
from ..models import PRODUCT_TYPES, Customer, CustomField, Document, ProductCategory, User
from ..services import LINE_EDITABLE, ValidationError, convert_quote, save_document
from ..snapshots import document_snapshot
from . import current_actor, form_rows, lists, plugin_html, plugin_links, row_errors

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
    form = request.form
    if request.method == "POST":
        header = {k: form.get(k, "") for k in ("customer_id", "contact_id", "sales_rep_id", "title", "follow_up_date")}
        custom = {f.id: form.get(f"field-{f.id}", "") for f in fields}
        lines, rows = _form_lines()
        try:
            saved = save_document(header, lines, document_id=doc_id, custom_fields=custom, actor=current_actor())
        except ValidationError as e:
            db.session.rollback()
            errors = row_errors(e.errors, "lines", rows)
            flash("Nothing was saved: correct the fields marked below.", "error")
        else:
            flash(f"{'Quote' if saved.is_quote else 'Sales order'} {saved.number} saved.", "success")
            return redirect(url_for(".view_document", doc_id=saved.id))
    preselect = request.args.get("customer_id", type=int)
    customers = db.session.execute(select(Customer).order_by(Customer.name).limit(500)).scalars().all()
    # The first 500 by name, plus the document's own customer (or the one posted, or preselected) wherever it
    # sorts: else the form would show "Choose…" for it and saving would lose it.
    for wanted in (request.form.get("customer_id", type=int), doc.customer_id if doc else None, preselect):
        if wanted and not any(c.id == wanted for c in customers):
            extra = db.session.get(Customer, wanted)
            if extra:
                customers.append(extra)
    reps = db.session.execute(select(User).where(User.active).order_by(User.first_name)).scalars().all()
    cats = db.session.execute(select(ProductCategory).where(ProductCategory.parent_id.is_(None))
                              .order_by(ProductCategory.name)).scalars().all()
    return render_template("host/document_edit.html", doc=doc, fields=fields, errors=errors, form=form,
                           customers=customers, reps=reps, categories=cats, product_types=PRODUCT_TYPES,
                           preselect=preselect, me=current_user)


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
