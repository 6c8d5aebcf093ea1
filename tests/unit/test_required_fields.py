"""What colcw remembers of ConnectWise refusing an opportunity because the tenant makes a field mandatory: one row
per field however often it is refused, shown while the field is left to ConnectWise's default, forgotten once an
opportunity is created without it (a plain SQLite session)."""

from __future__ import annotations

from sqlalchemy import select

from colcw_plugin.models import RequiredField
from colcw_plugin.setup.opportunity_defaults import (
    STAGE,
    TYPE,
    Chosen,
    Missing,
    NewOpportunityValues,
    forget_required,
    remember_required,
    required_problem,
)

DEFAULTS = NewOpportunityValues()


def test_a_refusal_is_remembered_once_per_field_and_says_the_latest(session):
    remember_required(session, Missing((TYPE,), "First deal"), "Q1001")
    session.commit()
    remember_required(session, Missing((TYPE, STAGE), "Second deal"), "Q1002")
    session.commit()
    rows = session.execute(select(RequiredField.field, RequiredField.opportunity_name, RequiredField.document_number)
                           .order_by(RequiredField.field)).all()
    assert rows == [("stage", "Second deal", "Q1002"), ("type", "Second deal", "Q1002")]
    said = required_problem(session, DEFAULTS)
    assert (said.kinds, said.opportunity, said.document) == ((TYPE, STAGE), "Second deal", "Q1002")
    assert said.message == ("ConnectWise refused to create the opportunity “Second deal”: this tenant requires an "
                            "opportunity type and stage on every opportunity, and they are not chosen for the "
                            "opportunities colcw creates (left to ConnectWise's default).")
    assert said.fix == ("Choose the type and stage new opportunities get under Admin → Integration → ConnectWise → "
                        "New opportunities, then export again.")


def test_a_chosen_value_hides_its_field_and_a_creation_without_it_forgets_it(session):
    remember_required(session, Missing((TYPE, STAGE), "Deal", "update"), "SO1")
    session.commit()
    typed = NewOpportunityValues(type=Chosen(TYPE, 7, "Renewal"))
    assert required_problem(session, typed).kinds == (STAGE,)
    both = NewOpportunityValues(type=Chosen(TYPE, 7, "Renewal"), stage=Chosen(STAGE, 3, "3.Proposal"))
    assert required_problem(session, both) is None
    forget_required(session, [STAGE])  # created with a type, without a stage
    session.commit()
    assert required_problem(session, typed) is None
    assert required_problem(session, DEFAULTS).kinds == (TYPE,)
    forget_required(session, [TYPE, STAGE])
    session.commit()
    assert required_problem(session, DEFAULTS) is None
