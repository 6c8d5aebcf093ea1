"""Sales rep and product integration mapping: pick from ConnectWise's lists, exact-case checks,
typed entry when ConnectWise is unreachable, the full lists (all pages)."""

from __future__ import annotations

import html as html_lib
import re

from admin_support import BASE, add_document_lines, page_form, post_form
from sqlalchemy import select

from colcw_plugin.models import (
    CategoryMapping,
    ConfigChange,
    ManufacturerAlias,
    ProductTypeMapping,
    RepMapping,
)
from colcw_plugin.setup.catalog_rules import CatalogRules
from colcw_plugin.setup.connection import get_settings
from cw_sandbox.validation import now_iso
from helpers import connection_unreachable
from host_stub.extensions import db
from host_stub.models import User


def _user(email: str) -> User:
    return db.session.execute(select(User).where(User.email == email)).scalar_one()


def _mapping(user: User) -> RepMapping | None:
    db.session.expire_all()
    return db.session.execute(select(RepMapping).where(RepMapping.user_id == user.id)).scalar_one_or_none()


def _sandbox_id(sandbox, path: str, **match) -> int:
    rows = sandbox.api("GET", path, params={"pageSize": 1000}).json()
    return next(r["id"] for r in rows if all(r.get(k) == v for k, v in match.items()))


def test_rep_page_offers_members_locations_and_business_units_from_connectwise(admin_client, connected_demo):
    html = admin_client.get("/admin/integration/connectwise/reps").get_data(as_text=True)
    assert '<option value="rrep">rrep (Riley Rep)</option>' in html
    assert '<option value="Remote Office">Remote Office</option>' in html
    assert '<option value="Administration">Administration</option>' in html
    assert "lists-unavailable" not in html


def test_rep_mapping_saves_member_with_its_default_location_and_business_unit(admin_client, connected_demo):
    riley = _user("riley@demo.example")
    resp = post_form(admin_client, "/reps", {f"member-{riley.id}": "rrep", f"location-{riley.id}": "",
                                             f"department-{riley.id}": ""})
    assert resp.status_code == 302
    m = _mapping(riley)
    assert (m.member_identifier, m.location_name, m.department_name) == ("rrep", "Main", "Sales")
    assert m.member_id == _sandbox_id(connected_demo, "system/members", identifier="rrep")
    assert m.location_id == _sandbox_id(connected_demo, "system/locations", name="Main")
    assert m.department_id == _sandbox_id(connected_demo, "system/departments", name="Sales")
    audit = db.session.execute(select(ConfigChange).where(ConfigChange.area == "rep mapping")).scalar_one()
    assert "Riley Rep → rrep (Main / Sales)" in audit.summary


def test_rep_mapping_chosen_location_overrides_the_default(admin_client, connected_demo):
    riley = _user("riley@demo.example")
    post_form(admin_client, "/reps", {f"member-{riley.id}": "rrep", f"location-{riley.id}": "Remote Office",
                                      f"department-{riley.id}": "Services"})
    m = _mapping(riley)
    assert (m.location_name, m.department_name) == ("Remote Office", "Services")


def test_another_member_takes_its_own_defaults_not_the_previous_members(admin_client, connected_demo):
    """The page shows the defaults a blank mapping took from rrep (Main / Sales); choosing admin1 (Main /
    Administration) and nothing else maps Riley with admin1's defaults, not rrep's carried over."""
    riley = _user("riley@demo.example")
    post_form(admin_client, "/reps", {f"member-{riley.id}": "rrep", f"location-{riley.id}": "",
                                      f"department-{riley.id}": ""})
    form = page_form(admin_client, "/reps", "save-reps")
    assert (form[f"location-{riley.id}"], form[f"department-{riley.id}"]) == ("Main", "Sales")
    form[f"member-{riley.id}"] = "admin1"
    assert admin_client.post(BASE + "/reps", data=form).status_code == 302
    m = _mapping(riley)
    assert (m.member_identifier, m.location_name, m.department_name) == ("admin1", "Main", "Administration")
    assert m.department_id == _sandbox_id(connected_demo, "system/departments", name="Administration")


