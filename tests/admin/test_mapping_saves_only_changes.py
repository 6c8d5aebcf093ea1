"""Two admins on the same mapping page: a save applies only the rows its admin changed, and a row another save
changed since the page was loaded is refused with what that save set, not overwritten (sales reps, product types,
categories, manufacturer aliases); a rep whose member ConnectWise lost shows as a problem and no longer blocks
saving the other rows."""

from __future__ import annotations

import html as html_lib
import json
import re

import pytest
from admin_support import BASE, add_document_lines, form_fields, page_form, rep_mapping, user
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from colcw_plugin.models import CategoryMapping, ManufacturerAlias, ProductTypeMapping, RepMapping
from colcw_plugin.setup.common import ChangedSince
from colcw_plugin.setup.connection import get_settings
from colcw_plugin.setup.reps import RepChoice, rep_mappings, save_rep_mappings
from helpers import sign_in
from host_stub.extensions import db
from host_stub.models import User


class _OtherBrowser:
    """A second admin's browser: each request in an app context of its own (Flask-WTF keeps the CSRF token in g)."""

    def __init__(self, app):
        self.app = app
        with app.app_context():
            self.client = sign_in(app.test_client(), "admin@demo.example")

    def get(self, *args, **kwargs):
        with self.app.app_context():
            return self.client.get(*args, **kwargs)

    def post(self, *args, **kwargs):
        with self.app.app_context():
            return self.client.post(*args, **kwargs)


def _second_admin(app) -> _OtherBrowser:
    return _OtherBrowser(app)


def _text(resp) -> str:
    return html_lib.unescape(resp.get_data(as_text=True))


def test_a_rep_save_keeps_rows_the_admin_did_not_touch(app, admin_client, connected_demo):
    riley, sam = user("riley@demo.example"), user("sam@demo.example")
    assert admin_client.post(BASE + "/reps", data={**page_form(admin_client, "/reps", "save-reps"),
                                                   f"member-{riley.id}": "rrep"}).status_code == 302
    other = _second_admin(app)
    first, second = page_form(admin_client, "/reps", "save-reps"), page_form(other, "/reps", "save-reps")

    first[f"member-{sam.id}"] = "rrep"
    assert admin_client.post(BASE + "/reps", data=first).status_code == 302
    second[f"location-{riley.id}"] = "Remote Office"
    resp = other.post(BASE + "/reps", data=second)

    assert resp.status_code == 302
    assert rep_mapping(sam) == ("rrep", "Main", "Sales")  # admin 1's save stands
    assert rep_mapping(riley) == ("rrep", "Remote Office", "Sales")


def test_a_rep_another_save_changed_is_refused_with_what_it_set_and_saving_again_replaces_it(
        app, admin_client, connected_demo):
    riley, sam = user("riley@demo.example"), user("sam@demo.example")
    other = _second_admin(app)
    first, second = page_form(admin_client, "/reps", "save-reps"), page_form(other, "/reps", "save-reps")
    first[f"member-{sam.id}"] = "rrep"
    assert admin_client.post(BASE + "/reps", data=first).status_code == 302

    second[f"member-{sam.id}"], second[f"member-{riley.id}"] = "ddefault", "rrep"
    resp = other.post(BASE + "/reps", data=second)
    page = _text(resp)
    assert resp.status_code == 400
    assert ("Another save changed Sam Sales after you opened this page: it is now mapped to rrep (Main / Sales). "
            "Your choice, mapped to ddefault, was not saved. Save again to replace it with your choice, or choose "
            "theirs in this row to keep it.") in page
    assert rep_mapping(sam) == ("rrep", "Main", "Sales") and rep_mapping(riley) is None  # nothing saved
    assert '<option selected value="ddefault">' in page  # the admin's choice is kept on the page

    # Saving the page as shown again replaces the other save's choice on purpose.
    again = page_form(other, "/reps", "save-reps") | {f"member-{sam.id}": "ddefault", f"member-{riley.id}": "rrep",
                                                     f"was-{sam.id}": json.dumps(["rrep", "Main", "Sales"])}
    assert other.post(BASE + "/reps", data=again).status_code == 302
    assert rep_mapping(sam)[0] == "ddefault" and rep_mapping(riley)[0] == "rrep"


def test_a_save_sees_what_another_process_committed_after_its_page_read_the_rows(app):
    """Another web process commits between this request reading the mappings (to build its form) and its save
    taking the lock: the save compares with what the database holds now, not with the rows it read before."""
    sam = user("sam@demo.example")
    db.session.add(RepMapping(user_id=sam.id, member_identifier="rrep", location_name="Main", department_name="Sales"))
    db.session.commit()
    loaded = rep_mappings(db.session)  # this request has read Sam's row, and holds it
    with Session(db.engine) as elsewhere:  # another process saves Sam
        elsewhere.execute(update(RepMapping).where(RepMapping.user_id == sam.id).values(member_identifier="ddefault"))
        elsewhere.commit()
    choice = RepChoice(sam.id, "aadmin", "Main", "Sales", shown=("rrep", "Main", "Sales"))
    with pytest.raises(ChangedSince) as refused:
        save_rep_mappings(db.session, [choice], None, "tests")
    db.session.rollback()
    assert refused.value.now == {sam.id: ("ddefault", "Main", "Sales")}
    assert rep_mapping(sam) == ("ddefault", "Main", "Sales") and loaded[sam.id].member_identifier == "ddefault"


