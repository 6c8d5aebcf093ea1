"""A run's Records line names any kind of record in its plural: "companies: 2 created", never "companys"."""

from __future__ import annotations

import pytest

from colcw_plugin.models import summarize_counts
from colcw_plugin.models.runs import plural_of


@pytest.mark.parametrize(("one", "many"), [
    ("company", "companies"), ("category", "categories"), ("opportunity", "opportunities"), ("key", "keys"),
    ("address", "addresses"), ("match", "matches"), ("box", "boxes"), ("pair", "pairs"), ("customer", "customers"),
    ("document", "quotes / orders"), ("quote / order", "quotes / orders"), ("line", "lines")])
def test_plural_of_any_kind(one, many):
    assert plural_of(one) == many


def test_records_line_names_unnamed_kinds_in_the_plural():
    said = summarize_counts({"company": {"created": 2}, "category": {"updated": 1}, "contact": {"failed": 1}},
                            {"created": 2, "updated": 1, "failed": 1})
    assert said == "contacts: 1 failed; companies: 2 created; categories: 1 updated"
    assert "companys" not in said and "categorys" not in said
