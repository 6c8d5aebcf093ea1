"""A category, sub-category or product type ConnectWise has but marks inactive (an admin deactivated it there): the
export looked them up by name (or used the mapping's saved id) without reading ``inactiveFlag``, and created catalog
items under them. Whether real ConnectWise refuses or accepts such a catalog item is not documented (the schemas only
have the flag; API-NOTES says nothing of it) and the sandbox accepts it, so the export refuses the line itself, naming
the record, why, and what to do (activate it there, or map the line elsewhere), and writes nothing to ConnectWise."""

from __future__ import annotations

from quote_support import items, line

from colcw_plugin.models import CategoryMapping
from colcw_plugin.setup.connection import get_settings
from host_stub.extensions import db

WHERE = "System → Setup Tables → Products → Category / Sub Category"


def _deactivate(world, path: str, name: str) -> dict:
    """As a ConnectWise admin would: the record named ``name`` under ``path`` marked inactive."""
    [record] = [r for r in world.api(path) if r["name"] == name]
    resp = world.sandbox.api("PATCH", f"{path}/{record['id']}",
                             json=[{"op": "replace", "path": "inactiveFlag", "value": True}])
    assert resp.status_code == 200, resp.text
    return record


def _refused(world, doc) -> tuple[str, str]:
    """The export's one line problem (message, fix), having checked nothing reached ConnectWise."""
    run = world.export(doc.id)
    assert run.status == "failed", run.message
    [problem] = items(run, "line")
    assert world.opportunities() == []
    for ln in doc.lines:
        assert world.api("procurement/catalog", conditions=f'identifier="{ln.item_number}"') == []
    return problem.message, problem.resolution


CANNOT = "Line 1 (NEW-PC-1) is not in the ConnectWise catalog and cannot be created: "


def test_an_inactive_category_by_name_is_refused_naming_it(world):
    _deactivate(world, "procurement/categories", "Hardware")
    message, fix = _refused(world, world.quote([line("NEW-PC-1")]))
    assert message == CANNOT + "the category “Hardware” is in ConnectWise but marked inactive."
    assert fix.startswith(f"Activate the category “Hardware” in ConnectWise ({WHERE}), or map Hardware / Desktops "
                          "to an existing one: choose “Use the mapping below” on Product integration mapping → "
                          "Categories")


def test_an_inactive_sub_category_by_name_is_refused_naming_it(world):
    _deactivate(world, "procurement/subcategories", "Desktops")
    message, fix = _refused(world, world.quote([line("NEW-PC-1")]))
    assert message == CANNOT + "the sub-category “Desktops” of Hardware is in ConnectWise but marked inactive."
    assert fix.startswith(f"Activate the sub-category “Desktops” of Hardware in ConnectWise ({WHERE}), or map ")


def test_a_mapped_sub_category_or_category_inactive_since_it_was_mapped_is_refused(world):
    """A mapping saved with ids (as the page saves it, while they were active) is checked by id."""
    [hardware] = [c for c in world.api("procurement/categories") if c["name"] == "Hardware"]
    servers = _deactivate(world, "procurement/subcategories", "Servers")
    get_settings(db.session).category_mode = "mapping"
    db.session.add(CategoryMapping(host_category="Hardware", host_subcategory="Desktops",
                                   cw_category_id=hardware["id"], cw_category_name="Hardware",
                                   cw_subcategory_id=servers["id"], cw_subcategory_name="Servers"))
    db.session.commit()
    message, fix = _refused(world, world.quote([line("NEW-PC-1")]))
    assert message == CANNOT + ("Hardware / Desktops is mapped to Hardware / Servers, and the sub-category “Servers” "
                                "of Hardware is in ConnectWise but marked inactive.")
    assert fix == (f"Activate the sub-category “Servers” of Hardware in ConnectWise ({WHERE}), or map Hardware / "
                   "Desktops to another one (Product integration mapping → Categories).")

    resp = world.sandbox.api("PATCH", f"procurement/subcategories/{servers['id']}",
                             json=[{"op": "replace", "path": "inactiveFlag", "value": False}])
    assert resp.status_code == 200, resp.text
    _deactivate(world, "procurement/categories", "Hardware")
    message, _ = _refused(world, world.quote([line("NEW-PC-1")], name="Second"))
    assert message == CANNOT + ("Hardware / Desktops is mapped to Hardware / Servers, and the category “Hardware” is "
                                "in ConnectWise but marked inactive.")


def test_a_mapped_product_type_inactive_since_it_was_mapped_is_refused(world):
    _deactivate(world, "procurement/types", "Hardware")  # Product is mapped to it, with its id
    message, fix = _refused(world, world.quote([line("NEW-PC-1")]))
    assert message == CANNOT + "Product is mapped to the product type “Hardware”, which ConnectWise has but marks " \
                               "inactive."
    assert fix == ("Activate “Hardware” in ConnectWise (System → Setup Tables → Products → Product Type), or map "
                   "Product to another ConnectWise product type (Product integration mapping → Product types), or "
                   "add NEW-PC-1 to the ConnectWise catalog.")


def test_active_ones_still_create_the_item(world):
    """(the control: the same line with nothing deactivated is created under them)"""
    run = world.export(world.quote([line("NEW-PC-1")]).id)
    assert run.status == "succeeded", run.message
    [item] = world.api("procurement/catalog", conditions='identifier="NEW-PC-1"')
    assert (item["category"]["name"], item["subcategory"]["name"]) == ("Hardware", "Desktops")
