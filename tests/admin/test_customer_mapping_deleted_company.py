"""Map customers checks the companies it links against ConnectWise as it saves: the table is the last scan, and a
company deleted in ConnectWise since was linked without a word (a link "ok" to a deleted company). Such a row is
now refused, naming the company and what to do, while the others are linked; ConnectWise is read once, by id."""

from __future__ import annotations

from urllib.parse import unquote_plus

from admin_support import BASE
from sqlalchemy import select

from colcw_plugin.models import ConfigChange, find_by_cw, get_link
from helpers import csrf_from
from host_stub.extensions import db
from host_stub.models import Customer
from host_stub.seed import seed_demo


def _scan(admin_client):
    token = csrf_from(admin_client.get(BASE + "/").get_data(as_text=True))
    assert admin_client.post(BASE + "/customers/scan", data={"csrf_token": token}).status_code == 302


def _company(sandbox, identifier: str) -> dict:
    return sandbox.api("GET", "company/companies", params={"conditions": f'identifier="{identifier}"'}).json()[0]


def _customer(account: str) -> Customer:
    return db.session.execute(select(Customer).where(Customer.account_number == account)).scalar_one()


def _post(admin_client, data: dict):
    token = csrf_from(admin_client.get(BASE + "/customers/map").get_data(as_text=True))
    return admin_client.post(BASE + "/customers/map", data={"csrf_token": token, **data})


def test_a_company_deleted_after_the_scan_is_refused_and_the_others_are_linked(admin_client, connected_demo):
    seed_demo(db.session, customers=3, quotes=0)
    _scan(admin_client)
    kept, deleted = _company(connected_demo, "CW0001"), _company(connected_demo, "CW0005")
    first, second = _customer("DEMO00002"), _customer("DEMO00003")
    connected_demo.delete_company(deleted["id"])  # a person deletes it in ConnectWise; the table is not read again
    connected_demo.clear_requests()
    resp = _post(admin_client, {f"map-{kept['id']}": str(first.id), f"map-{deleted['id']}": "",
                                f"text-{deleted['id']}": "DEMO00003", "confirm": "1"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "Linked 1 ConnectWise company to ChannelOnline customers." in html
    assert (f"CW0005 ({deleted['name']}) was deleted in ConnectWise after ConnectWise&#39;s companies were read, so "
            "it was not linked") in html
    assert "Read ConnectWise&#39;s companies again" in html
    assert 'value="DEMO00003"' in html  # what was typed in its row is kept
    assert find_by_cw(db.session, "customer", deleted["id"]) == [] and get_link(db.session, "customer", second.id) is None
    assert get_link(db.session, "customer", first.id).cw_id == kept["id"]
    summaries = db.session.execute(select(ConfigChange.summary).where(ConfigChange.area == "customer mapping")).scalars()
    assert [s for s in summaries if s.startswith("Linked")] == [f"Linked {first.name} ↔ CW0001"]
    # One request read the companies linked, by id.
    reads = [r for r in connected_demo.requests() if r["path"].endswith("company/companies")]
    assert len(reads) == 1
    assert unquote_plus(reads[0]["query"]).startswith(f"conditions=id in ({kept['id']}, {deleted['id']})")


def test_without_a_confirmation_the_deleted_company_is_refused_too(admin_client, connected_demo):
    """The steps of the walkthrough: Save with only the deleted company's row filled in (no changes to preview)."""
    seed_demo(db.session, customers=30, quotes=0)
    _scan(admin_client)
    deleted = _company(connected_demo, "CW0005")
    connected_demo.delete_company(deleted["id"])
    resp = _post(admin_client, {f"map-{deleted['id']}": "", f"text-{deleted['id']}": "DEMO00030"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "Linked" not in html and "was deleted in ConnectWise after ConnectWise&#39;s companies were read" in html
    assert find_by_cw(db.session, "customer", deleted["id"]) == []
    assert db.session.execute(select(ConfigChange).where(ConfigChange.summary.startswith("Linked"))).first() is None
