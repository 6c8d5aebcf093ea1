"""What new opportunities get: which of ConnectWise's rows can be chosen, what is wrong with a saved choice, and
what ConnectWise's refusal of a new opportunity means for these settings (no ConnectWise, no database)."""

from __future__ import annotations

from colcw_plugin.cw import FieldError
from colcw_plugin.setup.opportunity_defaults import (
    STAGE,
    STATUS,
    TYPE,
    Chosen,
    NewOpportunityValues,
    options,
    problem,
    refused_create,
)

STATUSES = [
    {"id": 1, "name": "Open", "defaultFlag": True},
    {"id": 2, "name": "Won", "wonFlag": True, "closedFlag": True},
    {"id": 3, "name": "No Decision", "closedFlag": True},
    {"id": 4, "name": "Qualified"},
    {"id": 5, "name": "Parked", "inactiveFlag": True},
]
TYPES = [{"id": 7, "description": "Renewal"}, {"id": 8, "description": "Old", "inactiveFlag": True},
         {"id": 9, "description": "New Business"}]
STAGES = [{"id": 21, "name": "3.Proposal", "sequenceNumber": 3}, {"id": 20, "name": "1.Prospect", "sequenceNumber": 1}]


def test_only_active_open_statuses_and_active_types_are_offered_stages_in_pipeline_order():
    assert [o.label for o in options(STATUS, STATUSES)] == ["Open", "Qualified"]
    assert [o.label for o in options(TYPE, TYPES)] == ["New Business", "Renewal"]
    assert [o.label for o in options(STAGE, STAGES)] == ["1.Prospect", "3.Proposal"]
    # A saved choice ConnectWise no longer accepts stays listed, marked.
    assert options(TYPE, TYPES, Chosen(TYPE, 8, "Old"))[-1].label == "Old (inactive)"
    assert options(STATUS, STATUSES, Chosen(STATUS, 2, "Won"))[-1].label == "Won (marked Won and closed, not open)"


def test_a_choice_is_wrong_when_gone_inactive_or_not_open():
    assert problem(Chosen(TYPE, 7, "Renewal"), TYPES) is None
    assert problem(Chosen(TYPE, 99, "Pilot"), TYPES).message == (
        "The opportunity type “Pilot” chosen for new opportunities no longer exists in ConnectWise.")
    assert problem(Chosen(TYPE, 8, ""), TYPES).message == (
        "The opportunity type “Old” chosen for new opportunities is inactive in ConnectWise.")
    assert "is marked closed, not open" in problem(Chosen(STATUS, 3, "No Decision"), STATUSES).message
    assert "is inactive" in problem(Chosen(STATUS, 5, "Parked"), STATUSES).message


def test_connectwise_refusing_a_mandatory_field_left_to_its_default_points_at_the_setting():
    required = [FieldError("NullValue", "The type field is required.", "opportunity", "type")]
    refusal = refused_create(required, NewOpportunityValues(), "Deal")
    assert refusal.message.startswith("ConnectWise refused to create the opportunity “Deal”: this tenant requires "
                                      "an opportunity type on every opportunity")
    assert refusal.fix == ("Choose the type new opportunities get under Admin → Integration → ConnectWise → New "
                           "opportunities, then export again.")
    gone = [FieldError("NotFound", "Opportunity Type 7 not found", "opportunity", "type/id")]
    chosen = NewOpportunityValues(type=Chosen(TYPE, 7, "Renewal"))
    assert refused_create(gone, chosen, "Deal").message == (
        "The opportunity type “Renewal” chosen for new opportunities no longer exists in ConnectWise.")
    other = [FieldError("NullValue", "The name field is required.", "opportunity", "name")]
    assert refused_create(other, NewOpportunityValues(), "Deal") is None  # not these settings' to fix
