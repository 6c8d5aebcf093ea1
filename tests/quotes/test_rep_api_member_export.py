"""A sales rep mapped to colcw's own API member (saved so by an older version: the mapping page refuses it now) is
treated by the export as not mapped, and says so: exporting as that member put the rep's opportunities (and new
companies) under the integration's account, and what the rep then did in ConnectWise as it read as colcw's own
(echoes ignored, "closed by colcw"). The document fails in the run log with why and what to do (map the rep's own
member), the export checklist says it before, and nothing is written in ConnectWise. Which member is colcw's comes from
live updates (``own_member``), read in the statement that finds the acting rep: no request of its own."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from quote_support import items, line
from sqlalchemy import select

from colcw_plugin.models import RepMapping
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub import services
from host_stub.extensions import db
from host_stub.models import StoreSite

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

REFUSED = ("Dana Default is mapped to APIMember, colcw's own API member, not a person, so colcw treats them as not "
           "mapped: their opportunities would carry the integration's account, and what they do there as it would read "
           "as done by colcw.")
FIX = ("Map Dana Default to their own ConnectWise member, a person's, on Admin → Integration → ConnectWise → Sales rep "
       "mapping (add one in ConnectWise, System → Members, if they have none).")


def _default_rep_mapped_to_the_api_member(world, own_member: str = "APIMember") -> None:
    """The store's default rep (Dana Default, who exports act for) mapped to APIMember, verified, as an older version
    saved it; live updates learnt ``own_member`` as colcw's own member."""
    member = world.api("system/members", conditions='identifier="APIMember"')[0]
    store = db.session.execute(select(StoreSite)).scalar_one()
    mapping = db.session.execute(select(RepMapping).where(RepMapping.user_id == store.default_rep_id)).scalar_one()
    mapping.member_id, mapping.member_identifier = member["id"], "APIMember"
    mapping.location_id, mapping.department_id = member["defaultLocation"]["id"], member["defaultDepartment"]["id"]
    get_live(db.session).own_member = own_member
    db.session.commit()


def test_a_quote_export_acting_for_a_rep_mapped_to_colcws_own_member_is_refused_saying_why(world, admin_client):
    _default_rep_mapped_to_the_api_member(world)
    doc = world.quote([line("OPT-7010")])

    # The checklist says it before the export.
    page = admin_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True)
    row = next(r for r in re.findall(r"<tr class=\"(?:ok|error)\".*?</tr>", page, re.S) if "Sales rep mapped" in r)
    assert row.startswith('<tr class="error"')
    text = " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", row)).split())
    assert f"{doc.number} cannot be exported yet: {REFUSED}" in text and FIX in text

    run = world.export(doc.id)
    [item] = items(run)
    assert item.action == "failed"
    assert item.message == f"{doc.number} was not exported: {REFUSED}" and item.resolution == FIX  # said once
    assert world.opportunities() == []  # nothing under the integration's account


def test_a_customer_export_acting_for_a_rep_mapped_to_colcws_own_member_is_refused(world):
    _default_rep_mapped_to_the_api_member(world)
    customer = services.save_customer({"account_number": "NEWCO1", "name": "Newco Dental", "address1": "2 Oak St",
                                       "city": "Austin", "state": "TX", "zip": "73301"},
                                      [{"first_name": "Ann", "last_name": "Lee", "is_default": True}])
    run = create_run(db.session, runtime().kinds, "customer_export", {"customer_id": customer.id}, trigger="manual")
    db.session.commit()
    run = runtime().execute(db.session, run.id)
    [item] = items(run, "customer")
    assert item.action == "failed"
    assert item.message == f"Customer export did not occur: {REFUSED}" and item.resolution == FIX
    assert world.api("company/companies", conditions='identifier="NEWCO1"') == []


def test_a_rep_mapped_to_a_member_colcw_does_not_know_as_its_own_still_exports(world):
    """Without live updates colcw does not know its own member, and the export does not ask ConnectWise what a member
    is (a request per run): the Pre-flight check and the mapping page mark the row (test_rep_api_member_setup.py)."""
    _default_rep_mapped_to_the_api_member(world, own_member="")
    run = world.export(world.quote([line("OPT-7010")]).id)
    assert run.status == "succeeded", run.message
    [opp] = world.opportunities()
    assert opp["primarySalesRep"]["identifier"] == "APIMember"
