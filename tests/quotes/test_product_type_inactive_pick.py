"""Product integration mapping → Product types: a mapping whose product type ConnectWise now marks inactive stayed
chosen in its select as "Hardware (not in ConnectWise)", as if ConnectWise lacked it (adding it there is no fix: it
holds the name). It reads "(inactive in ConnectWise)", as the Pre-flight check and Auto-map say it
(``Lookups.inactive_type``); a type ConnectWise lacks still reads "(not in ConnectWise)"."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from sqlalchemy import select

from colcw_plugin.models import ProductTypeMapping
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

PRODUCTS = "/admin/integration/connectwise/products"


def _chosen(page: str, host_type: str) -> str:
    """The text of the option chosen in the product type select of ``host_type``."""
    select_ = re.search(rf'<select[^>]*aria-label="ConnectWise product type for {host_type}"[^>]*>(.*?)</select>',
                        page, re.S)
    assert select_, f"no product type select for {host_type}"
    [chosen] = [html_lib.unescape(text) for attrs, text in re.findall(r"<option([^>]*)>(.*?)</option>",
                                                                        select_.group(1)) if "selected" in attrs]
    return chosen


def test_a_mapped_product_type_connectwise_marks_inactive_reads_inactive_not_missing(world, admin_client):
    [hardware] = world.api("procurement/types", conditions='name="Hardware"')  # Product is mapped to it
    resp = world.sandbox.api("PATCH", f"procurement/types/{hardware['id']}",
                             json=[{"op": "replace", "path": "inactiveFlag", "value": True}])
    assert resp.status_code == 200, resp.text
    labor = db.session.execute(select(ProductTypeMapping).where(ProductTypeMapping.host_type == "Labor")).scalar_one()
    labor.cw_type_name, labor.cw_type_id = "Consulting", None  # a type ConnectWise lacks
    db.session.commit()
    page = admin_client.get(PRODUCTS).get_data(as_text=True)
    assert _chosen(page, "Product") == "Hardware (inactive in ConnectWise)"
    assert _chosen(page, "Labor") == "Consulting (not in ConnectWise)"
    assert _chosen(page, "Service") == "Service"
