"""Rep actions while ConnectWise is not connected (never set up, or Reset): an answer at once that says
so and names the page where an admin connects it (no link: a rep cannot open it); no run recorded, nothing left
running, the database free — on PostgreSQL and on SQLite (whose app here has no Redis either)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from colcw_plugin.models import SyncRun
from helpers import configure_sandbox_connection, csrf_from, runtime, sign_in
from host_stub.extensions import db
from host_stub.services import save_customer, save_document

MESSAGE = "ConnectWise is not connected yet — ask an admin to connect it on"
LINK = re.compile(r'href="/admin/integration/connectwise/"')


@pytest.fixture()
def records(any_app):
    customer = save_customer({"name": "Acme", "account_number": "ACME1"},
                             [{"first_name": "Ada", "last_name": "Lovelace", "is_default": True}])
    doc = save_document({"customer_id": customer.id, "contact_id": customer.contacts[0].id},
                        [{"item_number": "OPT-7010", "quantity": 1, "price": 100, "cost": 60, "manufacturer": "Dell",
                          "description": "Desktop", "category": "Hardware", "subcategory": "Desktops",
                          "product_type": "Product"}])
    return {"customer": customer.id, "document": doc.id}


def _actions(http, ids: dict) -> dict:
    """Each rep action once, as a browser sends it; the page the answer shows (redirects followed)."""
    token = csrf_from(http.get(f"/customers/{ids['customer']}").get_data(as_text=True))
    c, d = ids["customer"], ids["document"]
    calls = {
        "import popup": lambda: http.post("/colcw/import", data={"company": "ACME1", "csrf_token": token},
                                          headers={"HX-Request": "true"}),
        "import page": lambda: http.post("/colcw/import", data={"company": "ACME1", "csrf_token": token}),
        "customer export": lambda: http.post(f"/colcw/customers/{c}/export", data={"csrf_token": token},
                                             follow_redirects=True),
        "document export": lambda: http.post(f"/colcw/documents/{d}/export", data={"csrf_token": token},
                                             follow_redirects=True),
        "opportunity picker": lambda: http.get(f"/colcw/documents/{d}/opportunities", headers={"HX-Request": "true"}),
        "opportunity link": lambda: http.post(f"/colcw/documents/{d}/opportunity",
                                              data={"opportunity_id": "5", "csrf_token": token},
                                              follow_redirects=True),
    }
    return {name: call() for name, call in calls.items()}


def _assert_clear_and_nothing_stuck(answers: dict) -> None:
    for name, resp in answers.items():
        html = resp.get_data(as_text=True)
        assert resp.status_code < 500, name
        assert MESSAGE in html and not LINK.search(html), f"{name}: {html[:2000]}"
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(SyncRun)).scalar_one() == 0  # nothing recorded
    # The database is free (SQLite: not left locked): a host write goes through at once.
    save_customer({"name": "After", "account_number": "AFTER1"}, [])


def test_never_connected(any_app, records):
    http = sign_in(any_app.test_client(), "riley@demo.example")
    _assert_clear_and_nothing_stuck(_actions(http, records))


def test_after_reset(any_app, records, cw_sandbox):
    configure_sandbox_connection(cw_sandbox, runtime(any_app).box)
    http = sign_in(any_app.test_client(), "admin@demo.example")
    token = csrf_from(http.get("/admin/integration/connectwise/reset").get_data(as_text=True))
    resp = http.post("/admin/integration/connectwise/reset", data={"confirm": "RESET", "csrf_token": token})
    assert resp.status_code == 302
    assert http.post("/logout", data={"csrf_token": token}).status_code == 302
    sign_in(http, "riley@demo.example")
    cw_sandbox.clear_requests()
    _assert_clear_and_nothing_stuck(_actions(http, records))
    assert [r for r in cw_sandbox.requests() if "/apis/3.0/" in r["path"]] == []  # nobody asked ConnectWise
