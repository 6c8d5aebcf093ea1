"""Rep-facing document export: Export to ConnectWise on the quote / sales order page."""

from flask import abort, render_template
from flask_login import login_required
from host_stub.extensions import db
from host_stub.models import Document

from . import rep_bp


@rep_bp.route("/documents/<int:doc_id>/export", methods=["GET"])
@login_required
def export_document(doc_id: int):
    doc = db.session.get(Document, doc_id) or abort(404)
    return render_template("colcw/export_document.html", doc=doc)
