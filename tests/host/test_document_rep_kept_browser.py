"""Saving a quote's edit page keeps its sales rep as it was: a quote without a sales rep stays without one (the list
showed no empty choice, so the browser posted the first rep in it, and the quote silently got a rep it never had —
and, with colcw, its opportunity that rep's member), and a quote whose rep is no longer active keeps that rep."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from helpers import browser_sign_in
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Document, User

pytestmark = pytest.mark.browser


def _save_title(page, base: str, doc_id: int, title: str) -> Document:
    page.goto(f"{base}/documents/{doc_id}/edit")
    page.fill("input[name=title]", title)
    page.click("#document-form button[type=submit]")
    page.wait_for_url(re.compile(rf".*/documents/{doc_id}$"))
    db.session.expire_all()
    return db.session.get(Document, doc_id)


def test_a_quote_without_a_rep_stays_without_one_and_an_inactive_rep_is_kept(app, live_server, page):
    customer = services.save_customer({"name": "Rep-less Dental", "account_number": "REPLESS1"})
    quote = services.save_document({"customer_id": customer.id, "sales_rep_id": None},
                                   [{"item_number": "L1", "price": 3}])
    browser_sign_in(page, live_server.url, "admin@demo.example")
    saved = _save_title(page, live_server.url, quote.id, "Only the title changed")
    assert saved.title == "Only the title changed" and saved.sales_rep_id is None

    riley = db.session.execute(select(User).where(User.email == "riley@demo.example")).scalar_one()
    doc = db.session.get(Document, quote.id)
    doc.sales_rep_id = riley.id
    riley.active = False
    db.session.commit()
    page.goto(f"{live_server.url}/documents/{quote.id}/edit")
    assert page.locator("select[name=sales_rep_id] option:checked").inner_text() == f"{riley.name} (inactive)"
    saved = _save_title(page, live_server.url, quote.id, "Title again")
    assert saved.title == "Title again" and saved.sales_rep_id == riley.id
