"""Reset: all of colcw's rows go; the host's data and ConnectWise stay as they were."""

from __future__ import annotations

from admin_support import BASE
from sqlalchemy import func, select

from colcw_plugin.models import ConfigChange, SyncItem, SyncRun, set_link
from colcw_plugin.setup.automap import automap
from colcw_plugin.setup.customer_matching import scan
from colcw_plugin.setup.lookups import load_lookups
from colcw_plugin.setup.reset import colcw_tables
from helpers import csrf_from
from host_stub.extensions import db
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
    assert "Not touched: the host's customers" in html
    assert "ConnectWise's companies, contacts, opportunities and products." in " ".join(html.split())
    assert "everything in ConnectWise" not in html and "callbacks are removed there" not in html


def test_confirmation_page_says_the_callbacks_are_the_one_thing_removed_in_connectwise(admin_client, connected_demo):
    from colcw_plugin.models import CallbackRegistration

    db.session.add(CallbackRegistration(cw_id=9001, type="company", url_shown="https://co.example/colcw/cw-callback/…"))
    db.session.commit()
    html = " ".join(admin_client.get(BASE + "/reset").get_data(as_text=True).split())
    assert "removed from ConnectWise first" in html  # the table's row
    assert ("ConnectWise's companies, contacts, opportunities and products (only colcw's callbacks are removed "
            "there, first, so ConnectWise stops calling this host).") in html
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
    db.session.add(SyncRun(kind="quote_export", status="running"))
    db.session.commit()
    resp = _post_reset(admin_client, confirm="RESET")
    assert resp.status_code == 400 and "queued or running" in resp.get_data(as_text=True)
    assert _counts(colcw_tables())["colcw_sync_runs"] == 1
    assert _post_reset(admin_client, confirm="RESET", force="on").status_code == 302
    db.session.expire_all()
    assert _counts(colcw_tables())["colcw_sync_runs"] == 0
