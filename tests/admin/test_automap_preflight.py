"""Auto-map (page and CLI) and the pre-flight check (page and CLI) against the sandbox's demo tenant."""

from __future__ import annotations

import re

from admin_support import BASE, add_document_lines, name_documents
from sqlalchemy import select

from colcw_plugin.models import CategoryMapping, ConfigChange, ProductTypeMapping, RepMapping
from colcw_plugin.setup.automap import automap
from colcw_plugin.setup.categories import CategoryChoice, save_categories
from colcw_plugin.setup.connection import get_settings
from colcw_plugin.setup.lookups import load_lookups
from colcw_plugin.setup.manufacturers import save_manufacturer_aliases
from colcw_plugin.setup.preflight import run_preflight
from helpers import csrf_from
from host_stub import demo_data
from host_stub.extensions import db
from host_stub.models import CustomField, User


def _rep_members() -> dict[str, str]:
    db.session.expire_all()
    rows = db.session.execute(select(User.email, RepMapping.member_identifier).join(
        RepMapping, RepMapping.user_id == User.id)).all()
    return dict(rows)


def test_automap_maps_reps_by_email_and_names_exactly_and_reports_the_rest(admin_client, connected_demo):
    get_settings(db.session).category_mode = "mapping"  # categories are mapped only while the mapping is used
    db.session.commit()
    token = csrf_from(admin_client.get(BASE + "/").get_data(as_text=True))
    resp = admin_client.post(BASE + "/automap", data={"csrf_token": token}, follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert _rep_members() == {"dana@demo.example": "ddefault", "riley@demo.example": "rrep",
                              "admin@demo.example": "aadmin"}
    assert "sales rep Sam Sales &lt;sam@demo.example&gt;: no active ConnectWise member has this e-mail" in html
    types = {m.host_type: m.cw_type_name for m in db.session.execute(select(ProductTypeMapping)).scalars()}
    assert types == {"Product": "Product", "Service": "Service", "Labor": "Labor"}
    mapped = {(m.host_category, m.host_subcategory) for m in db.session.execute(select(CategoryMapping)).scalars()}
    expected = {(c, s) for c, subs in demo_data.CATEGORIES.items() for s in subs} - demo_data.CATEGORIES_MISSING_IN_CW
    assert mapped == expected
    assert ("category Power / PDUs (using the mapping table): ConnectWise has no sub-category “PDUs” under a category "
            "“Power”") in html
    audit = db.session.execute(select(ConfigChange).where(ConfigChange.area == "automap")).scalar_one()
    assert "rrep" in audit.summary


def test_automap_is_idempotent_and_keeps_a_persons_choices(app, connected_demo, demo_client):
    lookups = load_lookups(demo_client)
    first = automap(db.session, lookups, "tests")
    db.session.commit()
    riley = db.session.execute(select(User).where(User.email == "riley@demo.example")).scalar_one()
    mapping = db.session.execute(select(RepMapping).where(RepMapping.user_id == riley.id)).scalar_one()
    mapping.member_identifier, mapping.location_name = "ddefault", "Remote Office"  # a person's choice
    db.session.commit()
    second = automap(db.session, lookups, "tests")
    db.session.commit()
    assert first.mapped and second.mapped == []
    assert second.kept == first.kept + len(first.mapped)
    db.session.refresh(mapping)
    assert (mapping.member_identifier, mapping.location_name) == ("ddefault", "Remote Office")


def test_automap_command_prints_what_it_mapped_and_what_is_left(app, connected_demo):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["colcw", "automap"])
    assert result.exit_code == 0, result.output
    assert "Mapped: sales rep Riley Rep → member rrep (Main / Sales)" in result.output
    assert "Left for a person: sales rep Sam Sales" in result.output
    # A first run has mapped nothing before: exact-name manufacturers are not "already mapped".
    assert "Already mapped and left as they were: 0." in result.output
    again = runner.invoke(args=["colcw", "automap"])
    assert again.exit_code == 0 and "Nothing new to map." in again.output


def test_automap_manufacturers_report_missing_ones_with_a_near_match(app, connected_demo, demo_client):
    add_document_lines([("Cisco", "Networking", "Switches", "Product"), ("CISCO", "Networking", "Switches", "Product"),
                        ("Acme Widgets", "Peripherals", "Monitors", "Product")])
    report = automap(db.session, load_lookups(demo_client), "tests")
    left = "\n".join(report.left)
    assert ("manufacturer CISCO: manufacturer “CISCO” does not exist in ConnectWise, which has “Cisco” (names must "
            "match exactly, case included). Correct the lines' manufacturer to “Cisco”, or add the alias CISCO → Cisco "
            "(Product integration mapping → Manufacturers).") in left
    assert "manufacturer Acme Widgets: ConnectWise has no manufacturer of that name; add it in ConnectWise" in left
    assert "manufacturer Cisco:" not in left
    assert report.same_name == 1  # Cisco exists in ConnectWise as is: reported apart from "already mapped"
    assert "Manufacturers with the same name in ConnectWise (no alias needed): 1." in report.lines()


def _areas(report) -> dict[str, object]:
    return {c.area: c for c in report.checks}


