"""Reset: all of colcw's rows go; the host's data and ConnectWise stay as they were."""

from __future__ import annotations

import datetime as dt

from admin_support import BASE
from sqlalchemy import func, select

from colcw_plugin.models import ConfigChange, SyncItem, SyncRun, set_link
from colcw_plugin.setup.automap import automap
from colcw_plugin.setup.customer_matching import scan
from colcw_plugin.setup.lookups import load_lookups
from colcw_plugin.setup.reset import colcw_tables
from helpers import csrf_from, runtime
from host_stub.extensions import db
from host_stub.gateway import UnitOfWork
from host_stub.models import Document, DocumentExternalStatus
from host_stub.seed import seed_demo


def _counts(tables) -> dict[str, int]:
    return {t.name: db.session.execute(select(func.count()).select_from(t)).scalar_one() for t in tables}


def _host_tables():
    return [t for t in db.metadata.sorted_tables if not t.name.startswith("colcw_")]


def _fill_everything(demo_client):
    seed_demo(db.session, customers=9, quotes=4)
    automap(db.session, load_lookups(demo_client), "tests")
    scan(db.session, demo_client, "tests")
    run = SyncRun(kind="customer_export", status="succeeded")
    db.session.add(run)
    db.session.flush()
    db.session.add(SyncItem(run_id=run.id, entity="customer", direction="export", action="created", label="x"))
    set_link(db.session, "document", 1, 1)
    db.session.commit()


def _post_reset(admin_client, **data):
    token = csrf_from(admin_client.get(BASE + "/reset").get_data(as_text=True))
    return admin_client.post(BASE + "/reset", data={"csrf_token": token, **data})


def test_confirmation_page_says_what_will_be_lost(admin_client, connected_demo, demo_client):
    _fill_everything(demo_client)
    html = admin_client.get(BASE + "/reset").get_data(as_text=True)
    counts = _counts(colcw_tables())
    for table in ("colcw_settings", "colcw_links", "colcw_rep_mappings", "colcw_sync_runs", "colcw_company_scan"):
        assert f'data-table="{table}"' in html
        assert f'<td class="num">{counts[table]}</td>' in html
    assert "Not touched: ChannelOnline's customers" in html
    assert "ConnectWise's companies, contacts, opportunities and products." in " ".join(html.split())
    assert "everything in ConnectWise" not in html and "callbacks are removed there" not in html


def test_confirmation_page_says_the_callbacks_are_the_one_thing_removed_in_connectwise(admin_client, connected_demo):
    from colcw_plugin.models import CallbackRegistration

    db.session.add(CallbackRegistration(cw_id=9001, type="company", url_shown="https://co.example/colcw/cw-callback/…"))
    db.session.commit()
    html = " ".join(admin_client.get(BASE + "/reset").get_data(as_text=True).split())
    assert "removed from ConnectWise first" in html  # the table's row
    assert ("ConnectWise's companies, contacts, opportunities and products (only colcw's callbacks are removed "
            "there, first, so ConnectWise stops calling this site).") in html
    assert "everything in ConnectWise" not in html


def test_reset_deletes_connector_data_only(admin_client, connected_demo, demo_client):
    _fill_everything(demo_client)
    host_before = _counts(_host_tables())
    cw_before = connected_demo.api("GET", "company/companies", params={"pageSize": 1000}).json()
    assert any(_counts(colcw_tables()).values())
    resp = _post_reset(admin_client, confirm="RESET")
    assert resp.status_code == 302
    db.session.expire_all()
    after = _counts(colcw_tables())
    assert after.pop("colcw_config_changes") == 1
    assert set(after.values()) == {0}
    record = db.session.execute(select(ConfigChange)).scalar_one()
    assert record.area == "reset" and "Alex Admin" in record.actor and "links" in record.summary
    assert _counts(_host_tables()) == host_before
    assert connected_demo.api("GET", "company/companies", params={"pageSize": 1000}).json() == cw_before
    assert not [r for r in connected_demo.requests() if r["method"] != "GET"]
    assert "not configured yet" in admin_client.get(BASE + "/").get_data(as_text=True)


def test_reset_needs_the_typed_confirmation(admin_client, connected_demo):
    resp = _post_reset(admin_client, confirm="reset")
    assert resp.status_code == 400 and "Type RESET in capitals" in resp.get_data(as_text=True)
    assert _counts(colcw_tables())["colcw_settings"] == 1


