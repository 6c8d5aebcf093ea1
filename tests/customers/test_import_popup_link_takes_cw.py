"""Import From ConnectWise's likely-duplicate prompt: what its "After linking" column shows is what Link and import
does. With ConnectWise the master, linking CW0006 "Harbor Logistics Inc" to the customer "Harbor Logistics" takes
ConnectWise's values into it, its blanks too (the column's last values, and the prompt names the fields blanked); the
link agreed on ConnectWise's values before, so the customer's differing values read as its own edits not exported
yet and the import kept every one ("already up to date with ConnectWise"), QA's bug. With ChannelOnline the master a
blank keeps the customer's value and nothing is warned of. Against the sandbox's demo tenant over HTTP."""

from __future__ import annotations

import re
from html import unescape

import pytest
from customer_support import import_popup, text_of
from sqlalchemy import select

from colcw_plugin.models import CUSTOMER, CW_MASTER, get_link
from colcw_plugin.setup.field_mapping import COMPANY
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.shared import fields as M
from host_stub.extensions import db
from host_stub.models import Customer
from host_stub.seed import seed_demo

COLUMN = {rule.host: rule.host_attr for rule in COMPANY.rules if rule.host_attr}  # the prompt's labels -> attributes


@pytest.fixture()
def demo(connected_demo):
    seed_demo(db.session, customers=24, quotes=0)  # DEMO00023 is "Harbor Logistics", linked to no company
    return connected_demo


def _harbor() -> Customer:
    db.session.expire_all()
    return db.session.execute(select(Customer).where(Customer.name.startswith("Harbor Logistics"))).scalar_one()


def _column(html: str) -> dict[str, tuple[str, str, str]]:
    """The prompt's table: field -> (the customer's value now, ConnectWise's, after linking)."""
    table = re.search(r'<table class="grid" id="colcw-import-changes">(.*?)</table>', html, re.S)
    assert table is not None, html
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table.group(1), re.S)
    return {unescape(f): (unescape(a), unescape(b), unescape(c)) for f, a, b, c in rows}


def _warning(html: str) -> str:
    found = re.search(r'<p class="warning" id="colcw-import-blanked">(.*?)</p>', html, re.S)
    return " ".join(unescape(found.group(1)).split()) if found else ""


def _flashes(rep_client, customer_id: int) -> str:
    return text_of(rep_client.get(f"/customers/{customer_id}"))


def _cw0006(demo) -> dict:
    return demo.api("GET", "company/companies", params={"conditions": 'identifier="CW0006"'}).json()[0]


def test_with_connectwise_the_master_linking_takes_what_the_column_shows(demo, rep_client):
    get_live(db.session).customer_master = CW_MASTER
    db.session.commit()
    harbor = _harbor()
    assert harbor.address1 and harbor.zip and harbor.website  # ConnectWise's CW0006 has them empty
    cw = _cw0006(demo)
    assert not cw.get("addressLine1") and not cw.get("zip") and not cw.get("website")

    html = import_popup(rep_client, company="CW0006").get_data(as_text=True)
    column = _column(html)
    for field in ("Company Name", "Customer Number", "Company Address Line 1", "Company Zip", "Website"):
        assert field in column, column
    assert column["Company Address Line 1"][2] == column["Company Zip"][2] == column["Website"][2] == "(blank)"
    assert column["Company Name"][2] == "Harbor Logistics Inc" and column["Customer Number"][2] == "CW0006"
    warning = _warning(html)
    assert warning.startswith("Linking blanks ") and "Company Address Line 1" in warning and "Website" in warning \
        and "Company Zip" in warning, warning

    done = import_popup(rep_client, company="CW0006", choice="link", customer=harbor.id, cw_id=cw["id"])
    assert done.status_code == 200 and done.headers.get("HX-Redirect") == f"/customers/{harbor.id}"
    flashes = _flashes(rep_client, harbor.id)
    assert "already up to date" not in flashes and "Updated Harbor Logistics Inc (CW0006) from ConnectWise" in flashes, \
        flashes

    linked = _harbor()
    for field, (_, _, after) in column.items():
        assert M.shown_value(M.customer_values(linked)[COLUMN[field]]) == after, (field, after)
    # The link agrees on what the customer holds now: nothing is left to export, nothing to take again.
    link = get_link(db.session, CUSTOMER, linked.id)
    assert link is not None and link.cw_id == cw["id"] and link.synced_values is not None
    assert link.synced_values.get("name") == "Harbor Logistics Inc" and not link.synced_values.get("address1")


def test_with_channelonline_the_master_a_blank_keeps_the_customers_value(demo, rep_client):
    harbor = _harbor()
    kept = (harbor.address1, harbor.zip, harbor.website)
    html = import_popup(rep_client, company="CW0006").get_data(as_text=True)
    assert _warning(html) == ""
    column = _column(html)
    assert column["Website"] == (harbor.website, "(blank)", harbor.website)
    cw = _cw0006(demo)
    import_popup(rep_client, company="CW0006", choice="link", customer=harbor.id, cw_id=cw["id"])
    linked = _harbor()
    assert (linked.address1, linked.zip, linked.website) == kept
    for field, (_, _, after) in column.items():
        assert M.shown_value(M.customer_values(linked)[COLUMN[field]]) == after, (field, after)
