"""Auto-map as a first-time admin meets it on an empty ConnectWise tenant: each line left for a person says
the fix that works there, and Auto-map fills only what the chosen category mode uses."""

from __future__ import annotations

import html as html_lib
import re

from admin_support import BASE, add_document_lines, post_form
from sqlalchemy import select

from colcw_plugin.models import CategoryMapping, ProductTypeMapping, RepMapping
from colcw_plugin.setup.connection import get_settings
from helpers import csrf_from
from host_stub import demo_data
from host_stub.extensions import db
from host_stub.models import User


def _automap_page(admin_client) -> str:
    """Auto-map run from the ConnectWise page, as the admin reads the result (text, tags removed)."""
    token = csrf_from(admin_client.get(BASE + "/").get_data(as_text=True))
    resp = admin_client.post(BASE + "/automap", data={"csrf_token": token}, follow_redirects=True)
    assert resp.status_code == 200
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))))


def _member_of(email: str) -> str | None:
    db.session.expire_all()
    return db.session.execute(select(RepMapping.member_identifier).join(User, User.id == RepMapping.user_id)
                              .where(User.email == email)).scalar_one_or_none()


def _ids(sandbox, path: str, name: str) -> int:
    return next(r["id"] for r in sandbox.api("GET", path).json() if r["name"] == name)


def test_a_rep_without_a_member_is_told_to_add_the_member_first_and_that_fix_maps_the_rep(admin_client, connected):
    text = _automap_page(admin_client)
    assert ("sales rep Riley Rep <riley@demo.example>: no active ConnectWise member has this e-mail; add the member "
            "in ConnectWise (System → Members) with this e-mail and run Auto-map again, or choose the member on "
            "Sales rep mapping.") in text
    assert _member_of("riley@demo.example") is None

    # The admin follows the first fix: a member with Riley's e-mail, then Auto-map again.
    resp = connected.api("POST", "system/members", json={
        "identifier": "rrep", "firstName": "Riley", "lastName": "Rep", "licenseClass": "F",
        "hireDate": "2020-01-06T00:00:00Z", "defaultEmail": "Office", "defaultPhone": "Office",
        "officeEmail": "riley@demo.example", "officePhone": "555-0100", "securityRole": {"id": 1},
        "defaultLocation": {"id": _ids(connected, "system/locations", "Main")},
        "defaultDepartment": {"id": _ids(connected, "system/departments", "Sales")},
        "timeZone": {"id": 1}, "country": {"id": 1}})
    assert resp.status_code == 201, resp.text
    text = _automap_page(admin_client)
    assert "sales rep Riley Rep → member rrep (Main / Sales)" in text
    assert "sales rep Riley Rep <riley@demo.example>" not in text
    assert _member_of("riley@demo.example") == "rrep"


def test_a_missing_manufacturer_reads_as_a_sentence_with_its_fix(admin_client, connected):
    add_document_lines([("Acme Widgets", "Computers", "Desktops", "Product"),
                        ("CISCO", "Networking", "Switches", "Product"), ("Cisco", "Networking", "Switches", "Product")])
    text = _automap_page(admin_client)
    assert ("manufacturer Acme Widgets: ConnectWise has no manufacturer of that name; add it in ConnectWise (System → "
            "Setup Tables → Manufacturer), or add an alias on Product integration mapping.") in text
    assert ("manufacturer CISCO: manufacturer “CISCO” does not exist in ConnectWise, which has “Cisco” (names must "
            "match exactly, case included). Correct the lines' manufacturer to “Cisco”, or add the alias CISCO → Cisco "
            "(Product integration mapping → Manufacturers).") in text
    assert "manufacturer Cisco:" not in text

    # The admin follows the advice: add Acme Widgets in ConnectWise, alias CISCO; Auto-map leaves nothing for them.
    assert connected.api("POST", "procurement/manufacturers", json={"name": "Acme Widgets"}).status_code == 201
    resp = post_form(admin_client, "/products", {"section": "manufacturers", "alias_host-0": "CISCO",
                                                 "alias_cw-0": "Cisco", "alias_host-1": "", "alias_cw-1": ""})
    assert resp.status_code == 302
    text = _automap_page(admin_client)
    assert "manufacturer Acme Widgets" not in text and "manufacturer CISCO" not in text


def _use_the_mapping(admin_client) -> None:
    resp = post_form(admin_client, "/products", {"section": "categories", "category_mode": "mapping"})
    assert resp.status_code == 302
    assert get_settings(db.session).category_mode == "mapping"


