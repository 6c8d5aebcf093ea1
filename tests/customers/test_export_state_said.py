"""A customer's export under way says what it really does — queued behind another run, waiting to retry at a time
because ConnectWise rate-limits, running while ConnectWise is slow — in the click's flash and on the customer's
ConnectWise panel, above the previous result (which is no longer current), with a link to its progress."""

from __future__ import annotations

import re
import time
from html import unescape

from customer_support import make_customer
from htmx_loads import loaded
from rq import SimpleWorker
from sqlalchemy import select, update

from colcw_plugin.models import FINAL_RUN_STATUSES, SyncRun
from colcw_plugin.sync.jobs.queue import new_job_id
from colcw_plugin.sync.jobs.runs import create_run
from colcw_plugin.views import customers as customer_views
from helpers import csrf_from, runtime, sign_in
from host_stub.extensions import db

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def _export(client, customer_id: int):
    token = csrf_from(client.get("/customers/").get_data(as_text=True))
    return client.post(f"/colcw/customers/{customer_id}/export", data={"csrf_token": token})


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _exports() -> list[SyncRun]:
    db.session.expire_all()
    return list(db.session.execute(select(SyncRun).where(SyncRun.kind == "customer_export")
                                   .order_by(SyncRun.id)).scalars())


def _wait_ended(run_id: int) -> SyncRun:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        db.session.expire_all()
        run = db.session.get(SyncRun, run_id)
        if run.status in FINAL_RUN_STATUSES:
            return run
        time.sleep(0.2)
    raise AssertionError("the export did not end")


def test_an_export_waiting_after_a_rate_limit_says_when_it_retries_and_why(sync_ready, rep_client, monkeypatch):
    monkeypatch.setattr(customer_views, "EXPORT_WAIT_SECONDS", 1.0, raising=False)
    customer = make_customer()
    sync_ready.add_fault(status=429, retry_after=4, method="POST", path="company/companies$", count=1)
    assert _export(rep_client, customer.id).status_code == 302
    page = _text(loaded(rep_client, f"/customers/{customer.id}"))
    (run,) = _exports()
    said = re.search(r"Acme Corp is still being exported to ConnectWise \(waiting to retry at (\d\d:\d\d:\d\d) "
                     r"[A-Z]+: ConnectWise is rate-limiting colcw\); ConnectWise is failing or busy, so colcw tries "
                     r"again by itself \(nothing to click\)", page)
    assert said is not None, page
    assert "ConnectWise is slow to answer" not in page
    assert _wait_ended(run.id).status == "succeeded"


def test_an_export_queued_behind_an_import_says_so_and_the_panel_shows_it_above_the_old_failure(
        sync_ready, rep_client, request):
    customer = make_customer()
    # A previous export failed: the panel showed that failure as if current while the next export was under way.
    sync_ready.add_fault(status="drop", method="POST", path="company/companies$")
    # (in the foreground, which gives up on it: a rep's click hands it over to the background run instead)
    earlier = create_run(db.session, runtime().kinds, "customer_export", {"customer_id": customer.id},
                         trigger="manual", actor=ADMIN)
    db.session.commit()
    runtime().execute(db.session, earlier.id, person_waiting=True)
    (failed,) = _exports()
    assert failed.status in FINAL_RUN_STATUSES and failed.status != "succeeded", failed.message

    # An admin's import runs; an export of this customer waits behind it in the queue: the only worker (registered
    # in Redis, as a colcw worker on any machine) is on the import.
    rt = runtime()
    importing = create_run(db.session, rt.kinds, "customer_import", {"company_ids": [1, 2, 3]}, trigger="manual",
                           actor=ADMIN)
    db.session.commit()
    db.session.execute(update(SyncRun).where(SyncRun.id == importing.id).values(status="running",
                                                                                rq_job_id=new_job_id(importing.id)))
    db.session.commit()
    queued = rt.submit(db.session, "customer_export", {"customer_id": customer.id}, actor=ADMIN).run
    assert queued.status == "queued"
    # No worker registered: the export waits for one, not "behind" a run the database calls running (as its run's
    # page says: one definition, from the workers).
    page = _text(loaded(rep_client, f"/customers/{customer.id}"))
    assert "An export to ConnectWise is under way (queued: waiting for a colcw worker to start it)" in page, page
    worker = SimpleWorker(list(rt.queue.queues), connection=rt.queue.connection)
    worker.register_birth()
    worker.set_current_job_id(importing.rq_job_id)
    request.addfinalizer(worker.register_death)
    label = importing.description or rt.kinds.label("customer_import")

    _export(rep_client, customer.id)  # a click meanwhile: no second export, and what the first one does
    page = _text(loaded(rep_client, f"/customers/{customer.id}"))
    assert (f"Acme Corp is already being exported to ConnectWise (queued behind run #{importing.id} "
            f"({label}, running))") in page, page
    assert len(_exports()) == 2

    html = loaded(rep_client, f"/customers/{customer.id}")
    assert (f"An export to ConnectWise is under way (queued behind run #{importing.id} "
            f"({label}, running)) by admin@demo.example (run #{queued.id}); its result "
            "shows here when it has finished") in _text(html), _text(html)  # a rep who cannot open it
    admin_client = sign_in(rep_client, "admin@demo.example")
    html = loaded(admin_client, f"/customers/{customer.id}")
    panel = _text(html[html.index('id="colcw-sync-panel"'):])
    under_way = (f"An export to ConnectWise is under way (queued behind run #{importing.id} "
                 f"({label}, running)) — here is its progress (run #{queued.id})")
    assert under_way in panel, panel
    assert f'href="/colcw/runs/{queued.id}"' in html
    # Above the previous result, which says it came before.
    assert panel.index(under_way) < panel.index("Before it:") < panel.index("not attempted")

    # Once it runs and waits to retry, the panel says when and why.
    db.session.execute(update(SyncRun).where(SyncRun.id == queued.id).values(
        status="waiting", waiting_reason="ConnectWise is rate-limiting colcw (HTTP 429)",
        next_try_at=db.session.get(SyncRun, queued.id).created_at.replace(microsecond=0, second=0, minute=0)))
    db.session.commit()
    panel = _text(loaded(admin_client, f"/customers/{customer.id}"))
    assert re.search(r"An export to ConnectWise is under way \(waiting to retry at \d\d:00:00 [A-Z]+: ConnectWise is "
                     r"rate-limiting colcw \(HTTP 429\)\)", panel), panel

    # Ended: the panel no longer says an export is under way.
    db.session.execute(update(SyncRun).where(SyncRun.id == queued.id).values(status="cancelled"))
    db.session.commit()
    panel = _text(loaded(admin_client, f"/customers/{customer.id}"))
    assert "An export to ConnectWise is under way" not in panel and "Before it:" not in panel