def _lost_member(user: User) -> None:
    """``user`` mapped (verified) to a member the tenant no longer has."""
    db.session.add(RepMapping(user_id=user.id, member_identifier="gone", member_id=999, location_name="Main",
                              location_id=1, department_name="Sales", department_id=1))
    db.session.commit()


def test_a_rep_whose_member_connectwise_lost_shows_as_a_problem(admin_client, connected_demo):
    sam = user("sam@demo.example")
    _lost_member(sam)
    page = _text(admin_client.get(BASE + "/reps"))
    start = page.index(f'id="rep-{sam.id}"')
    row = page[start:page.index("</tr>", start)]
    assert "gone (not in ConnectWise)" in row
    assert "member not in ConnectWise: choose another member or clear it" in row
    assert ">mapped<" not in row


def test_a_rep_whose_member_connectwise_lost_does_not_block_saving_other_rows(admin_client, connected_demo):
    riley, sam = user("riley@demo.example"), user("sam@demo.example")
    _lost_member(sam)
    form = page_form(admin_client, "/reps", "save-reps")
    form[f"member-{riley.id}"] = "rrep"
    assert admin_client.post(BASE + "/reps", data=form).status_code == 302
    assert rep_mapping(riley) == ("rrep", "Main", "Sales")
    assert rep_mapping(sam) == ("gone", "Main", "Sales")  # untouched: still reported, not cleared
    get_settings(db.session).use_logged_in_rep = True  # the pre-flight check then checks every rep
    db.session.commit()
    preflight = _text(admin_client.get(BASE + "/preflight"))
    assert "Sam Sales: member gone is no longer active in ConnectWise" in preflight


def _types() -> dict[str, str]:
    db.session.expire_all()
    return {m.host_type: m.cw_type_name for m in db.session.execute(select(ProductTypeMapping)).scalars()}


def _aliases() -> dict[str, str]:
    db.session.expire_all()
    return {a.host_name: a.cw_manufacturer_name for a in db.session.execute(select(ManufacturerAlias)).scalars()}


def test_product_types_keep_a_type_another_save_set(app, admin_client, connected_demo):
    other = _second_admin(app)
    first, second = (page_form(admin_client, "/products", "save-types"),
                     page_form(other, "/products", "save-types"))
    first["type-Product"] = "Hardware"
    assert admin_client.post(BASE + "/products", data=first).status_code == 302
    second["type-Service"] = "Service"
    assert other.post(BASE + "/products", data=second).status_code == 302
    assert _types() == {"Product": "Hardware", "Service": "Service"}

    third = page_form(other, "/products", "save-types")
    first = page_form(admin_client, "/products", "save-types") | {"type-Service": "Labor"}
    assert admin_client.post(BASE + "/products", data=first).status_code == 302
    resp = other.post(BASE + "/products", data=third | {"type-Service": "Product"})
    assert resp.status_code == 400
    assert ("Another save changed Service after you opened this page: it is now Labor. Your choice, Product, was "
            "not saved.") in _text(resp)
    assert _types()["Service"] == "Labor"
    again = form_fields(resp.get_data(as_text=True), "save-types")  # the page as refused, the choice kept
    assert again["type-Service"] == "Product"
    assert other.post(BASE + "/products", data=again).status_code == 302
    assert _types()["Service"] == "Product"


def _categories() -> dict:
    db.session.expire_all()
    return {(m.host_category, m.host_subcategory): (m.cw_category_name, m.cw_subcategory_name)
            for m in db.session.execute(select(CategoryMapping)).scalars()}


def _target(form: dict, pair: tuple[str, str]) -> str:
    n = next(k.split("-")[1] for k, v in form.items() if k.startswith("hostcat-") and v == pair[0]
             and form[f"hostsub-{k.split('-')[1]}"] == pair[1])
    return f"target-{n}"


