"""The re-export contract, as a plan: which products a document's lines update, add and remove."""

from __future__ import annotations

from decimal import Decimal

from colcw_plugin.sync.quotes.catalog import LineInput
from colcw_plugin.sync.quotes.lines import Desired, marker, parse_marker, plan_lines

DOC = 7


def want(line_id: int, position: int, catalog_id: int, *, qty="1", price="100", cost="60",
         description="Desk") -> Desired:
    return Desired(LineInput(line_id, position, f"ITEM-{line_id}", "Dell", description, "Hardware", "Desktops",
                             "Product", Decimal(qty), Decimal(cost), Decimal(price)), catalog_id)


def product(pid: int, line_id: int | None, catalog_id: int, *, doc: int = DOC, qty=1.0, price=100.0, cost=60.0,
            description="Desk", seq=1.0) -> dict:
    return {"id": pid, "catalogItem": {"id": catalog_id}, "quantity": qty, "price": price, "cost": cost,
            "description": description, "sequenceNumber": seq,
            "integrationXRef": marker(doc, line_id) if line_id is not None else None}


def test_a_new_document_creates_every_line():
    plan = plan_lines(DOC, [want(1, 1, 11), want(2, 2, 12)], [])
    assert [d.line.line_id for d in plan.create] == [1, 2] and not plan.update and not plan.delete


def test_an_unchanged_line_is_kept_and_a_changed_one_updated_in_place_to_the_cent():
    products = [product(100, 1, 11), product(101, 2, 12, price=100.004, seq=2.0)]
    plan = plan_lines(DOC, [want(1, 1, 11, qty="3"), want(2, 2, 12)], products)
    assert [(pid, changes) for pid, _, changes in plan.update] == [(100, {"quantity": 3.0})]
    assert [pid for pid, _ in plan.keep] == [101] and not plan.create and not plan.delete


def test_a_removed_line_is_removed_and_lines_after_it_are_renumbered():
    products = [product(100, 1, 11), product(101, 2, 12, seq=2.0)]
    plan = plan_lines(DOC, [want(2, 1, 12)], products)
    assert plan.delete == [100]
    assert [(pid, changes) for pid, _, changes in plan.update] == [(101, {"sequenceNumber": 1.0})]


def test_a_line_is_never_duplicated_even_when_a_past_crash_left_two():
    products = [product(100, 1, 11), product(105, 1, 11)]
    plan = plan_lines(DOC, [want(1, 1, 11)], products)
    assert plan.delete == [105] and [pid for pid, _ in plan.keep] == [100] and not plan.create


def test_a_line_that_now_names_another_item_replaces_its_product():
    plan = plan_lines(DOC, [want(1, 1, 99)], [product(100, 1, 11)])
    assert plan.delete == [100] and [d.catalog_item_id for d in plan.create] == [99]


def test_lines_added_by_hand_and_other_documents_lines_are_left_alone():
    products = [product(200, None, 11), product(201, 1, 11, doc=8), {"id": 202, "integrationXRef": "other:1"}]
    plan = plan_lines(DOC, [want(1, 1, 11)], products)
    assert not plan.delete and not plan.update and [d.line.line_id for d in plan.create] == [1]


def test_a_sales_order_adopts_its_quotes_products_instead_of_adding_copies():
    quote_products = [product(300, 41, 11, doc=4), product(301, 42, 12, doc=4, seq=2.0), product(302, 43, 13, doc=4)]
    plan = plan_lines(DOC, [want(1, 1, 11), want(2, 2, 12)], quote_products, adopt_from={4})
    adopted = {pid: changes["integrationXRef"] for pid, _, changes in plan.update}
    assert adopted == {300: marker(DOC, 1), 301: marker(DOC, 2)}
    assert plan.delete == [302] and not plan.create  # a quote line the order no longer has goes


def test_markers_round_trip_and_foreign_values_are_not_markers():
    assert parse_marker(marker(12, 34)) == (12, 34)
    assert parse_marker("colcw:x:1") is None and parse_marker(None) is None and parse_marker("colcw:1:2:3") is None