def test_another_member_keeps_a_location_and_business_unit_the_admin_chose(admin_client, connected_demo):
    riley = _user("riley@demo.example")
    post_form(admin_client, "/reps", {f"member-{riley.id}": "rrep", f"location-{riley.id}": "Remote Office",
                                      f"department-{riley.id}": "Services"})
    form = page_form(admin_client, "/reps", "save-reps")
    form[f"member-{riley.id}"] = "admin1"
    assert admin_client.post(BASE + "/reps", data=form).status_code == 302
    m = _mapping(riley)
    assert (m.member_identifier, m.location_name, m.department_name) == ("admin1", "Remote Office", "Services")


def test_another_member_with_a_business_unit_changed_too_keeps_it(admin_client, connected_demo):
    riley = _user("riley@demo.example")
    post_form(admin_client, "/reps", {f"member-{riley.id}": "rrep", f"location-{riley.id}": "",
                                      f"department-{riley.id}": ""})
    form = page_form(admin_client, "/reps", "save-reps")
    form[f"member-{riley.id}"], form[f"department-{riley.id}"] = "admin1", "Services"
    assert admin_client.post(BASE + "/reps", data=form).status_code == 302
    m = _mapping(riley)
    assert (m.member_identifier, m.location_name, m.department_name) == ("admin1", "Main", "Services")


def test_rep_mapping_refuses_a_wrong_case_member_and_saves_nothing(admin_client, connected_demo):
    riley, sam = _user("riley@demo.example"), _user("sam@demo.example")
    resp = post_form(admin_client, "/reps", {f"member-{riley.id}": "RREP", f"location-{riley.id}": "",
                                             f"department-{riley.id}": "", f"member-{sam.id}": "ddefault",
                                             f"location-{sam.id}": "", f"department-{sam.id}": ""})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "names must match exactly, including case" in html and "Did you mean &#34;rrep&#34;?" in html
    assert _mapping(riley) is None and _mapping(sam) is None  # all or nothing


def test_rep_mapping_blank_member_unmaps(admin_client, connected_demo):
    riley = _user("riley@demo.example")
    post_form(admin_client, "/reps", {f"member-{riley.id}": "rrep"})
    assert _mapping(riley) is not None
    post_form(admin_client, "/reps", {f"member-{riley.id}": ""})
    assert _mapping(riley) is None


def test_typed_entry_when_connectwise_is_unreachable_is_saved_unverified(admin_client, connected_demo):
    connection_unreachable()
    html = admin_client.get("/admin/integration/connectwise/reps").get_data(as_text=True)
    assert 'id="lists-unavailable"' in html and 'placeholder="member identifier"' in html
    unavailable = html.split('id="lists-unavailable">')[1].split("</p>")[0]
    assert re.search(r"could not be read: [^<]*[^.]\. Type the values exactly", unavailable), unavailable
    riley = _user("riley@demo.example")
    missing = post_form(admin_client, "/reps", {f"member-{riley.id}": "rrep"})
    assert missing.status_code == 400 and "Type the location and business unit" in missing.get_data(as_text=True)
    resp = post_form(admin_client, "/reps", {f"member-{riley.id}": "rrep", f"location-{riley.id}": "Main",
                                             f"department-{riley.id}": "Sales"})
    assert resp.status_code == 302
    m = _mapping(riley)
    assert m.member_identifier == "rrep" and m.member_id is None  # not verified until saved while reachable
    assert "not verified" in admin_client.get("/admin/integration/connectwise/reps").get_data(as_text=True)


def test_product_types_are_chosen_from_connectwise_and_checked_exactly(admin_client, connected_demo):
    resp = post_form(admin_client, "/products", {"section": "types", "type-Product": "Hardware",
                                                 "type-Service": "service", "type-Labor": "Labor"})
    assert resp.status_code == 400 and "Did you mean &#34;Service&#34;?" in resp.get_data(as_text=True)
    assert db.session.execute(select(ProductTypeMapping)).first() is None
    resp = post_form(admin_client, "/products", {"section": "types", "type-Product": "Hardware",
                                                 "type-Service": "Service", "type-Labor": "Labor"})
    assert resp.status_code == 302
    mapping = CatalogRules.load(db.session, get_settings(db.session)).product_type_for("Product")
    assert mapping.name == "Hardware"
    assert mapping.id == _sandbox_id(connected_demo, "procurement/types", name="Hardware")