def test_preflight_lists_everything_that_would_make_an_export_fail(app, connected_demo, demo_client):
    add_document_lines([("Acme Widgets", "Peripherals", "Monitors", "Product")])
    report = run_preflight(db.session, load_lookups(demo_client))
    areas = _areas(report)
    assert report.ok is False
    assert areas["Connection"].ok
    assert not areas["Opportunity name field"].ok
    assert not areas["Sales reps"].ok and "Dana Default <dana@demo.example> is not mapped" in areas["Sales reps"].items[0]
    assert not areas["Product types"].ok and len(areas["Product types"].items) == 3
    assert set(areas["Categories"].items) == {"Cables & Adapters / Fiber", "Power / PDUs"}
    assert areas["Categories"].summary == "Using ChannelOnline's names: 2 ChannelOnline categories have no ConnectWise match"
    problems = len(areas["Sales reps"].items)
    assert areas["Sales reps"].summary.endswith(f": {problems} problem{'s' if problems > 1 else ''}")
    assert areas["Manufacturers"].items == ["Acme Widgets"]
    assert len(areas["Canadian provinces"].items) == 13 and areas["Canadian provinces"].items[1] == "BC (British Columbia)"


def test_preflight_passes_once_everything_is_set_up(app, connected_demo, demo_client):
    add_document_lines([("Acme Widgets", "Peripherals", "Monitors", "Product")])
    settings = get_settings(db.session)
    settings.category_mode = "mapping"  # Auto-map fills the table only while it is used
    automap(db.session, load_lookups(demo_client), "tests")
    settings.opportunity_field_id = db.session.execute(select(CustomField.id)).scalar()
    name_documents(settings.opportunity_field_id)  # a document without a name would be refused
    lookups = load_lookups(demo_client)
    choices = [CategoryChoice(c, s, "Hardware", "Storage") for c, s in demo_data.CATEGORIES_MISSING_IN_CW]
    save_categories(db.session, settings, "mapping", choices, lookups, "tests")
    save_manufacturer_aliases(db.session, {"Acme Widgets": "Belkin"}, lookups, "tests")
    for code, name in [("AB", "Alberta"), ("BC", "British Columbia"), ("MB", "Manitoba"), ("NB", "New Brunswick"),
                       ("NL", "Newfoundland and Labrador"), ("NT", "Northwest Territories"), ("NS", "Nova Scotia"),
                       ("NU", "Nunavut"), ("ON", "Ontario"), ("PE", "Prince Edward Island"), ("QC", "Quebec"),
                       ("SK", "Saskatchewan"), ("YT", "Yukon")]:
        assert connected_demo.api("POST", "company/states", json={"identifier": code, "name": name,
                                                                    "country": {"id": 2}}).status_code == 201
    db.session.commit()
    report = run_preflight(db.session, load_lookups(demo_client))
    assert report.ok, [(c.area, c.items) for c in report.problems]
    result = app.test_cli_runner().invoke(args=["colcw", "check"])
    assert result.exit_code == 0 and "Nothing found that would make an export fail." in result.output


def test_preflight_with_the_logged_in_rep_option_checks_every_user(app, connected_demo, demo_client):
    automap(db.session, load_lookups(demo_client), "tests")
    get_settings(db.session).use_logged_in_rep = True
    report = run_preflight(db.session, load_lookups(demo_client))
    assert _areas(report)["Sales reps"].items == ["Sam Sales <sam@demo.example> is not mapped to a ConnectWise member"]


def test_check_command_exits_non_zero_and_prints_the_problems(app, connected_demo):
    result = app.test_cli_runner().invoke(args=["colcw", "check"])
    assert result.exit_code == 1
    assert "FAIL Sales reps" in result.output and "What to do:" in result.output
    assert "- ON (Ontario)" in result.output


def test_check_without_a_connection_says_to_configure_it(app):
    result = app.test_cli_runner().invoke(args=["colcw", "check"])
    assert result.exit_code == 1 and "FAIL Connection: The connection to ConnectWise is not configured" in result.output


def test_preflight_page_shows_each_area_and_links_to_its_fix(admin_client, connected_demo):
    html = admin_client.get(BASE + "/preflight").get_data(as_text=True)
    assert 'data-area="Sales reps" data-ok="no"' in html
    assert 'data-area="Connection" data-ok="yes"' in html
    assert f'href="{BASE}/reps"' in html and re.search(r"\d+ areas? would make exports fail", html)


def test_preflight_when_connectwise_is_unreachable_says_so(admin_client, connected_demo):
    get_settings(db.session).site_url = "http://127.0.0.1:9"
    db.session.commit()
    html = admin_client.get(BASE + "/preflight").get_data(as_text=True)
    assert 'data-area="Connection" data-ok="no"' in html and "ConnectWise could not be read" in html


def test_lines_without_a_subcategory_need_their_own_mapping_row(app, connected_demo, demo_client):
    from colcw_plugin.setup.catalog_rules import CatalogRules

    add_document_lines([("Cisco", "Services", "", "Labor")])
    lookups = load_lookups(demo_client)
    settings = get_settings(db.session)
    settings.category_mode = "mapping"  # Auto-map fills the table only while it is used
    automap(db.session, lookups, "tests")
    gaps = [CategoryChoice(c, s, "Hardware", "Storage") for c, s in demo_data.CATEGORIES_MISSING_IN_CW]
    save_categories(db.session, settings, "mapping", gaps, lookups, "tests")
    items = _areas(run_preflight(db.session, lookups))["Categories"].items
    assert items == ["Services (lines without a sub-category) is not mapped"]
    save_categories(db.session, settings, "mapping", [CategoryChoice("Services", "", "Service", "Support")], lookups,
                    "tests")
    assert _areas(run_preflight(db.session, lookups))["Categories"].ok
    assert CatalogRules.load(db.session, settings).category_for("Services", "")[0].name == "Service"
    assert CatalogRules.load(db.session, settings).category_for("Services", "")[1].name == "Support"
