"""Rep-facing customer sync: the Import From ConnectWise popup and the Export to ConnectWise action."""

from flask import abort, render_template
from flask_login import login_required
from host_stub.extensions import db
from host_stub.models import Customer

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