def test_category_names_mode_shows_what_connectwise_lacks(admin_client, connected_demo):
    html = admin_client.get("/admin/integration/connectwise/products").get_data(as_text=True)
    section = html[html.index('id="missing-categories"'):html.index('id="manufacturers"')]
    assert "<li>Cables &amp; Adapters / Fiber</li>" in section and "<li>Power / PDUs</li>" in section
    assert "<li>Networking / Switches</li>" not in section


def test_pairs_connectwise_lacks_stop_alarming_once_the_mapping_maps_them(admin_client, connected_demo):
    storage = _sandbox_id(connected_demo, "procurement/subcategories/", name="Storage")
    data = {"section": "categories", "category_mode": "mapping", "hostcat-0": "Power", "hostsub-0": "PDUs",
            "target-0": str(storage)}
    assert post_form(admin_client, "/products", data).status_code == 302
    html = admin_client.get("/admin/integration/connectwise/products").get_data(as_text=True)
    section = html[html.index('id="missing-categories"') - 40:html.index("</ul>", html.index('id="missing-categories"'))]
    # Mapped, Power / PDUs is no problem any more; Cables & Adapters / Fiber, not mapped yet, still is.
    assert 'class="flash error" id="missing-categories"' in section
    assert ("ConnectWise lacks 1 of ChannelOnline's category / sub-category pairs</strong>, and it is not mapped "
            "below:") in section
    assert "<li>Cables &amp; Adapters / Fiber</li>" in section and "Power / PDUs" not in section

    fiber = _sandbox_id(connected_demo, "procurement/subcategories/", name="Storage")
    data.update({"hostcat-0": "Cables & Adapters", "hostsub-0": "Fiber", "target-0": str(fiber)})
    assert post_form(admin_client, "/products", data).status_code == 302
    html = admin_client.get("/admin/integration/connectwise/products").get_data(as_text=True)
    assert 'class="flash error" id="missing-categories"' not in html
    assert ('<p class="hint" id="missing-categories">ConnectWise lacks 2 of ChannelOnline\'s category / '
            "sub-category pairs by name; each is mapped below to one it has.</p>") in html.replace("&#39;", "'")


def test_names_mode_lists_what_connectwise_lacks_without_a_stray_space(admin_client, connected_demo):
    html = admin_client.get("/admin/integration/connectwise/products").get_data(as_text=True)
    assert "pairs</strong> (needed with “use the names”):" in html


def test_category_mapping_maps_a_host_subcategory_to_a_connectwise_one(admin_client, connected_demo):
    # Each row carries its host names, so a form with this one row is enough.
    n = 0
    storage = _sandbox_id(connected_demo, "procurement/subcategories/", name="Storage")
    resp = post_form(admin_client, "/products", {"section": "categories", "category_mode": "mapping",
                                                 f"hostcat-{n}": "Power", f"hostsub-{n}": "PDUs",
                                                 f"target-{n}": str(storage)})
    assert resp.status_code == 302
    settings = get_settings(db.session)
    assert settings.category_mode == "mapping"
    row = db.session.execute(select(CategoryMapping)).scalar_one()
    assert (row.host_category, row.host_subcategory, row.cw_category_name, row.cw_subcategory_name) == (
        "Power", "PDUs", "Hardware", "Storage")
    assert row.cw_subcategory_id == storage
    assert CatalogRules.load(db.session, settings).category_for("Power", "PDUs")[0].name == "Hardware"
    assert CatalogRules.load(db.session, settings).category_for("Power", "PDUs")[1].name == "Storage"
    assert CatalogRules.load(db.session, settings).category_for("Power", "UPS") is None  # nothing mapped for it