def test_a_category_line_names_the_categories_connectwise_has_the_subcategory_under(admin_client, connected):
    _use_the_mapping(admin_client)
    text = _automap_page(admin_client)
    # The empty tenant has Desktops under Hardware, nothing under a category named Computers.
    assert ("category Computers / Desktops (using the mapping table): ConnectWise has no sub-category “Desktops” under a category "
            "“Computers”; it has “Desktops” under Hardware: map it on Product integration mapping.") in text
    assert ("category Networking / Switches (using the mapping table): ConnectWise has no sub-category “Switches” under a category "
            "“Networking”; add it in ConnectWise (System → Setup Tables → Products → Category / Sub Category), or map it on Product integration "
            "mapping.") in text
    assert "no sub-category of that name" not in text

    legacy = connected.api("POST", "procurement/categories", json={"name": "Legacy"}).json()
    assert connected.api("POST", "procurement/subcategories", json={"name": "Desktops",
                                                                   "category": {"id": legacy["id"]}}).status_code == 201
    text = _automap_page(admin_client)
    assert "“Desktops” under a category “Computers”; it has “Desktops” under Hardware and Legacy: map it" in text
    db.session.expire_all()
    assert db.session.execute(select(CategoryMapping).where(CategoryMapping.host_category == "Computers")).first() \
        is None


def _products_page(admin_client) -> str:
    return admin_client.get(BASE + "/products").get_data(as_text=True)


def test_with_channelonlines_names_automap_maps_no_category_and_says_what_connectwise_lacks(admin_client,
                                                                                            connected_demo):
    assert get_settings(db.session).category_mode == "names"  # a new install's choice
    pairs = sum(len(subs) for subs in demo_data.CATEGORIES.values())
    same = pairs - len(demo_data.CATEGORIES_MISSING_IN_CW)
    text = _automap_page(admin_client)
    assert (f"Categories, using ChannelOnline's names (“Use the names from ChannelOnline” is chosen on Product "
            f"integration mapping): {same} of {pairs} ChannelOnline categories / sub-categories exist in ConnectWise "
            "under the same names. Exports do not read the mapping table in this mode, so Auto-map mapped no "
            "categories.") in text
    assert ("category Power / PDUs (using ChannelOnline's names): ConnectWise has no sub-category “PDUs” under a "
            "category “Power”; add it in ConnectWise (System → Setup Tables → Products → Category / Sub Category), or choose “Use the mapping "
            "below” on Product integration mapping and map it there.") in text
    assert "category Networking / Switches →" not in text
    db.session.expire_all()
    assert db.session.execute(select(CategoryMapping)).first() is None
    assert 'id="mapping-unused"' not in _products_page(admin_client)  # no "The mapping below is not used" box

    # The admin chooses the mapping: Auto-map now fills the table, and says so.
    _use_the_mapping(admin_client)
    text = _automap_page(admin_client)
    assert ("Categories, using the mapping table (“Use the mapping below” is chosen on Product integration "
            "mapping): each ChannelOnline category / sub-category that ConnectWise has under the same names is "
            "mapped to it.") in text
    assert "category Networking / Switches → Networking / Switches" in text
    assert "category Power / PDUs (using the mapping table): ConnectWise has no sub-category “PDUs”" in text
    db.session.expire_all()
    assert len(db.session.execute(select(CategoryMapping)).all()) == same
    assert 'id="mapping-unused"' not in _products_page(admin_client)


def test_with_channelonlines_names_a_subcategory_under_another_category_is_named(app, admin_client, connected):
    text = _automap_page(admin_client)
    assert ("category Computers / Desktops (using ChannelOnline's names): ConnectWise has no sub-category “Desktops” "
            "under a category “Computers”; add it in ConnectWise (System → Setup Tables → Products → Category / Sub Category), or choose “Use "
            "the mapping below” on Product integration mapping and map it to “Desktops” under Hardware.") in text
    result = app.test_cli_runner().invoke(args=["colcw", "automap"]).output  # the command says the same
    assert "Categories, using ChannelOnline's names" in result
    assert ("Left for a person: category Computers / Desktops (using ChannelOnline's names): ConnectWise has no "
            "sub-category “Desktops” under a category “Computers”") in result


def test_a_row_left_without_a_member_or_product_type_is_filled_in_not_added_beside(admin_client, connected_demo):
    # Rows with blank values, as an earlier version or a hand edit may have left them (the pages delete a row
    # they blank): Auto-map must complete and fill them.
    riley = db.session.execute(select(User).where(User.email == "riley@demo.example")).scalar_one()
    db.session.add(RepMapping(user_id=riley.id, member_identifier=""))
    db.session.add(ProductTypeMapping(host_type="Product", cw_type_name=""))
    db.session.commit()
    text = _automap_page(admin_client)
    assert "sales rep Riley Rep → member rrep (Main / Sales)" in text and "product type Product → Product" in text
    db.session.expire_all()
    [rep] = db.session.execute(select(RepMapping).where(RepMapping.user_id == riley.id)).scalars()
    assert (rep.member_identifier, rep.location_name, rep.department_name) == ("rrep", "Main", "Sales")
    [product] = db.session.execute(select(ProductTypeMapping).where(ProductTypeMapping.host_type == "Product")).scalars()
    assert (product.cw_type_name, product.cw_type_id is not None) == ("Product", True)
