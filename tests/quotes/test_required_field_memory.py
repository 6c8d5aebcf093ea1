"""A tenant that makes the opportunity type mandatory: once ConnectWise refused an export for it, the admin's
pre-flight check (and ``colcw check``), the New opportunities section and the rep's export checklist say so, with
the fix, in every process (the database remembers it), until a type is chosen or an opportunity is created
without one."""

from __future__ import annotations

from quote_support import items, line
from sqlalchemy import select
from sqlalchemy.orm import Session

from colcw_plugin.models import RequiredField
from colcw_plugin.setup.connection import build_client, read_settings
from colcw_plugin.setup.lookups import load_lookups
from colcw_plugin.setup.opportunity_defaults import NewOpportunityValues, load, required_problem
from colcw_plugin.setup.preflight import run_preflight
from colcw_plugin.sync.quotes.opportunities import OpportunitySetup
from helpers import csrf_from, sign_in
from host_stub.extensions import db

BASE = "/admin/integration/connectwise"
PAGE = "Admin → Integration → ConnectWise → New opportunities"
REFUSED = ("ConnectWise refused to create the opportunity “Mandatory deal”: this tenant requires an opportunity type "
           "on every opportunity, and none is chosen for the opportunities colcw creates (left to ConnectWise's "
           "default).")
FIX = f"Choose the type new opportunities get under {PAGE}, then export again."


def _choose(admin_client, **ids) -> None:
    token = csrf_from(admin_client.get(BASE + "/new-opportunities").get_data(as_text=True))
    data = {"type_id": "", "stage_id": "", "status_id": "", **{f"{k}_id": str(v) for k, v in ids.items()}}
    resp = admin_client.post(BASE + "/new-opportunities", data={"csrf_token": token, **data})
    assert resp.status_code == 302, resp.get_data(as_text=True)


def _type_id(world, name: str) -> int:
    return next(r["id"] for r in world.api("sales/opportunities/types") if r["description"] == name)


def _new_opportunities_check(world):
    """The pre-flight check's "New opportunities" line, as the service computes it for the page and the command."""
    db.session.expire_all()
    client = build_client(db.session, world.box)
    try:
        report = run_preflight(db.session, load_lookups(client), opportunity_lists=load(OpportunitySetup(client)))
    finally:
        client.close()
    return next(c for c in report.checks if c.area == "New opportunities")


def _refuse(world) -> None:
    world.sandbox.set_options(required_fields={"opportunities": ["type"]})
    quote = world.quote([line("OPT-7010")], name="Mandatory deal")
    run = world.export(quote.id)
    assert run.status == "failed"
    [item] = items(run)
    assert item.message == f"{quote.number} was not exported: {REFUSED}"
    return quote


def test_a_refusal_for_a_mandatory_type_shows_in_the_preflight_check_until_a_type_is_chosen(
        app, world, admin_client):
    check = _new_opportunities_check(world)
    assert check.ok  # left to ConnectWise's default, nothing refused yet
    quote = _refuse(world)

    check = _new_opportunities_check(world)
    assert not check.ok
    assert check.items == [REFUSED] and check.fix == FIX
    assert f"ConnectWise refused a new opportunity for {quote.number} on " in check.summary
    assert "it requires an opportunity type, left to ConnectWise's default here" in check.summary
    assert check.summary.endswith("so every document that needs a new opportunity is refused.")
    page = admin_client.get(BASE + "/preflight").get_data(as_text=True)
    assert 'data-area="New opportunities" data-ok="no"' in page
    assert REFUSED.replace("'", "&#39;") in page and FIX in page
    result = app.test_cli_runner().invoke(args=["colcw", "check"])
    assert result.exit_code == 1 and "FAIL New opportunities:" in result.output
    assert f"- {REFUSED}" in result.output and f"What to do: {FIX}" in result.output

    # The New opportunities section says it where the type is chosen; the rep's checklist before the export.
    section = admin_client.get(BASE + "/new-opportunities").get_data(as_text=True)
    assert 'id="new-opportunities-required"' in section and REFUSED.replace("'", "&#39;") in section
    with app.app_context():
        rep = sign_in(app.test_client(), "riley@demo.example")
        checklist = rep.get(f"/colcw/documents/{quote.id}/export").get_data(as_text=True)
    assert REFUSED.replace("'", "&#39;") in checklist and 'id="colcw-export-submit" disabled' in checklist

    # Remembered in the database: another process (a session of its own) sees it.
    with Session(db.engine) as other:
        assert required_problem(other, NewOpportunityValues.of(read_settings(other))) is not None

    renewal = _type_id(world, "Renewal")
    _choose(admin_client, type=renewal)
    check = _new_opportunities_check(world)
    assert check.ok, check.items
    page = admin_client.get(BASE + "/preflight").get_data(as_text=True)
    assert 'data-area="New opportunities" data-ok="yes"' in page and REFUSED.replace("'", "&#39;") not in page
    assert 'id="new-opportunities-required"' not in admin_client.get(BASE + "/new-opportunities").get_data(
        as_text=True)
    run = world.export(quote.id)
    assert run.status == "succeeded", run.message

    # Back to ConnectWise's default while the tenant still requires a type: the check says so again.
    _choose(admin_client)
    check = _new_opportunities_check(world)
    assert not check.ok and check.fix == FIX


def test_an_opportunity_created_without_the_type_clears_it(world, admin_client):
    quote = _refuse(world)
    assert not _new_opportunities_check(world).ok
    world.sandbox.set_options(required_fields={})  # the tenant no longer requires it
    run = world.export(quote.id)
    assert run.status == "succeeded", run.message
    assert _new_opportunities_check(world).ok
    assert db.session.execute(select(RequiredField)).scalars().all() == []
    page = admin_client.get(BASE + "/preflight").get_data(as_text=True)
    assert 'data-area="New opportunities" data-ok="yes"' in page


def test_a_refused_update_of_an_older_opportunity_says_new_ones_need_a_type_too(world):
    from host_stub import services

    quote = world.quote([line("OPT-7010")], name="Before the rule")
    assert world.export(quote.id).status == "succeeded"
    assert _new_opportunities_check(world).ok
    world.sandbox.set_options(required_fields={"opportunities": ["type"]})
    order = services.convert_quote(quote.id)
    assert world.export(order.id).status == "failed"  # ConnectWise refuses to turn it Won without a type
    check = _new_opportunities_check(world)
    assert not check.ok and check.fix == FIX
    assert check.items == ["ConnectWise refused to update the opportunity “Before the rule”: this tenant requires an "
                           "opportunity type on every opportunity, and none is chosen for the opportunities colcw "
                           "creates (left to ConnectWise's default)."]
