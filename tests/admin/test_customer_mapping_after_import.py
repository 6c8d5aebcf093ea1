"""Map customers right after an import of all companies: the page says what the import did and what reading
the companies for mapping adds, and offers no Save when no customer is left to map a company to."""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

from admin_support import BASE
from sqlalchemy import select

from colcw_plugin.models import CUSTOMER, CompanyScan, Link
from helpers import csrf_from
from host_stub.extensions import db
from host_stub.models import Customer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "customers"))
from customer_support import make_customer, run  # noqa: E402


def _page(admin_client) -> str:
    resp = admin_client.get(BASE + "/customers/map")
    assert resp.status_code == 200
    return html.unescape(resp.get_data(as_text=True))


def _text(page: str, element_id: str) -> str:
    m = re.search(rf'id="{element_id}"[^>]*>(.*?)</p>', page, re.S)
    assert m, f"no #{element_id}"
    return " ".join(re.sub(r"<[^>]+>", "", m.group(1)).split())


def test_after_an_import_of_all_companies_the_page_says_what_it_linked_and_offers_to_read_them(
        admin_client, connected_demo):
    imported = run("customer_import", {"mode": "all"})
    assert imported.status == "partial"  # the demo tenant's likely duplicates wait for a person to map them
    counts = imported.entity_counts["customer"]
    linked = db.session.execute(select(db.func.count()).select_from(Link).where(Link.entity == CUSTOMER)).scalar()
    assert linked and counts.get("failed")  # the likely duplicates, which the import refuses until mapped

    page = _page(admin_client)
    assert "have not been read" not in page
    info = _text(page, "import-info")
    assert info.startswith(f"The import of all ConnectWise companies (run #{imported.id}, finished ")
    assert f"counted {imported.total} companies; {linked} ChannelOnline customers are linked to ConnectWise " \
           "companies now." in info
    skipped = counts.get("skipped", 0) + counts.get("failed", 0)
    assert f"It skipped or failed {skipped} compan" in info
    assert f"reads all {imported.total} of them again (one pass)" in _text(page, "no-scan")
    assert "Read ConnectWise's companies for mapping" in page
    assert 'id="save-customer-map"' not in page


def test_with_every_customer_linked_the_likely_duplicates_left_have_no_save_button(admin_client, connected_demo):
    run("customer_import", {"mode": "all"})
    token = csrf_from(admin_client.get(BASE + "/").get_data(as_text=True))
    admin_client.post(BASE + "/customers/scan", data={"csrf_token": token})
    linked = select(Link.host_id).where(Link.entity == CUSTOMER)
    assert db.session.execute(select(Customer.id).where(Customer.id.not_in(linked))).first() is None
    page = _page(admin_client)
    table = page[page.index('id="unmatched"'):]
    rows = re.findall(r'<tr id="company-\d+"', table)
    assert rows and len(rows) < db.session.query(CompanyScan).count()
    assert "may be a duplicate in ConnectWise" in table
    assert 'id="save-customer-map"' not in page and "Saves the selections on this page" not in page
    assert 'class="typeahead"' not in table
    assert "Every ChannelOnline customer is linked to a ConnectWise company, so there is no customer to map" in \
        _text(page, "nothing-to-map")

    # A customer with no company: there is something to map to again, and Save is back.
    make_customer(name="Walk-in Client", account_number="WALKIN", contacts=[])
    page = _page(admin_client)
    assert 'id="save-customer-map"' in page and 'id="nothing-to-map"' not in page


def test_large_counts_read_with_thousands_separators(admin_client, connected_demo):
    imported = run("customer_import", {"mode": "all"})
    imported.total = 12_345  # as an import of a large tenant counts them
    db.session.commit()
    page = _page(admin_client)
    assert "counted 12,345 companies;" in _text(page, "import-info")
    assert "reads all 12,345 of them again (one pass)" in _text(page, "no-scan")
