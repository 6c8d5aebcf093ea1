"""All Customers, customer view, create and edit (with contacts)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import Select, or_, select

from ..extensions import db
from ..models import Customer, Document
from ..services import CONTACT_EDITABLE, CUSTOMER_EDITABLE, ValidationError, save_customer
from ..snapshots import customer_snapshot
from . import current_actor, form_rows, lists, plugin_html, plugin_links, row_errors

bp = Blueprint("customers", __name__, url_prefix="/customers")

PER_PAGE = 25


def _list_query(args) -> Select:
    """All Customers' query for a search (``q``), before the plugins' filters."""
    q = args.get("q", "").strip()
    stmt = select(Customer).order_by(Customer.name, Customer.id)
    if q:  # the text as typed: "%" and "_" are characters searched for, not wildcards
        stmt = stmt.where(or_(*(column.icontains(q, autoescape=True) for column in
                                (Customer.name, Customer.account_number, Customer.city, Customer.phone))))
    return stmt


@bp.route("/")
@login_required
def list_customers():
    q = request.args.get("q", "").strip()
    stmt, filters = lists.filtered("customers", _list_query(request.args), Customer.id)
    page = lists.paginate(stmt, PER_PAGE)
    extras = lists.page_extras("customers", [c.id for c in page.items], filters)
    return render_template("host/customers.html", page=page, q=q, lst=extras,
                           actions=plugin_links("customers_list_actions"),
                           plugin_slot=plugin_html("customers_list_render"))


@bp.route("/bulk", methods=["POST"])
@login_required
def bulk_customers():
    return lists.bulk("customers", lambda: lists.filtered("customers", _list_query(request.args), Customer.id)[0],
                      Customer.id, "customers.list_customers")


@bp.route("/<int:customer_id>")
@login_required
def view_customer(customer_id: int):
    customer = db.get_or_404(Customer, customer_id)
    snap = customer_snapshot(customer)
    documents = db.session.execute(select(Document).where(Document.customer_id == customer.id)
                                   .order_by(Document.created_at.desc())).scalars().all()
    return render_template("host/customer_view.html", customer=customer, documents=documents,
                           actions=plugin_links("customer_view_actions", customer=snap),
                           plugin_slot=plugin_html("customer_view_render", customer=snap))


def _form_contacts() -> tuple[list[dict], list[str]]:
    """Contacts posted as contacts-<n>-<field> (the fields posted only), and the form row of each; rows marked for
    deletion or left empty are dropped (a row with anything typed is kept, so a phone without a name is an error
    beside it, never silently lost)."""
    default_idx = request.form.get("default_contact")
    out, rows = [], []
    for idx, row in sorted(form_rows("contacts").items(), key=lambda kv: int(kv[0])):
        if row.get("delete") or not any(row.get(f, "").strip() for f in CONTACT_EDITABLE if f != "is_default"):
            continue
        # Only the fields the form posted: a field a page or client does not post (an address, from a form
        # made before the page edited addresses) stays as it is (blanking it erased it in the host, and at the
        # next export in ConnectWise).
        contact = {f: row[f] for f in CONTACT_EDITABLE if f != "is_default" and f in row}
        contact["is_default"] = idx == default_idx
        if row.get("id"):
            contact["id"] = int(row["id"])
        out.append(contact)
        rows.append(idx)
    return out, rows


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
@login_required
def edit_customer(customer_id: int | None = None):
    customer = db.get_or_404(Customer, customer_id) if customer_id else None
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        data = {f: form.get(f, "") for f in CUSTOMER_EDITABLE if f != "active"}
        data["active"] = bool(form.get("active"))
        contacts, rows = _form_contacts()
        try:
            saved = save_customer(data, contacts, customer_id=customer_id, actor=current_actor(),
                                  delete_missing_contacts=True)
        except ValidationError as e:
            db.session.rollback()
            errors = row_errors(e.errors, "contacts", rows)
            flash("Nothing was saved: correct the fields marked below.", "error")
        else:
            flash(f"Customer {saved.name} saved.", "success")
            return redirect(url_for(".view_customer", customer_id=saved.id))
    return render_template("host/customer_edit.html", customer=customer, errors=errors, form=form)
