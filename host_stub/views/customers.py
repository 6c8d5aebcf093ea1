"""All Customers, customer view, create and edit (with contacts)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import Select, or_, select

from ..extensions import db
from ..gateway import ChangedMeanwhile, customer_form_version
from ..models import Customer, Document
from ..services import CONTACT_EDITABLE, CUSTOMER_EDITABLE, ValidationError, save_customer
from ..snapshots import customer_snapshot
from . import current_actor, flash_save_warnings, form_rows, lists, plugin_html, plugin_links, row_errors

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


def opened_version() -> dict | None:
    """The version the edit form was opened on (its hidden ``opened``), or None from a form made without one."""
    raw = request.form.get("opened")
    if raw is None:
        return None
    try:
        opened = json.loads(raw)
    except ValueError:
        abort(400)
    if not _texts(opened):  # a tampered version is a bad request, never a 500
        abort(400)
    return opened


def _texts(value, depth: int = 0) -> bool:
    """Whether ``value`` is a version as the pages write it: objects (at most three deep) of text."""
    if isinstance(value, dict):
        return depth < 3 and all(_texts(v, depth + 1) for v in value.values())
    return depth > 0 and isinstance(value, str)


def merge_field(src: dict, notes: dict, key: str, typed: str, was: str, now: str) -> None:
    """One field of a form refused because the record changed meanwhile: what it shows now. Unchanged meanwhile:
    what was typed. Changed meanwhile and left as it was: the current value. Changed on both sides: what was typed,
    the current value named beside it (nothing typed is lost)."""
    if now == was or typed.strip() == now:
        src[key] = typed
    elif typed.strip() == was:
        src[key] = now
        notes[key] = f"Changed meanwhile from “{was}” to “{now}”: the current value is shown."
    else:
        src[key] = typed
        notes[key] = (f"Changed meanwhile to “{now}” (it was “{was}” when you opened the page); what you typed is "
                      "kept here: keep it or type the current value, and save.")


def keep_typed_rows(src: dict, notes: dict, posted: list, by_id: dict, was_rows: dict, fields: Sequence[str], *,
                    prefix: str, start: int, noun: str, blank: Callable[[dict], bool], named: Callable[[dict], str],
                    on_kept: Callable[[str, int], None] | None = None) -> int:
    """A form refused as changed meanwhile, shown again: the rep's new rows, and rows deleted meanwhile that the form
    still had, kept as typed as new rows after row ``start`` (a deleted row left as it was stays deleted, and is named
    once). Returns how many rows it added."""
    extra, gone = 0, []
    for idx, row in posted:
        if (row.get("id") and row["id"] not in by_id) or row.get("delete") or blank(row):
            continue
        was = was_rows.get(row.get("id") or "")
        if was is not None and all(row.get(f, "").strip() == was.get(f, "") for f in fields):
            gone.append(named(was) or row["id"])
            continue
        i = start + extra
        extra += 1
        for f in fields:
            src[f"{prefix}-{i}-{f}"] = row.get(f, "")
        if row.get("id"):
            notes[f"{prefix}-{i}"] = (f"This {noun} was deleted meanwhile: what the form had is kept in this row, and "
                                      f"saving adds it again as a new {noun}; empty the row to leave it deleted.")
        if on_kept is not None:
            on_kept(idx, i)
    if gone:
        notes[prefix] = f"Deleted meanwhile: {', '.join(gone)} (saving leaves them deleted)."
    return extra


def changed_meanwhile_text(what: str, e: ChangedMeanwhile) -> str:
    when = f" (last saved at {e.changed_at:%Y-%m-%d %H:%M} UTC)" if e.changed_at else ""
    return (f"This {what} was changed since you opened this page{when}: nothing was saved. The fields that changed "
            "meanwhile are marked below: those you had left as they were now show the current values; where you "
            "had typed something, your value is kept and the current one is named beside it. Review them and save "
            "again.")


def _merged_customer(customer: Customer, opened: dict, current: dict) -> tuple[dict, dict, int]:
    """The customer form refused as changed meanwhile, shown again: what each field shows (keyed as the form),
    the notes beside the fields that changed meanwhile, and how many empty contact rows follow the current ones."""
    form, src, notes = request.form, {}, {}
    was_c, now_c = opened.get("customer") or {}, current["customer"]
    for f in CUSTOMER_EDITABLE:
        typed = ("1" if form.get("active") else "") if f == "active" else form.get(f, now_c[f])
        merge_field(src, notes, f, typed, str(was_c.get(f, "")), now_c[f])
    was_contacts = opened.get("contacts") or {}
    posted = sorted(form_rows("contacts").items(), key=lambda kv: int(kv[0]))
    by_id = {row["id"]: (idx, row) for idx, row in posted if row.get("id")}
    chosen = form.get("default_contact")
    fields = [f for f in CONTACT_EDITABLE if f != "is_default"]
    contacts = list(customer.contacts)
    for i, contact in enumerate(contacts):
        now = current["contacts"][str(contact.id)]
        idx, row = by_id.pop(str(contact.id), (None, None))
        was = was_contacts.get(str(contact.id))
        if row is None or was is None:  # added meanwhile (or not on the rep's form): as it is now
            for f in fields:
                src[f"contacts-{i}-{f}"] = now[f]
            notes[f"contacts-{i}"] = f"Contact {contact.name or i + 1} was added meanwhile."
            if now["is_default"] and not chosen:
                src["default_contact"] = str(i)
            continue
        for f in fields:
            merge_field(src, notes, f"contacts-{i}-{f}", row.get(f, now[f]), str(was.get(f, "")), now[f])
        if row.get("delete"):
            src[f"contacts-{i}-delete"] = "1"
        if idx == chosen:
            src["default_contact"] = str(i)
    def chosen_row(idx, i):
        if idx == chosen:
            src["default_contact"] = str(i)

    extra = keep_typed_rows(src, notes, posted, by_id, was_contacts, fields, prefix="contacts", start=len(contacts),
                            noun="contact", blank=lambda row: not any(row.get(f, "").strip() for f in fields),
                            named=lambda was: f"{was.get('first_name', '')} {was.get('last_name', '')}".strip(),
                            on_kept=chosen_row)
    if "default_contact" not in src:
        for i, contact in enumerate(contacts):
            if contact.is_default:
                src["default_contact"] = str(i)
    return src, notes, extra + 2


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
@login_required
def edit_customer(customer_id: int | None = None):
    customer = db.get_or_404(Customer, customer_id) if customer_id else None
    errors: dict[str, str] = {}
    notes: dict[str, str] = {}
    blank_rows = 2
    form = request.form
    opened = opened_version() if request.method == "POST" else None
    if request.method == "POST":
        data = {f: form.get(f, "") for f in CUSTOMER_EDITABLE if f != "active"}
        data["active"] = bool(form.get("active"))
        contacts, rows = _form_contacts()
        try:
            saved = save_customer(data, contacts, customer_id=customer_id, actor=current_actor(),
                                  delete_missing_contacts=True, opened=opened)
        except ChangedMeanwhile as e:
            db.session.rollback()
            customer = db.get_or_404(Customer, customer_id)
            form, notes, blank_rows = _merged_customer(customer, opened or {}, e.current)
            opened = e.current
            flash(changed_meanwhile_text("customer", e), "error")
        except ValidationError as e:
            db.session.rollback()
            errors = row_errors(e.errors, "contacts", rows)
            flash("Nothing was saved: correct the fields marked below.", "error")
        else:
            flash(f"Customer {saved.name} saved.", "success")
            flash_save_warnings("customer_save_warnings", "customer", lambda: customer_snapshot(saved),
                                created=customer_id is None)
            return redirect(url_for(".view_customer", customer_id=saved.id))
    if customer is not None and opened is None:
        opened = customer_form_version(customer)
    return render_template("host/customer_edit.html", customer=customer, errors=errors, form=form, notes=notes,
                           blank_rows=blank_rows, opened=json.dumps(opened) if opened is not None else None)
