"""A category, sub-category or product type ConnectWise has but marks inactive, as the admin's pages say it, now that
the export refuses to create catalog items under one (test_catalog_reference_inactive_in_cw.py): the Pre-flight check
passed a pair whose category is inactive (its sub-category is active) and called an inactive mapped product type or
sub-category "no longer" / "not in ConnectWise"; Auto-map mapped a pair to a sub-category of an inactive category and
told to add an inactive product type; the Categories mapping offered the sub-categories of an inactive category and
called a mapped inactive one "not in ConnectWise". Each now says ConnectWise has it but inactive, and to activate it
there or map the line elsewhere (or no longer offers it)."""

from __future__ import annotations

import html as html_lib
import re

from quote_support import line
from sqlalchemy import delete, select

from colcw_plugin.models import CategoryMapping, ProductTypeMapping
from colcw_plugin.setup.connection import get_settings
from helpers import csrf_from
from host_stub.extensions import db

BASE = "/admin/integration/connectwise"
CATEGORY_PLACE = "System → Setup Tables → Products → Category / Sub Category"


def _deactivate(world, path: str, name: str, category: str | None = None) -> dict:
    """As a ConnectWise admin would: the record named ``name`` (of ``category``) under ``path`` marked inactive."""
    [record] = [r for r in world.api(path) if r["name"] == name
                and (category is None or r["category"]["name"] == category)]
    resp = world.sandbox.api("PATCH", f"{path}/{record['id']}",
                             json=[{"op": "replace", "path": "inactiveFlag", "value": True}])
    assert resp.status_code == 200, resp.text
    return record


def _text(fragment: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _area(page: str, area: str) -> tuple[bool, list[str]]:
    """The Pre-flight check's area: whether it passes, and its items as shown."""
    start = page.index(f'data-area="{area}"')
    section = page[start:page.index("</section>", start)]
    return 'data-ok="yes"' in section, [_text(li) for li in re.findall(r"<li>(.*?)</li>", section, re.S)]


def _automap_left(client) -> list[str]:
    token = csrf_from(client.get(BASE + "/").get_data(as_text=True))
    resp = client.post(BASE + "/automap", data={"csrf_token": token}, follow_redirects=True)
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    start = page.index('id="automap-left"')
    return [_text(li) for li in re.findall(r"<li>(.*?)</li>", page[start:page.index("</section>", start)], re.S)]


def test_preflight_names_an_inactive_category_under_chanelonlines_names(world, admin_client):
    _deactivate(world, "procurement/categories", "Hardware")  # its sub-category Desktops stays active
    world.quote([line("NEW-PC-1")])
    ok, listed = _area(admin_client.get(BASE + "/preflight").get_data(as_text=True), "Categories")
    assert not ok
    assert (f"Hardware / Desktops: ConnectWise has the category “Hardware” but marks it inactive; activate it in "
            f"ConnectWise ({CATEGORY_PLACE})") in listed  # (the demo's documents' other categories are listed too)
    assert "Hardware / Desktops" not in listed


def test_preflight_names_an_inactive_mapped_sub_category_and_product_type(world, admin_client):
    servers = _deactivate(world, "procurement/subcategories", "Servers")
    _deactivate(world, "procurement/types", "Hardware")  # Product is mapped to it
    get_settings(db.session).category_mode = "mapping"
    db.session.add(CategoryMapping(host_category="Hardware", host_subcategory="Desktops",
                                   cw_category_id=servers["category"]["id"], cw_category_name="Hardware",
                                   cw_subcategory_id=servers["id"], cw_subcategory_name="Servers"))
    db.session.commit()
    world.quote([line("NEW-PC-1")])
    page = admin_client.get(BASE + "/preflight").get_data(as_text=True)
    ok, listed = _area(page, "Categories")
    assert not ok and (
        f"Hardware / Desktops → Hardware / Servers: ConnectWise has the sub-category “Servers” of Hardware but marks "
        f"it inactive; activate it in ConnectWise ({CATEGORY_PLACE}), or map it to another") in listed
    assert _area(page, "Product types") == (False, [
        "Product → Hardware: ConnectWise has this product type but marks it inactive; activate it in ConnectWise "
        "(System → Setup Tables → Products → Product Type), or map Product to another"])



def test_automap_maps_nothing_to_an_inactive_category_or_product_type_and_says_so(world, admin_client):
    _deactivate(world, "procurement/categories", "Hardware")
    _deactivate(world, "procurement/types", "Service")
    db.session.execute(delete(ProductTypeMapping).where(ProductTypeMapping.host_type == "Service"))
    get_settings(db.session).category_mode = "mapping"
    db.session.commit()
    world.quote([line("NEW-PC-1")])
    left = _automap_left(admin_client)
    assert (f"category Hardware / Desktops (using the mapping table): ConnectWise has the category “Hardware” but marks "
            f"it inactive; activate it in ConnectWise ({CATEGORY_PLACE}), or map it on Product integration "
            "mapping.") in left
    assert ("product type Service: ConnectWise has this product type but marks it inactive; activate it in ConnectWise "
            "(System → Setup Tables → Products → Product Type), or choose another on Product integration mapping."
            ) in left
    db.session.expire_all()
    assert db.session.execute(select(CategoryMapping)).scalars().all() == []  # nothing mapped to it
    assert db.session.execute(select(ProductTypeMapping).where(ProductTypeMapping.host_type == "Service")
                              ).scalar_one_or_none() is None

    page = admin_client.get(BASE + "/products").get_data(as_text=True)
    options = [_text(o) for o in re.findall(r"<option[^>]*>(.*?)</option>", page, re.S)]
    assert "Software / Productivity" in options  # (the picks are listed)
    assert not [o for o in options if o.startswith("Hardware / ")]  # none of the inactive category's sub-categories


def test_the_categories_mapping_says_a_mapped_sub_category_is_inactive_with_its_fix(world, admin_client):
    servers = _deactivate(world, "procurement/subcategories", "Servers")
    get_settings(db.session).category_mode = "mapping"
    db.session.add(CategoryMapping(host_category="Hardware", host_subcategory="Desktops",
                                   cw_category_id=servers["category"]["id"], cw_category_name="Hardware",
                                   cw_subcategory_id=servers["id"], cw_subcategory_name="Servers"))
    db.session.commit()
    world.quote([line("NEW-PC-1")])
    page = admin_client.get(BASE + "/products").get_data(as_text=True)
    [row] = [r for r in page.split("</tr>") if 'data-host="Hardware / Desktops"' in r]
    assert _text(row).endswith(
        f"Hardware / Servers: ConnectWise has the sub-category “Servers” of Hardware but marks it inactive, so the "
        f"export creates no products under it. Activate it in ConnectWise ({CATEGORY_PLACE}), or map Hardware / "
        "Desktops to another.")  # at its row; it said "is not in ConnectWise"
    assert "Hardware / Servers is not in ConnectWise" not in _text(page)
