"""A Country ConnectWise refuses says what to type: the ConnectWise country whose ISO code or common short form the
customer's value is ("US", "USA" → United States, "UK" → United Kingdom), else a few countries ConnectWise accepts. It
said "Correct the customer's Country in ChannelOnline and export again" with no hint of what ConnectWise takes. The
export still sends the customer's Country as typed: ChannelOnline's value is never changed behind the rep's back."""

from __future__ import annotations

import pytest
from customer_support import companies, export, make_customer
from sqlalchemy import select

from colcw_plugin.models import SyncItem
from colcw_plugin.sync.shared.countries import hint, matching
from host_stub.extensions import db
from host_stub.models import Customer


def _result(run) -> SyncItem:
    return db.session.execute(select(SyncItem).where(SyncItem.run_id == run.id, SyncItem.entity == "customer")
                              ).scalar_one()


@pytest.mark.parametrize(("typed", "named"), [("US", "United States"), ("USA", "United States"),
                                              ("U.S.A.", "United States"), ("UK", "United Kingdom")])
def test_a_country_code_is_refused_naming_connectwises_country(sync_ready, typed, named):
    customer = make_customer(country=typed)
    item = _result(export(customer.id))
    assert item.action == "failed"
    assert item.message.startswith("Acme Corp (ACME1): ConnectWise refused the Country of Acme Corp (ConnectWise's "
                                   "answer: "), item.message
    assert item.message.endswith(f"Country '{typed}' not found); did you mean “{named}”?)."), item.message
    assert item.resolution == (f"Correct the customer's Country in ChannelOnline (type {named}, as ConnectWise names "
                               "it) and export again."), item.resolution
    assert companies(sync_ready) == []
    assert db.session.get(Customer, customer.id).country == typed  # ChannelOnline's value left as the rep typed it

    db.session.get(Customer, customer.id).country = named  # the rep types what it said: the export goes through
    db.session.commit()
    assert _result(export(customer.id)).action == "created"


def test_a_country_matching_none_lists_some_connectwise_accepts(sync_ready):
    customer = make_customer(country="Untied Sates")
    item = _result(export(customer.id))
    assert item.action == "failed"
    assert item.message.endswith("Country 'Untied Sates' not found); ConnectWise's countries include United States, "
                                 "Australia, Canada, France, Germany, India, Ireland, Mexico and 4 more)."), item.message
    assert item.resolution == ("Correct the customer's Country in ChannelOnline (type a country as ConnectWise names "
                               "it) and export again.")


def test_a_code_two_countries_share_names_neither():
    rows = [{"name": "Georgia", "countryCode": "GE"}, {"name": "Georgia (country)", "coreEntityCountryCode": "GE"}]
    assert matching("GE", rows) is None
    assert matching("georgia", rows) == "Georgia"
    assert hint("GE", [{"name": "Gone", "countryCode": "GE", "disabled": True}]) == ("", "")
