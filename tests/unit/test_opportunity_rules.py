"""Opportunity resolution rules: statuses by ConnectWise's flags (never names), exact-name matches,
the new opportunity's body."""

from __future__ import annotations

import pytest

from colcw_plugin.sync.quotes.opportunities import (
    OpportunitySetup,
    choose_match,
    new_opportunity_body,
    pick_open_status,
    pick_won_status,
)
from colcw_plugin.sync.quotes.problems import ExportRefused

STATUSES = [
    {"id": 1, "name": "Won", "wonFlag": False, "closedFlag": False, "lostFlag": False},  # named like it only
    {"id": 2, "name": "Nouveau", "wonFlag": False, "closedFlag": False, "lostFlag": False, "defaultFlag": True},
    {"id": 3, "name": "Closed - Gagné", "wonFlag": True, "closedFlag": True, "lostFlag": False},
    {"id": 4, "name": "Lost", "wonFlag": False, "closedFlag": True, "lostFlag": True},
    {"id": 5, "name": "Old won", "wonFlag": True, "closedFlag": True, "inactiveFlag": True},
]


class Lists:
    """The shared reference cache's interface, holding fixed lists (no ConnectWise request)."""

    def __init__(self, **rows):
        self.rows_by_key = rows
        self.fresh_reads: list[str] = []  # the keys read from ConnectWise itself (here: the same fixed lists)

    def rows(self, key, fetch, fresh=False):
        if fresh:
            self.fresh_reads.append(key)
        return self.rows_by_key[key]


def test_open_and_won_come_from_flags_not_names_and_inactive_ones_are_skipped():
    assert pick_open_status(STATUSES)["id"] == 2  # the default open one, not the one named "Won"
    assert pick_won_status(STATUSES)["id"] == 3
    assert pick_won_status([s for s in STATUSES if s["id"] != 3]) is None  # only an inactive won one is left


def test_the_setup_reads_the_shared_lists_and_refuses_a_tenant_without_a_won_status():
    setup = OpportunitySetup(client=None, shared=Lists(statuses=STATUSES))
    assert setup.is_won({"id": 3}) and not setup.is_won({"id": 1}) and setup.is_closed({"id": 4})
    assert setup.won_status()["id"] == 3 and setup.shared.fresh_reads == []  # found: no read of ConnectWise's own
    bare = OpportunitySetup(client=None, shared=Lists(statuses=STATUSES[:2]))
    with pytest.raises(ExportRefused, match="no opportunity status marked Won"):
        bare.won_status()
    assert bare.shared.fresh_reads == ["statuses"]  # refused only after ConnectWise's own list said it too


def test_of_several_same_named_opportunities_the_one_open_one_is_chosen_else_the_export_refuses():
    setup = OpportunitySetup(client=None, shared=Lists(statuses=STATUSES))
    closed, open_ = {"id": 10, "status": {"id": 4}}, {"id": 11, "status": {"id": 2}}
    assert choose_match([], setup, "Refresh", "Acme") is None
    assert choose_match([closed], setup, "Refresh", "Acme") is closed
    assert choose_match([closed, open_], setup, "Refresh", "Acme") is open_
    with pytest.raises(ExportRefused, match=r"Acme has 2 opportunities named \"Refresh\" .*ids 11, 12"):
        choose_match([closed, open_, {"id": 12, "status": {"id": 2}}], setup, "Refresh", "Acme")


def test_a_new_opportunity_carries_the_appendix_b_fields_and_only_the_defaults_connectwise_has():
    body = new_opportunity_body(name="Refresh", company_id=1, contact_id=2, member_id=3, location_id=None,
                                department_id=5, status={"id": 2}, type_=None, stage={"id": 7},
                                expected_close="2026-12-31T00:00:00Z", notes="From Q1001")
    assert body == {"name": "Refresh", "company": {"id": 1}, "contact": {"id": 2}, "primarySalesRep": {"id": 3},
                    "status": {"id": 2}, "notes": "From Q1001", "source": "ChannelOnline", "businessUnitId": 5,
                    "stage": {"id": 7}, "expectedCloseDate": "2026-12-31T00:00:00Z"}
