"""A rep's Export to ConnectWise of a customer that a queued (or running) bulk export still has to reach exports
nothing: the click says the customer is already in that run's export, what the run is doing and where to follow it,
and queues nothing. A bulk export already past the customer, or one that does not select it, leaves the click to
export it; and a click that confirmed a new company beside a look-alike (which a bulk export never creates) exports
at once, saying so. Real queued runs (no worker takes them) against the sandbox over HTTP."""

from __future__ import annotations

import re
from html import unescape

from customer_support import companies, make_customer
from htmx_loads import loaded
from sqlalchemy import select, update

from colcw_plugin.models import SyncItem, SyncRun
from helpers import csrf_from, runtime, sign_in
from host_stub.extensions import db

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}
WAITING = "queued: waiting for a colcw worker to start it"


def _token(client) -> str:
    return csrf_from(client.get("/customers/").get_data(as_text=True))


def _export(client, customer_id: int, **data):
    return client.post(f"/colcw/customers/{customer_id}/export", data={"csrf_token": _token(client), **data})


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _exports() -> list[SyncRun]:
    db.session.expire_all()
    return list(db.session.execute(select(SyncRun).where(SyncRun.kind == "customer_export")
                                   .order_by(SyncRun.id)).scalars())


def _queue(params: dict) -> SyncRun:
    queued = runtime().submit(db.session, "customer_export", params, actor=ADMIN).run
    assert queued.status == "queued"
    return queued


def test_a_click_on_a_customer_a_queued_bulk_export_selects_queues_nothing_and_says_which(sync_ready, rep_client):
    customer = make_customer()
    other = make_customer(name="Beta Ltd", account_number="BETA1", contacts=[])
    bulk = _queue({"customer_ids": [other.id, customer.id]})

    assert _export(rep_client, customer.id).status_code == 302
    page = _text(loaded(rep_client, f"/customers/{customer.id}"))
    assert (f"Acme Corp is already in the export “{bulk.description}” ({WAITING}), so it was not exported a second "
            f"time by admin@demo.example (run #{bulk.id}); its result shows here when it has finished") in page, page
    assert [r.id for r in _exports()] == [bulk.id]  # nothing queued or run
    assert companies(sync_ready) == []  # nothing exported

    # The admin who queued it gets a link to its progress.
    admin = sign_in(rep_client, "admin@demo.example")
    _export(admin, customer.id)
    html = loaded(admin, f"/customers/{customer.id}")
    assert (f"Acme Corp is already in the export “{bulk.description}” ({WAITING}), so it was not exported a second "
            f"time — here is its progress (run #{bulk.id})") in _text(html)
    assert f'href="/colcw/runs/{bulk.id}"' in html
    assert [r.id for r in _exports()] == [bulk.id]


def test_an_export_of_all_customers_covers_the_click_until_it_has_recorded_the_customer(sync_ready, rep_client):
    customer = make_customer()
    bulk = _queue({"all": True})
    _export(rep_client, customer.id)
    assert f"Acme Corp is already in the export “{bulk.description}”" in _text(
        loaded(rep_client, f"/customers/{customer.id}"))
    assert [r.id for r in _exports()] == [bulk.id]

    # Running, and past the customer (its result recorded): the customer's changes since are the click's to export.
    db.session.execute(update(SyncRun).where(SyncRun.id == bulk.id).values(status="running"))
    db.session.add(SyncItem(run_id=bulk.id, entity="customer", direction="export", host_id=customer.id,
                            label="Acme Corp (ACME1)", action="failed", message="ConnectWise refused it."))
    db.session.commit()
    _export(rep_client, customer.id)
    assert "Created in ConnectWise: Acme Corp (ACME1)." in loaded(rep_client, f"/customers/{customer.id}")
    assert len(_exports()) == 2
    assert [c["identifier"] for c in companies(sync_ready)] == ["ACME1"]


def test_a_bulk_export_that_does_not_select_the_customer_leaves_the_click_to_export_it(sync_ready, rep_client):
    customer = make_customer()
    other = make_customer(name="Beta Ltd", account_number="BETA1", contacts=[])
    _queue({"customer_ids": [other.id]})
    _export(rep_client, customer.id)
    assert "Created in ConnectWise: Acme Corp (ACME1)." in loaded(rep_client, f"/customers/{customer.id}")


def test_a_confirmed_new_company_beside_a_look_alike_is_created_at_once_and_the_click_says_why(sync_ready, rep_client):
    resp = sync_ready.api("POST", "company/companies", json={"identifier": "X9", "name": "acme corp", "city": "Austin"})
    assert resp.status_code == 201, resp.text
    customer = make_customer()
    asked = _export(rep_client, customer.id)  # the look-alike: the export's page asks
    page = rep_client.get(asked.headers["Location"]).get_data(as_text=True)
    confirmed = page.split('name="confirmed" value="')[1].split('"')[0]
    bulk = _queue({"all": True})  # meanwhile an admin queues an export of every customer

    # Without the confirmation the click leaves it to the bulk export (which fails it at the look-alike) ...
    _export(rep_client, customer.id)
    assert f"Acme Corp is already in the export “{bulk.description}”" in _text(
        loaded(rep_client, f"/customers/{customer.id}"))
    # ... with it, it does what the bulk export will not: create the company, now.
    resp = _export(rep_client, customer.id, confirmed=confirmed)
    assert resp.headers["Location"].endswith(f"/customers/{customer.id}")
    page = _text(loaded(rep_client, f"/customers/{customer.id}"))
    assert "Created in ConnectWise: Acme Corp (ACME1)." in page
    assert (f"The export “{bulk.description}”, which also exports Acme Corp ({WAITING}), does not create a new "
            "company beside one that looks like it, so the new company you confirmed was created now; it is updated "
            f"again when it is reached in that export by admin@demo.example (run #{bulk.id})") in page, page
    assert sorted(c["identifier"] for c in companies(sync_ready)) == ["ACME1", "X9"]
