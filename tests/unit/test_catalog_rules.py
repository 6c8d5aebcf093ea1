"""The one reader of the product mappings: what a host line's type, category and manufacturer become."""

from __future__ import annotations

from colcw_plugin.models import CategoryMapping, ManufacturerAlias, ProductTypeMapping
from colcw_plugin.setup.catalog_rules import CatalogRules, Target
from colcw_plugin.setup.connection import get_settings


def test_an_alias_wins_over_a_same_named_manufacturer_and_other_names_pass_through(session):
    session.add_all([ManufacturerAlias(host_name="Dell", cw_manufacturer_name="Dell Technologies",
                                       cw_manufacturer_id=9),
                     ManufacturerAlias(host_name="HP", cw_manufacturer_name="")])  # a cleared alias
    rules = CatalogRules.load(session, get_settings(session))
    assert rules.manufacturer_for("Dell") == Target("Dell Technologies", 9)
    assert rules.manufacturer_for("HP") == Target("HP") and rules.alias_for("HP") is None
    assert rules.manufacturer_for("Lenovo") == Target("Lenovo")


def test_product_types_map_only_when_named(session):
    session.add_all([ProductTypeMapping(host_type="Product", cw_type_name="Hardware", cw_type_id=3),
                     ProductTypeMapping(host_type="Labor", cw_type_name="")])
    rules = CatalogRules.load(session, get_settings(session))
    assert rules.product_type_for("Product") == Target("Hardware", 3)
    assert rules.product_type_for("Labor") is None and rules.product_type_for("Service") is None


def test_names_mode_uses_the_lines_own_category_and_needs_a_subcategory(session):
    rules = CatalogRules.load(session, get_settings(session))
    assert not rules.by_mapping
    assert rules.category_for("Hardware", "Desktops") == (Target("Hardware"), Target("Desktops"))
    assert rules.category_for("Hardware", "") is None


def test_mapping_mode_uses_only_the_row_for_exactly_that_pair(session):
    settings = get_settings(session)
    settings.category_mode = "mapping"
    session.add(CategoryMapping(host_category="Power", host_subcategory="PDUs", cw_category_name="Hardware",
                                cw_category_id=1, cw_subcategory_name="Storage", cw_subcategory_id=4))
    rules = CatalogRules.load(session, settings)
    assert rules.category_for("Power", "PDUs") == (Target("Hardware", 1), Target("Storage", 4))
    assert rules.category_for("Power", "UPS") is None
    assert rules.category_for("Hardware", "Desktops") is None  # the line's own names are not used
