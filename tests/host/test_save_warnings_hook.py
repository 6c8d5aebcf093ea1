"""The host's ``document_save_warnings`` / ``customer_save_warnings`` hooks: after a save in the host's own forms, a
plugin's warnings are shown on the page the person lands on, as warnings after the save's confirmation (escaped,
apart from it); the save never depends on them (a plugin raising, or warning, stops nothing). Without a plugin, or
with one that has nothing to say, a save is exactly as before: its confirmation and nothing else."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from helpers import csrf_from, make_test_app, sign_in
from host_stub.hookspecs import hookimpl
from host_stub.plugins import call_hook

LONG = "Opportunity " + "x" * 108  # 120 characters: no plugin, no limit


def _flashes(page: str) -> list[tuple[str, str]]:
    return [(cls, html.unescape(text)) for cls, text in
            re.findall(r'<div class="flash ([^"]+)" role="status">(.*?)</div>', page, re.S)]


def _app(tmp_path, plugins):
    from host_stub import services
    from host_stub.extensions import db
    from host_stub.seed import seed_reference

    app = make_test_app(f"sqlite:///{tmp_path / 'w.db'}", plugins=plugins)
    with app.app_context():
        field = seed_reference(db.session)["field"]
        db.session.commit()
        customer = services.save_customer({"account_number": "W1", "name": "Warned Ltd"}, [{"first_name": "Ann"}])
        ids = customer.id, field.id
    return app, *ids


def _save_quote(client, customer_id: int, field_id: int, name: str, doc_id: int | None = None):
    path = f"/documents/{doc_id}/edit" if doc_id else "/quotes/new"
    form = client.get(path).get_data(as_text=True)
    resp = client.post(path, data={"csrf_token": csrf_from(form), "customer_id": str(customer_id),
                                   f"field-{field_id}": name, "lines-0-item_number": "P-1", "lines-0-quantity": "1",
                                   "lines-0-price": "5", "lines-0-product_type": "Product"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return resp, client.get(resp.location).get_data(as_text=True)


def _save_customer(client, customer_id: int):
    form = client.get(f"/customers/{customer_id}/edit").get_data(as_text=True)
    resp = client.post(f"/customers/{customer_id}/edit", data={"csrf_token": csrf_from(form), "account_number": "W1",
                                                                "name": "Warned Ltd", "active": "1"})
    assert resp.status_code == 302
    return client.get(resp.location).get_data(as_text=True)


def _documents(app):
    from host_stub.extensions import db
    from host_stub.models import Document

    with app.app_context():
        return [(d.number, d.field_values[0].value) for d in db.session.execute(select(Document)).scalars()]


def test_without_a_plugin_a_save_shows_its_confirmation_and_nothing_else(tmp_path):
    app, customer_id, field_id = _app(tmp_path, [])
    pm = app.extensions["host_stub"]["pm"]
    assert call_hook(pm, "document_save_warnings", document={"id": 1}, created=True, actor=None, request=None) == []
    assert call_hook(pm, "customer_save_warnings", customer={"id": 1}, created=False, actor=None, request=None) == []
    client = sign_in(app.test_client(), "riley@demo.example")
    resp, page = _save_quote(client, customer_id, field_id, LONG)
    [(number, name)] = _documents(app)
    assert resp.location.endswith("/documents/1") and name == LONG
    assert _flashes(page) == [("success", f"Quote {number} saved.")]
    assert _flashes(_save_customer(client, customer_id)) == [("success", "Customer Warned Ltd saved.")]


class Warner:
    seen: list[tuple] = []

    @hookimpl
    def document_save_warnings(self, document, created, actor, request):
        Warner.seen.append(("document", document["number"], created, actor["email"], request.method))
        return [f"<b>{document['number']}</b>: check the name", ""]

    @hookimpl
    def customer_save_warnings(self, customer, created, actor, request):
        Warner.seen.append(("customer", customer["name"], created, len(customer["contacts"])))
        return ["Check the customer"]


class Silent:
    @hookimpl
    def document_save_warnings(self, document, created, actor, request):
        return None


class Raising:
    @hookimpl
    def document_save_warnings(self, document, created, actor, request):
        raise RuntimeError("boom")

    @hookimpl
    def customer_save_warnings(self, customer, created, actor, request):
        raise RuntimeError("boom")


def test_a_plugins_warnings_follow_the_confirmation_escaped_and_stop_no_save(tmp_path):
    Warner.seen.clear()
    app, customer_id, field_id = _app(tmp_path, [Raising(), Silent(), Warner()])
    client = sign_in(app.test_client(), "riley@demo.example")
    _, page = _save_quote(client, customer_id, field_id, LONG)
    [(number, name)] = _documents(app)
    assert name == LONG  # saved, warned or not
    assert _flashes(page) == [("success", f"Quote {number} saved."), ("warning", f"<b>{number}</b>: check the name")]
    assert f"&lt;b&gt;{number}&lt;/b&gt;: check the name" in page  # plain text, escaped
    _, page = _save_quote(client, customer_id, field_id, "Short", doc_id=1)
    assert [cls for cls, _ in _flashes(page)] == ["success", "warning"] and _documents(app) == [(number, "Short")]
    assert _flashes(_save_customer(client, customer_id)) == [("success", "Customer Warned Ltd saved."),
                                                            ("warning", "Check the customer")]
    assert Warner.seen == [("document", number, True, "riley@demo.example", "POST"),
                           ("document", number, False, "riley@demo.example", "POST"),
                           ("customer", "Warned Ltd", False, 1)]