def test_category_mapping_needs_both_category_and_subcategory(admin_client, connected_demo):
    settings = get_settings(db.session)
    settings.site_url = "http://127.0.0.1:9"  # unreachable: the typed fields are used
    db.session.commit()
    resp = post_form(admin_client, "/products", {"section": "categories", "category_mode": "mapping",
                                                 "hostcat-0": "Power", "hostsub-0": "PDUs", "cwcat-0": "Hardware",
                                                 "cwsub-0": ""})
    assert resp.status_code == 400 and "a product needs a sub-category" in resp.get_data(as_text=True)


def test_manufacturers_missing_in_connectwise_are_listed_and_aliased(admin_client, connected_demo):
    add_document_lines([("Cisco", "Networking", "Switches", "Product"),
                        ("Acme Widgets", "Peripherals", "Monitors", "Product"),
                        ("NorthPeak Cables", "Cables & Adapters", "Fiber", "Product")])
    html = admin_client.get("/admin/integration/connectwise/products").get_data(as_text=True)
    missing = html[html.index('id="missing-manufacturers"'):html.index('id="alias-table"')]
    assert "<li>Acme Widgets</li>" in missing and "<li>NorthPeak Cables</li>" in missing
    assert "<li>Cisco</li>" not in missing
    resp = post_form(admin_client, "/products", {"section": "manufacturers",
                                                 "alias_host-0": "Acme Widgets", "alias_cw-0": "Belkin",
                                                 "alias_host-1": "NorthPeak Cables", "alias_cw-1": "",
                                                 "alias_host-2": "", "alias_cw-2": ""})
    assert resp.status_code == 302
    alias = db.session.execute(select(ManufacturerAlias)).scalar_one()
    assert (alias.host_name, alias.cw_manufacturer_name) == ("Acme Widgets", "Belkin")
    assert alias.cw_manufacturer_id == _sandbox_id(connected_demo, "procurement/manufacturers", name="Belkin")
    assert CatalogRules.load(db.session, get_settings(db.session)).manufacturer_for("Acme Widgets").name == "Belkin"
    assert CatalogRules.load(db.session, get_settings(db.session)).manufacturer_for("Cisco").name == "Cisco"
    html = admin_client.get("/admin/integration/connectwise/products").get_data(as_text=True)
    missing = html[html.index('id="missing-manufacturers"'):html.index('id="alias-table"')]
    assert "Acme Widgets" not in missing and "NorthPeak Cables" in missing


def test_one_manufacturer_missing_reads_in_the_singular(admin_client, connected_demo):
    add_document_lines([("Acme Widgets", "Peripherals", "Monitors", "Product")])
    page = html_lib.unescape(admin_client.get("/admin/integration/connectwise/products").get_data(as_text=True))
    section = " ".join(page[page.index('id="missing-manufacturers"'):page.index('id="alias-table"')].split())
    assert "1 manufacturer on ChannelOnline's documents is not in ConnectWise</strong> and has no alias:" in section
    assert "Add it in ConnectWise (System → Setup Tables → Manufacturer) or map it to a ConnectWise manufacturer below." in section


