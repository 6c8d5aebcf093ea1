"""The pre-flight check's Customers area: a first-time admin whose ConnectWise already holds companies that match no
account number (some of them look like ChannelOnline customers) is told to map them on Map customers before
exporting customers, instead of finding out from failed exports. It reads the last Map customers scan when that is
recent (no request), else one page of companies (one request); ConnectWise unreadable, the area is not checked."""

from __future__ import annotations

import datetime as dt

from admin_support import BASE
from sqlalchemy import update

from colcw_plugin.models import CompanyScan
from helpers import connection_unreachable, csrf_from
from host_stub.extensions import db
from host_stub.models import Customer


def _tenant(sandbox) -> None:
    for body in ({"identifier": "CW-PIO", "name": "Pioneer Outfitters West", "city": "Reno",
                  "phoneNumber": "625-555-0142"},
                 {"identifier": "CW-ZETA", "name": "Zeta Unrelated", "city": "Reno"},
                 {"identifier": "H-SAME", "name": "Same Number Supply", "city": "Austin"}):
        assert sandbox.api("POST", "company/companies", json=body).status_code == 201, body
    db.session.add_all([Customer(account_number="H-PIO", name="Pioneer Supply", phone="(625) 555-0142"),
                        Customer(account_number="H-SAME", name="Same Number Supply")])
    db.session.commit()


def _area(html: str) -> str:
    section = html[html.index('data-area="Customers"'):]
    return " ".join(section[:section.index("</section>")].split())


def _company_reads(sandbox) -> int:
    return len([r for r in sandbox.requests() if "company/companies" in r["path"]])


def test_unlinked_companies_that_look_like_customers_fail_the_check_with_the_fix(admin_client, connected):
    _tenant(connected)
    connected.clear_requests()
    html = admin_client.get(BASE + "/preflight").get_data(as_text=True)
    area = _area(html)
    assert 'data-ok="no"' in area and "✗ Customers" in area
    # H-SAME's company is matched by its Company ID on export: not counted.
    assert "2 ConnectWise companies are linked to no ChannelOnline customer (read now), and 1 of them looks like a " \
           "ChannelOnline customer linked to none" in area
    assert "CW-PIO “Pioneer Outfitters West” looks like Pioneer Supply (H-PIO) (same phone number)" in area
    assert ("What to do: Map them on Admin → Integration → ConnectWise → Map customers before exporting customers"
            in area)
    assert f'href="{BASE}/customers/map"' in area
    assert _company_reads(connected) == 1  # one page of companies, nothing more


def test_a_recent_scan_is_used_without_a_request_and_an_old_one_is_not(admin_client, connected):
    _tenant(connected)
    token = csrf_from(admin_client.get(BASE + "/").get_data(as_text=True))
    admin_client.post(BASE + "/customers/scan", data={"csrf_token": token})
    connected.clear_requests()
    area = _area(admin_client.get(BASE + "/preflight").get_data(as_text=True))
    assert "from Map customers&#39; scan of" in area or "from Map customers' scan of" in area
    assert "1 of them looks like" in area and "CW-PIO" in area
    assert _company_reads(connected) == 0
    db.session.execute(update(CompanyScan).values(scanned_at=CompanyScan.scanned_at - dt.timedelta(days=2)))
    db.session.commit()
    area = _area(admin_client.get(BASE + "/preflight").get_data(as_text=True))
    assert "(read now)" in area and _company_reads(connected) == 1


def test_every_company_mapped_passes(admin_client, connected):
    assert connected.api("POST", "company/companies", json={"identifier": "H-SAME", "name": "Same Number Supply",
                                                            "city": "Austin"}).status_code == 201
    db.session.add(Customer(account_number="H-SAME", name="Same Number Supply"))
    db.session.commit()
    area = _area(admin_client.get(BASE + "/preflight").get_data(as_text=True))
    assert 'data-ok="yes"' in area and "✓ Customers" in area
    assert "Every ConnectWise company is linked to a ChannelOnline customer or has a customer's account number" in \
        area.replace("&#39;", "'")


def test_a_full_page_counts_the_rest_in_one_more_request(app, connected, cw_client, monkeypatch):
    from colcw_plugin.setup import preflight
    from colcw_plugin.setup.preflight import read_companies

    _tenant(connected)
    monkeypatch.setattr(preflight, "READ_AT_MOST", 2)
    connected.clear_requests()
    seen = read_companies(cw_client)
    assert (len(seen.rows), seen.total) == (2, 3)
    assert _company_reads(connected) == 2


def test_connectwise_unreadable_shows_the_area_not_checked(admin_client, connected):
    _tenant(connected)
    connection_unreachable()
    html = admin_client.get(BASE + "/preflight").get_data(as_text=True)
    section = html[html.index('data-area="Customers"'):]
    assert section.index('data-checked="no"') < section.index("</h2>")
    assert "–</span> Customers" in section[:section.index("</h2>") + 5]


def test_the_connection_page_says_to_map_customers_before_exporting(admin_client, connected):
    html = admin_client.get(BASE + "/").get_data(as_text=True)
    item = html[html.index('id="link-map-customers"'):]
    item = " ".join(item[:item.index("</li>")].split())
    assert "map them here before exporting customers" in item
