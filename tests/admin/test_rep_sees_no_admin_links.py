"""A rep's answer that ConnectWise is not connected linked the Connection page, an admin's page that answers a rep
403. A rep reads "ask an admin to connect it on Admin → Integration → ConnectWise" without a link; an admin gets the
link, in the same words (one definition: views/support.NOT_CONNECTED)."""

from __future__ import annotations

import html as html_lib
import re

import pytest

from helpers import csrf_from, sign_in
from host_stub.services import save_customer, save_document

SAID = "ConnectWise is not connected yet — ask an admin to connect it on Admin → Integration → ConnectWise."
CONNECTION = "/admin/integration/connectwise/"


@pytest.fixture()
def document(app):
    customer = save_customer({"name": "Acme", "account_number": "ACME1"},
                             [{"first_name": "Ada", "last_name": "Lovelace", "is_default": True}])
    doc = save_document({"customer_id": customer.id, "contact_id": customer.contacts[0].id},
                        [{"item_number": "OPT-7010", "quantity": 1, "price": 100, "cost": 60, "manufacturer": "Dell",
                          "description": "Desktop", "category": "Hardware", "subcategory": "Desktops",
                          "product_type": "Product"}])
    return doc.id


def _answers(http, doc_id: int) -> list[str]:
    token = csrf_from(http.get(f"/documents/{doc_id}").get_data(as_text=True))
    return [r.get_data(as_text=True) for r in (
        http.post(f"/colcw/documents/{doc_id}/export", data={"csrf_token": token}, follow_redirects=True),
        http.get(f"/colcw/documents/{doc_id}/opportunities", headers={"HX-Request": "true"}),
        http.post(f"/colcw/documents/{doc_id}/opportunity", data={"opportunity_id": "5", "csrf_token": token},
                  follow_redirects=True))]


def _plain(html: str) -> str:
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", "", html)))


def test_a_rep_is_told_to_ask_an_admin_without_a_link_to_the_admin_page(app, document):
    rep = sign_in(app.test_client(), "riley@demo.example")
    for html in _answers(rep, document):
        assert SAID in _plain(html)
        assert f'href="{CONNECTION}"' not in html
    assert rep.get(CONNECTION).status_code == 403  # why: the page is an admin's


def test_an_admin_gets_the_same_words_with_the_link(app, document):
    admin = sign_in(app.test_client(), "admin@demo.example")
    for html in _answers(admin, document):
        assert SAID in _plain(html)
        assert f'<a href="{CONNECTION}">Admin → Integration → ConnectWise</a>' in html
