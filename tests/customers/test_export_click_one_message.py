"""A rep's Export of a customer a running bulk export covers says one thing, whether the bulk run is at the customer
right now (it holds the customer's export lock) or still has to reach it: "Acme Corp is already in the export “…”
(…), so it was not exported a second time …". It said "…is already being exported to ConnectWise (…) by …" in the
first case. Real runs and locks; the bulk run is marked running as its worker marks it (no worker takes it)."""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from html import unescape

from customer_support import make_customer
from htmx_loads import loaded
from sqlalchemy import select, update

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.customers.exclusive import customer_keys
from colcw_plugin.sync.shared.locks import advisory_locks
from helpers import csrf_from, runtime
from host_stub.extensions import db

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


@contextmanager
def _held_by_another_process(customer_id: int):
    """The customer's export lock taken as the bulk run's worker takes it when it reaches the customer: on a
    connection of its own, in another thread (this thread's own locks count as its own)."""
    taken, done = threading.Event(), threading.Event()
    engine = db.engine

    def hold() -> None:
        with advisory_locks(engine, customer_keys([customer_id]), "busy", wait_seconds=0):
            taken.set()
            done.wait(30)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert taken.wait(10)
    try:
        yield
    finally:
        done.set()
        holder.join(10)


def _said(client, customer_id: int) -> str:
    """What the customer's page says after a click of Export (the click's message, tags taken out)."""
    token = csrf_from(client.get("/customers/").get_data(as_text=True))
    assert client.post(f"/colcw/customers/{customer_id}/export", data={"csrf_token": token}).status_code == 302
    page = " ".join(unescape(re.sub(r"<[^>]+>", " ", loaded(client, f"/customers/{customer_id}"))).split())
    found = re.search(r"Acme Corp is already .*?\(run #\d+\)", page)
    assert found, page
    return found.group(0)


def test_a_click_says_the_same_whether_the_bulk_run_is_at_the_customer_or_still_to_reach_it(sync_ready, rep_client):
    customer = make_customer()
    other = make_customer(name="Beta Ltd", account_number="BETA1", contacts=[])
    bulk = runtime().submit(db.session, "customer_export", {"customer_ids": [other.id, customer.id]}, actor=ADMIN).run
    db.session.execute(update(SyncRun).where(SyncRun.id == bulk.id).values(status="running"))
    db.session.commit()

    ahead = _said(rep_client, customer.id)  # still to reach it: no lock held
    with _held_by_another_process(customer.id):  # at it now
        held = _said(rep_client, customer.id)

    assert held == ahead
    assert held.startswith(f"Acme Corp is already in the export “{bulk.description}” (running")
    assert held.endswith(f", so it was not exported a second time by admin@demo.example (run #{bulk.id})")
    db.session.expire_all()
    assert [r.id for r in db.session.execute(select(SyncRun).where(SyncRun.kind == "customer_export"))
            .scalars()] == [bulk.id]  # nothing queued
