"""A line's error on the document form names the line as the rep sees it: rows ticked Delete above it still count."""

from __future__ import annotations

from form_support import error_beside

from helpers import csrf_from
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Document


def test_an_error_below_a_row_ticked_delete_names_the_row_the_rep_sees(rep_client):
    acme = services.save_customer({"account_number": "ACME1", "name": "Acme Ltd"},
                                  [{"first_name": "Ann", "last_name": "Lee", "email": "ann@acme.example"}])
    quote = services.save_document({"customer_id": acme.id, "title": "Seven lines"},
                                   [{"item_number": f"P-{n}", "quantity": 1, "price": 5} for n in range(1, 8)])
    url = f"/documents/{quote.id}/edit"
    data = {"csrf_token": csrf_from(rep_client.get(url).get_data(as_text=True)), "customer_id": str(acme.id),
            "title": "Seven lines"}
    for i, line in enumerate(quote.lines):
        data.update({f"lines-{i}-id": str(line.id), f"lines-{i}-item_number": line.item_number,
                     f"lines-{i}-quantity": "1", f"lines-{i}-price": "5", f"lines-{i}-product_type": "Product"})
    data["lines-2-delete"] = "1"  # the third row ticked Delete
    data["lines-5-quantity"] = "abc"  # the sixth row's quantity
    body = rep_client.post(url, data=data).get_data(as_text=True)
    error = error_beside(body, "lines-5-quantity")
    assert error.startswith("Line 6: Quantity must be"), error
    assert "Line 5:" not in body
    db.session.expire_all()
    assert [ln.item_number for ln in db.session.get(Document, quote.id).lines] == [f"P-{n}" for n in range(1, 8)]
