"""Conversions clicked at once, over real HTTP on a threaded server: one sales order per quote, distinct
numbers, and every click answered with a page (none a 5xx)."""

from __future__ import annotations

import threading

import requests
from sqlalchemy import select

from helpers import LiveServer, http_sign_in, post_at_once
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Document

CLICKS = 6


def _quote(customer_id: int, title: str) -> Document:
    return services.save_document({"customer_id": customer_id, "title": title},
                                  [{"item_number": "U6-PRO", "quantity": 1, "price": 199, "product_type": "Product"}])


def test_a_quote_converted_by_six_clicks_at_once_makes_one_sales_order(app):
    customer = services.save_customer({"account_number": "RACE1", "name": "Race Ltd", "state": "ON"})
    quote = _quote(customer.id, "Clicked six times")
    server = LiveServer(app)
    try:
        cookies, token = http_sign_in(server.url, f"/documents/{quote.id}")
        answers = post_at_once(CLICKS, f"{server.url}/documents/{quote.id}/convert", cookies, {"csrf_token": token})
    finally:
        server.stop()
    assert sorted(a.status_code for a in answers) == [200] * CLICKS
    db.session.expire_all()
    [order] = db.session.execute(select(Document).where(Document.doc_type == "order")).scalars().all()
    assert order.source_quote_id == quote.id
    assert sum(f"Quote converted to sales order {order.number}." in a.text for a in answers) == 1
    assert sum(f"{quote.number} was already converted to a sales order." in a.text for a in answers) == CLICKS - 1


def test_quotes_converted_at_the_same_moment_get_distinct_sales_order_numbers(app):
    customer = services.save_customer({"account_number": "RACE2", "name": "Race Two Ltd", "state": "ON"})
    quotes = [_quote(customer.id, f"Deal {n}") for n in range(CLICKS)]
    server = LiveServer(app)
    try:
        cookies, token = http_sign_in(server.url, f"/documents/{quotes[0].id}")
        answers, lock, start = [], threading.Lock(), threading.Barrier(CLICKS)

        def convert(quote_id: int) -> None:  # each thread converts its own quote
            with requests.Session() as http:
                http.cookies = cookies.copy()
                start.wait(30)
                resp = http.post(f"{server.url}/documents/{quote_id}/convert", data={"csrf_token": token}, timeout=60)
                with lock:
                    answers.append(resp)

        threads = [threading.Thread(target=convert, args=(q.id,)) for q in quotes]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        server.stop()
    assert sorted(a.status_code for a in answers) == [200] * CLICKS
    db.session.expire_all()
    orders = db.session.execute(select(Document).where(Document.doc_type == "order")).scalars().all()
    assert sorted(o.source_quote_id for o in orders) == sorted(q.id for q in quotes)
    assert len({o.number for o in orders}) == CLICKS
