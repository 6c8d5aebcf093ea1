"""A rep's Export to ConnectWise whose run is deleted while it runs (a reset that got to it: Reset anyway now stops the
runs first, but a run's row may still go under it) ends with a message saying so, not a 500 or "it has just
started". (The company whose create was in flight is created, and linked: what ConnectWise holds.)"""

from __future__ import annotations

import threading
import time
from html import unescape

from customer_support import make_customer
from htmx_loads import loaded
from sqlalchemy import delete, select

from colcw_plugin.models import SyncItem, SyncRun
from helpers import csrf_from
from host_stub.extensions import db


def test_an_export_whose_run_is_deleted_meanwhile_says_so(app, sync_ready, rep_client):
    customer = make_customer()
    # ConnectWise answers the company's create slowly: the run is under way when its row goes.
    sync_ready.add_fault(status="hang", seconds=2, method="POST", path="company/companies$", count=1)
    token = csrf_from(rep_client.get("/customers/").get_data(as_text=True))
    answer = {}

    def click() -> None:
        with app.app_context():
            answer["resp"] = rep_client.post(f"/colcw/customers/{customer.id}/export", data={"csrf_token": token})

    clicked = threading.Thread(target=click)
    clicked.start()
    deadline = time.monotonic() + 10
    run_id = None
    while run_id is None and time.monotonic() < deadline:
        db.session.rollback()
        run_id = db.session.execute(select(SyncRun.id).where(SyncRun.status == "running")).scalar()
        time.sleep(0.05)
    assert run_id is not None
    db.session.execute(delete(SyncItem).where(SyncItem.run_id == run_id))
    db.session.execute(delete(SyncRun).where(SyncRun.id == run_id))
    db.session.commit()
    clicked.join(30)
    assert answer["resp"].status_code == 302
    page = " ".join(unescape(loaded(rep_client, f"/customers/{customer.id}")).split())
    assert ("Acme Corp was not exported: an admin reset the ConnectWise integration while it ran, which stopped it. "
            "Try again once the connection is set up again.") in page, page