def test_alias_to_a_manufacturer_connectwise_lacks_is_refused(admin_client, connected_demo):
    resp = post_form(admin_client, "/products", {"section": "manufacturers", "alias_host-0": "Acme Widgets",
                                                 "alias_cw-0": "belkin"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Did you mean &#34;Belkin&#34;?" in page
    # Beside the row it is about, with the typed value kept (the manufacturer list is searchable).
    assert 'id="error-alias_cw-0"' in page and 'data-colcw-searchable' in page
    assert db.session.execute(select(ManufacturerAlias)).first() is None


def test_lists_are_read_to_the_last_page(admin_client, connected_demo):
    """A tenant with more manufacturers than one page holds (1,000) still offers the last ones."""
    stamp = now_iso()
    store = connected_demo.tenant.store
    rows = [{"id": store.new_id("manufacturers"), "name": f"Zz Maker {n:04d}", "inactiveFlag": False,
             "_info": {"lastUpdated": stamp, "updatedBy": "admin1"}} for n in range(1200)]
    store.put_many("manufacturers", rows)
    html = admin_client.get("/admin/integration/connectwise/products").get_data(as_text=True)
    assert '<option value="Zz Maker 1199">' in html and '<option value="Zz Maker 0000">' in html
    pages = [r for r in connected_demo.requests() if r["path"].endswith("procurement/manufacturers")]
    assert len(pages) >= 2


def test_mappings_saved_unchanged_while_connectwise_is_unreachable_keep_their_verified_ids(admin_client,
                                                                                           connected_demo):
    """An admin saves the mapping pages again, as they were, while ConnectWise does not answer: what was
    verified stays verified (dropping the member's id stopped every export of that rep)."""
    dana = _user("dana@demo.example")  # the store's default rep: the one exports use
    add_document_lines([("Acme Widgets", "Power", "PDUs", "Product")])
    storage = _sandbox_id(connected_demo, "procurement/subcategories/", name="Storage")
    assert post_form(admin_client, "/reps", {f"member-{dana.id}": "ddefault"}).status_code == 302
    assert post_form(admin_client, "/products", {"section": "types", "type-Product": "Hardware",
                                                 "type-Service": "Service", "type-Labor": "Labor"}).status_code == 302
    assert post_form(admin_client, "/products", {"section": "manufacturers", "alias_host-0": "Acme Widgets",
                                                 "alias_cw-0": "Belkin"}).status_code == 302
    assert post_form(admin_client, "/products", {"section": "categories", "category_mode": "mapping",
                                                 "hostcat-0": "Power", "hostsub-0": "PDUs",
                                                 "target-0": str(storage)}).status_code == 302

    def verified():
        db.session.expire_all()
        m = _mapping(dana)
        types = {r.host_type: r.cw_type_id for r in db.session.execute(select(ProductTypeMapping)).scalars()}
        alias = db.session.execute(select(ManufacturerAlias)).scalar_one()
        category = db.session.execute(select(CategoryMapping)).scalar_one()
        return ((m.member_id, m.location_id, m.department_id), types, alias.cw_manufacturer_id,
                (category.cw_category_id, category.cw_subcategory_id))

    before = verified()
    assert before[0][0] == _sandbox_id(connected_demo, "system/members", identifier="ddefault")
    assert None not in before[1].values()
    settings = get_settings(db.session)
    settings.site_url = "http://127.0.0.1:9"  # unreachable: the pages offer typed fields, filled as saved
    db.session.commit()
    resp = post_form(admin_client, "/reps", {f"member-{dana.id}": "ddefault", f"location-{dana.id}": "Main",
                                             f"department-{dana.id}": "Sales"})
    assert resp.status_code == 302
    assert post_form(admin_client, "/products", {"section": "types", "type-Product": "Hardware",
                                                 "type-Service": "Service", "type-Labor": "Labor"}).status_code == 302
    assert post_form(admin_client, "/products", {"section": "manufacturers", "alias_host-0": "Acme Widgets",
                                                 "alias_cw-0": "Belkin"}).status_code == 302
    assert post_form(admin_client, "/products", {"section": "categories", "category_mode": "mapping",
                                                 "hostcat-0": "Power", "hostsub-0": "PDUs", "cwcat-0": "Hardware",
                                                 "cwsub-0": "Storage"}).status_code == 302
    assert verified() == before
    assert "not verified" not in admin_client.get("/admin/integration/connectwise/reps").get_data(as_text=True)
    # A changed row is still saved as typed, unverified, and an export says what that means.
    post_form(admin_client, "/reps", {f"member-{dana.id}": "sales2", f"location-{dana.id}": "Main",
                                      f"department-{dana.id}": "Sales"})
    assert _mapping(dana).member_id is None
    from colcw_plugin.setup.reps import UnmappedRep, member_for

    try:
        member_for(db.session, get_settings(db.session), None)
    except UnmappedRep as e:
        assert str(e) == ("Export did not occur: Dana Default is mapped to ConnectWise member sales2, but the mapping "
                          "was saved without checking it in ConnectWise (not verified).")
        assert "save" in e.resolution.lower() and "while ConnectWise answers" in e.resolution
    else:
        raise AssertionError("an unverified mapping has no member id to export with")