def test_categories_keep_rows_another_save_set_and_refuse_a_row_it_changed(app, admin_client, connected_demo):
    subcategories = connected_demo.api("GET", "procurement/subcategories/", params={"pageSize": 1000}).json()
    storage = str(next(r["id"] for r in subcategories if r["name"] == "Storage"))
    other_sub = next(r for r in subcategories if r["name"] != "Storage")
    another = str(other_sub["id"])
    other = _second_admin(app)
    first = page_form(admin_client, "/products", "save-categories")
    second = page_form(other, "/products", "save-categories")
    first["category_mode"] = "mapping"
    first[_target(first, ("Power", "PDUs"))] = storage
    assert admin_client.post(BASE + "/products", data=first).status_code == 302
    second[_target(second, ("Power", "UPS"))] = storage
    assert other.post(BASE + "/products", data=second).status_code == 302
    assert _categories() == {("Power", "PDUs"): ("Hardware", "Storage"), ("Power", "UPS"): ("Hardware", "Storage")}
    assert get_settings(db.session).category_mode == "mapping"  # admin 2 did not touch the mode

    stale = page_form(other, "/products", "save-categories")
    fresh = page_form(admin_client, "/products", "save-categories")
    fresh[_target(fresh, ("Power", "PDUs"))] = ""
    assert admin_client.post(BASE + "/products", data=fresh).status_code == 302
    stale[_target(stale, ("Power", "PDUs"))] = another
    resp = other.post(BASE + "/products", data=stale)
    assert resp.status_code == 400
    assert "Another save changed Power / PDUs after you opened this page: it is now not mapped." in _text(resp)
    assert ("Power", "PDUs") not in _categories()
    again = form_fields(resp.get_data(as_text=True), "save-categories")
    assert other.post(BASE + "/products", data=again).status_code == 302
    assert _categories()[("Power", "PDUs")][1] == other_sub["name"]


def test_manufacturer_aliases_keep_an_alias_another_save_set(app, admin_client, connected_demo):
    add_document_lines([("Acme Widgets", "Peripherals", "Monitors", "Product"),
                        ("NorthPeak Cables", "Cables & Adapters", "Fiber", "Product")])
    other = _second_admin(app)
    first = page_form(admin_client, "/products", "save-manufacturers")
    second = page_form(other, "/products", "save-manufacturers")
    row = {v: k.split("-")[1] for k, v in first.items() if k.startswith("alias_host-")}
    first[f"alias_cw-{row['Acme Widgets']}"] = "Belkin"
    assert admin_client.post(BASE + "/products", data=first).status_code == 302
    second[f"alias_cw-{row['NorthPeak Cables']}"] = "Belkin"
    assert other.post(BASE + "/products", data=second).status_code == 302
    assert _aliases() == {"Acme Widgets": "Belkin", "NorthPeak Cables": "Belkin"}

    # A row changed since: refused, naming what the other save set; the admin's pick stays on the page.
    stale = page_form(other, "/products", "save-manufacturers")
    row = {v: k.split("-")[1] for k, v in stale.items() if k.startswith("alias_host-")}
    fresh = page_form(admin_client, "/products", "save-manufacturers")
    fresh[f"alias_cw-{row['Acme Widgets']}"] = ""
    assert admin_client.post(BASE + "/products", data=fresh).status_code == 302
    stale[f"alias_cw-{row['Acme Widgets']}"] = "Cisco"
    resp = other.post(BASE + "/products", data=stale)
    assert resp.status_code == 400
    assert ("Another save changed the alias of Acme Widgets after you opened this page: it is now no alias. Your "
            "choice, Cisco, was not saved.") in _text(resp)
    assert "Acme Widgets" not in _aliases()
    again = form_fields(resp.get_data(as_text=True), "save-manufacturers")
    assert again[f"alias_cw-{row['Acme Widgets']}"] == "Cisco"
    assert other.post(BASE + "/products", data=again).status_code == 302
    assert _aliases() == {"Acme Widgets": "Cisco", "NorthPeak Cables": "Belkin"}


def test_a_category_row_connectwise_no_longer_has_is_kept_when_the_admin_saves_other_rows(admin_client,
                                                                                           connected_demo):
    """Such a row shows no pick (ConnectWise's list lacks it): left as shown, it is kept, not cleared."""
    db.session.add(CategoryMapping(host_category="Power", host_subcategory="PDUs", cw_category_name="Gone",
                                   cw_subcategory_name="Nowhere", cw_category_id=990, cw_subcategory_id=991))
    db.session.commit()
    storage = str(next(r["id"] for r in connected_demo.api("GET", "procurement/subcategories/",
                                                           params={"pageSize": 1000}).json()
                       if r["name"] == "Storage"))
    form = page_form(admin_client, "/products", "save-categories")
    assert form[_target(form, ("Power", "PDUs"))] == ""
    form[_target(form, ("Power", "UPS"))] = storage
    assert admin_client.post(BASE + "/products", data=form).status_code == 302
    assert _categories() == {("Power", "PDUs"): ("Gone", "Nowhere"), ("Power", "UPS"): ("Hardware", "Storage")}


def test_the_rows_loaded_values_have_ids_of_their_own_across_the_products_forms(admin_client, connected_demo):
    add_document_lines([("Acme Widgets", "Peripherals", "Monitors", "Product")])
    page = admin_client.get(BASE + "/products").get_data(as_text=True)
    ids = re.findall(r'id="(was[^"]*)"', page)
    assert len(ids) > 3 and len(ids) == len(set(ids))