def test_reset_is_refused_while_runs_are_active_unless_forced(admin_client, connected_demo):
    # (queued: forced, it is cancelled first; a running one is asked to stop first, test_reset_stops_runs.py)
    db.session.add(SyncRun(kind="quote_export", status="queued"))
    db.session.commit()
    resp = _post_reset(admin_client, confirm="RESET")
    assert resp.status_code == 400 and "queued or running" in resp.get_data(as_text=True)
    assert _counts(colcw_tables())["colcw_sync_runs"] == 1
    assert _post_reset(admin_client, confirm="RESET", force="on").status_code == 302
    db.session.expire_all()
    assert _counts(colcw_tables())["colcw_sync_runs"] == 0


def _quote_marked_won() -> Document:
    """A quote colcw exported and recorded as won in ConnectWise (as the live updates do, through the host's
    service API), and the same quote with another system's status, which is not colcw's to remove."""
    quote = db.session.execute(select(Document).where(Document.doc_type == "quote").order_by(Document.id)).scalars().first()
    host = UnitOfWork(db.session)
    host.set_external_status(quote.id, "ConnectWise", status="won", label="Won in ConnectWise on 2026-12-04 by Sandbox Admin",
                             detail="Opportunity 6 'Backup project 2026'", url="https://cw.example/opportunity/6")
    host.set_external_status(quote.id, "Other CRM", status="open", label="Open in Other CRM")
    set_link(db.session, "document", quote.id, 6)
    db.session.commit()
    return quote


def test_reset_removes_the_connectwise_statuses_colcw_recorded_on_quotes(admin_client, connected_demo, demo_client):
    _fill_everything(demo_client)
    quote = _quote_marked_won()
    assert "Won in ConnectWise" in admin_client.get(f"/documents/{quote.id}").get_data(as_text=True)
    scope = " ".join(admin_client.get(BASE + "/reset").get_data(as_text=True).split())
    assert ('<tr data-table="host:external_statuses"><td>The ConnectWise statuses shown on quotes and sales orders '
            "(e.g. “Won in ConnectWise”)</td><td class=\"num\">1</td></tr>") in scope
    assert "(only the ConnectWise statuses colcw shows on quotes and sales orders are removed)" in scope

    resp = _post_reset(admin_client, confirm="RESET")
    assert resp.status_code == 302
    flashed = " ".join(admin_client.get(resp.headers["Location"]).get_data(as_text=True).split())
    assert "1 ConnectWise status removed from quotes and sales orders" in flashed
    db.session.expire_all()
    statuses = db.session.execute(select(DocumentExternalStatus.source)).scalars().all()
    assert statuses == ["Other CRM"]  # colcw's went; another system's is not colcw's to remove
    page = admin_client.get(f"/documents/{quote.id}").get_data(as_text=True)
    assert "Won in ConnectWise" not in page and "Open in Other CRM" in page
    listing = admin_client.get("/quotes/").get_data(as_text=True)
    assert "Won in ConnectWise" not in listing
    assert "external_statuses" in db.session.execute(select(ConfigChange.summary)).scalar_one()


def test_reset_deletes_the_job_queues_jobs_of_the_runs_it_deleted(admin_client, connected_demo, redis_conn):
    from rq.job import JobStatus

    queue = runtime().queue
    runs = [SyncRun(kind="customer_export", status="failed", rq_job_id=f"colcw-run-{n}-test") for n in range(3)]
    db.session.add_all(runs)
    db.session.commit()
    waiting = queue.enqueue(runs[0])
    scheduled = queue.enqueue(runs[1], at=dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=1))
    failed = queue.enqueue(runs[2])
    queue.rq.remove(failed)
    failed.set_status(JobStatus.FAILED)
    queue.rq.failed_job_registry.add(failed, ttl=3600)
    assert queue.failed_job_ids() == [failed.id] and queue.rq.count == 1
    assert scheduled.id in queue.rq.scheduled_job_registry.get_job_ids()

    scope = " ".join(admin_client.get(BASE + "/reset").get_data(as_text=True).split())
    assert ('<tr data-table="queue:jobs"><td>The job queue&#39;s jobs of those runs (waiting, scheduled, failed or '
            'finished)</td><td class="num">3</td></tr>') in scope
    resp = _post_reset(admin_client, confirm="RESET")
    assert resp.status_code == 302
    flashed = " ".join(admin_client.get(resp.headers["Location"]).get_data(as_text=True).split())
    assert "and 3 jobs from the job queue" in flashed
    assert queue.failed_job_ids() == [] and queue.rq.count == 0
    assert queue.rq.scheduled_job_registry.get_job_ids() == []
    assert all(queue.fetch(j.id) is None for j in (waiting, scheduled, failed))
    db.session.expire_all()
    assert _counts(colcw_tables())["colcw_sync_runs"] == 0
