"""A document whose customer's ConnectWise company was deleted there (its link marked so, as the customer's page shows
it) is a ✗ on the export checklist and is refused by the export, with the customer page's fix: it passed the
checklist and "exported" into the deleted company's opportunity."""

from __future__ import annotations

import html
import re

import pytest
from quote_support import items, line
from sqlalchemy import update

from colcw_plugin.models import Link
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]


def test_a_deleted_company_is_a_cross_on_the_checklist_and_the_export_refuses_it(world, rep_client):
    doc = world.quote([line("OPT-7010")], name="Deleted deal")
    assert world.export(doc.id).status == "succeeded"
    [opp] = world.opportunities()
    world.edit(doc, [line("OPT-7010"), line("LAT-5440")])
    # As an export, an import or a live update marks it once ConnectWise says the company is deleted.
    db.session.execute(update(Link).where(Link.entity == "customer", Link.host_id == world.customer_id)
                       .values(status="missing_in_cw"))
    db.session.commit()

    page = html.unescape(rep_client.get(f"/colcw/documents/{doc.id}/export").get_data(as_text=True))
    row = next(r for r in re.findall(r'<tr class="[^"]*".*?</tr>', page, re.S) if "Customer Acme Dental in" in r)
    assert row.startswith('<tr class="error"') and "was deleted in ConnectWise" in row
    assert "Restore the company in ConnectWise and export again" in row

    [item] = [i for i in items(world.export(doc.id)) if i.entity == "document"]
    assert item.action == "failed" and "was deleted in ConnectWise" in item.message
    assert [p["catalogItem"]["identifier"] for p in world.products(opp["id"])] == ["OPT-7010"]
