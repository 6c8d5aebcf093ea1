"""Rep-facing colcw pages: the Import popup and the Export actions."""

from flask import abort, render_template
from flask_login import login_required
from host_stub.extensions import db
from host_stub.models import Customer, Document

from . import rep_bp


@rep_bp.route("/import", methods=["GET"])
@login_required
def import_company():
    return render_template("colcw/import_company.html")


@rep_bp.route("/customers/<int:customer_id>/export", methods=["GET"])
@login_required
def export_customer(customer_id: int):
    customer = db.session.get(Customer, customer_id) or abort(404)
    return render_template("colcw/export_customer.html", customer=customer)


@rep_bp.route("/documents/<int:doc_id>/export", methods=["GET"])
@login_required
def export_document(doc_id: int):
    doc = db.session.get(Document, doc_id) or abort(404)
    return render_template("colcw/export_document.html", doc=doc)
