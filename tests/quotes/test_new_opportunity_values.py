"""The type, stage and open status an admin chose for new opportunities: what the export sends, what it does
when a tenant makes the type mandatory, and when a chosen value is made inactive or deleted in ConnectWise."""

from __future__ import annotations

from quote_support import items, line
from sqlalchemy import select

from colcw_plugin.models import ConfigChange
from helpers import csrf_from, sign_in
from host_stub.extensions import db

BASE = "/admin/integration/connectwise"
PAGE = "Admin → Integration → ConnectWise → New opportunities"


def _choose(admin_client, **ids) -> None:
    """Save the New opportunities section as an admin's browser posts it (ids; "" for ConnectWise's default)."""
    token = csrf_from(admin_client.get(BASE + "/new-opportunities").get_data(as_text=True))
    data = {"type_id": "", "stage_id": "", "status_id": "", **{f"{k}_id": str(v) for k, v in ids.items()}}
    resp = admin_client.post(BASE + "/new-opportunities", data={"csrf_token": token, **data})
    assert resp.status_code == 302, resp.get_data(as_text=True)


def _id(world, path: str, name: str, key: str = "name") -> int:
    return next(r["id"] for r in world.api(path) if r[key] == name)


def _catalog_identifiers(world) -> set[str]:
    return {c["identifier"] for c in world.api("procurement/catalog")}


def test_a_new_opportunity_gets_the_type_stage_and_open_status_the_admin_chose(world, admin_client):
    before = world.quote([line("OPT-7010")], name="Default deal")  # nothing chosen yet: ConnectWise's defaults
    assert world.export(before.id).status == "succeeded"
    [default] = world.opportunities()
    assert "type" not in default and "stage" not in default and world.status_of(default["id"])["defaultFlag"]

    qualified = world.sandbox.api("POST", "sales/opportunities/statuses", json={
        "name": "Qualified", "wonFlag": False, "lostFlag": False, "closedFlag": False, "defaultFlag": False}).json()
    _choose(admin_client, type=_id(world, "sales/opportunities/types", "Renewal", "description"),
            stage=_id(world, "sales/stages", "3.Proposal"), status=qualified["id"])
    quote = world.quote([line("OPT-7010")], name="Typed deal")
    run = world.export(quote.id)
    assert run.status == "succeeded", run.message
    opp = next(o for o in world.opportunities() if o["name"] == "Typed deal")
    assert (opp["type"]["name"], opp["stage"]["name"], opp["status"]["name"]) == ("Renewal", "3.Proposal", "Qualified")
    # A sales order's new opportunity takes the type and stage, and is Won (the open status is a quote's).
    order = world.quote([line("LAT-5440")], name="Ordered deal", doc_type="order")
    assert world.export(order.id).status == "succeeded"
    made = next(o for o in world.opportunities() if o["name"] == "Ordered deal")
    assert (made["type"]["name"], made["stage"]["name"]) == ("Renewal", "3.Proposal")
    assert world.status_of(made["id"])["wonFlag"]


def test_a_tenant_that_requires_a_type_refuses_the_export_until_an_admin_chooses_one(world, admin_client):
    world.sandbox.set_options(required_fields={"opportunities": ["type"]})
    quote = world.quote([line("OPT-7010")], name="Mandatory deal")
    run = world.export(quote.id)
    assert run.status == "failed"
    [item] = items(run)
    assert item.message == (
        f"{quote.number} was not exported: ConnectWise refused to create the opportunity “Mandatory deal”: this "
        "tenant requires an opportunity type on every opportunity, and none is chosen for the opportunities colcw "
        "creates (left to ConnectWise's default).")
    assert item.resolution == f"Choose the type new opportunities get under {PAGE}, then export again."
    assert world.opportunities() == []

    _choose(admin_client, type=_id(world, "sales/opportunities/types", "New Business", "description"))
    run = world.export(quote.id)
    assert run.status == "succeeded", run.message
    [opp] = world.opportunities()
    assert opp["name"] == "Mandatory deal" and opp["type"]["name"] == "New Business"


def test_a_tenant_that_requires_type_and_stage_names_both(world):
    world.sandbox.set_options(required_fields={"opportunities": ["type", "stage"]})
    quote = world.quote([line("OPT-7010")], name="Two fields")
    [item] = items(world.export(quote.id))
    assert "requires an opportunity type and stage on every opportunity, and they are not chosen" in item.message
    assert item.resolution == f"Choose the type and stage new opportunities get under {PAGE}, then export again."


def test_a_chosen_type_made_inactive_in_connectwise_refuses_the_export_before_anything_is_written(
        app, world, admin_client):
    renewal = _id(world, "sales/opportunities/types", "Renewal", "description")
    _choose(admin_client, type=renewal)
    deactivate = [{"op": "replace", "path": "inactiveFlag", "value": True}]
    assert world.sandbox.api("PATCH", f"sales/opportunities/types/{renewal}", json=deactivate).status_code == 200
    quote = world.quote([line("NEW-0001"), line("OPT-7010")], name="Inactive type deal")
    run = world.export(quote.id)
    assert run.status == "failed"
    [item] = items(run)
    message = "The opportunity type “Renewal” chosen for new opportunities is inactive in ConnectWise."
    fix = (f"Choose another type, or ConnectWise's default, under {PAGE}, or change it back in ConnectWise "
           "(System → Setup Tables → Opportunity Type); then export again.")
    assert (item.message, item.resolution) == (f"{quote.number} was not exported: {message}", fix)
    assert world.opportunities() == [] and "NEW-0001" not in _catalog_identifiers(world)

    # The admin's pre-flight check and the rep's export page say the same before anyone exports.
    preflight = admin_client.get(BASE + "/preflight").get_data(as_text=True)
    assert 'data-area="New opportunities" data-ok="no"' in preflight and message in preflight
    with app.app_context():  # (a context of its own: the test's remembers the admin signed in)
        rep = sign_in(app.test_client(), "riley@demo.example")
        page = rep.get(f"/colcw/documents/{quote.id}/export").get_data(as_text=True)
    assert message in page and 'id="colcw-export-submit" disabled' in page

    # Made active again in ConnectWise: the export reads the list again rather than trusting what it cached.
    activate = [{"op": "replace", "path": "inactiveFlag", "value": False}]
    assert world.sandbox.api("PATCH", f"sales/opportunities/types/{renewal}", json=activate).status_code == 200
    run = world.export(quote.id)
    assert run.status == "succeeded", run.message
    [opp] = world.opportunities()
    assert opp["type"]["name"] == "Renewal" and "NEW-0001" in _catalog_identifiers(world)


def test_a_chosen_type_deleted_in_connectwise_refuses_the_export_and_names_the_fix(world, admin_client):
    gone = world.sandbox.api("POST", "sales/opportunities/types", json={"description": "Pilot"}).json()
    _choose(admin_client, type=gone["id"])
    assert world.sandbox.api("DELETE", f"sales/opportunities/types/{gone['id']}").status_code == 204
    quote = world.quote([line("OPT-7010")], name="Deleted type deal")
    [item] = items(world.export(quote.id))
    assert item.message == (f"{quote.number} was not exported: The opportunity type “Pilot” chosen for new "
                            "opportunities no longer exists in ConnectWise.")
    assert item.resolution == f"Choose another type, or ConnectWise's default, under {PAGE}; then export again."
    assert world.opportunities() == []


def test_a_chosen_type_does_not_stop_an_export_into_an_existing_opportunity(world, admin_client):
    first = world.quote([line("OPT-7010")], name="Existing deal")
    assert world.export(first.id).status == "succeeded"
    renewal = _id(world, "sales/opportunities/types", "Renewal", "description")
    _choose(admin_client, type=renewal)
    world.sandbox.api("PATCH", f"sales/opportunities/types/{renewal}",
                      json=[{"op": "replace", "path": "inactiveFlag", "value": True}])
    second = world.quote([line("LAT-5440")], name="Existing deal")  # same name: its lines join that opportunity
    run = world.export(second.id)
    assert run.status == "succeeded", run.message
    [opp] = world.opportunities()
    assert sorted(p["catalogItem"]["identifier"] for p in world.products(opp["id"])) == ["LAT-5440", "OPT-7010"]


def test_the_audit_names_what_new_opportunities_get(world, admin_client):
    _choose(admin_client, stage=_id(world, "sales/stages", "2.Qualification"))
    change = db.session.execute(select(ConfigChange).where(ConfigChange.area == "new opportunities")).scalar_one()
    assert change.summary == "New opportunities: stage → 2.Qualification"


def test_an_older_opportunity_without_the_type_a_tenant_now_requires_names_the_opportunity_and_the_fix(world):
    from host_stub import services

    quote = world.quote([line("OPT-7010")], name="Before the rule")
    assert world.export(quote.id).status == "succeeded"  # made without a type: none was required then
    [opp] = world.opportunities()
    world.sandbox.set_options(required_fields={"opportunities": ["type"]})
    order = services.convert_quote(quote.id)
    run = world.export(order.id)  # the sales order sets its opportunity Won: ConnectWise refuses the update
    assert run.status == "failed"
    [item] = items(run)
    assert item.message == (
        f"{order.number} was not exported completely: ConnectWise refused to update the opportunity “Before the rule” (id "
        f"{opp['id']}): this tenant requires an opportunity type on every opportunity, and this one, made before it "
        "was required, has none.")
    assert item.resolution == ("Set its type in ConnectWise (Sales → Opportunities → “Before the rule”), then export "
                               "again. Lines already sent are matched, not duplicated.")
    assert not world.status_of(opp["id"])["wonFlag"]

    renewal = _id(world, "sales/opportunities/types", "Renewal", "description")
    resp = world.sandbox.api("PATCH", f"sales/opportunities/{opp['id']}",
                             json=[{"op": "replace", "path": "type", "value": {"id": renewal}}])
    assert resp.status_code == 200, resp.text
    assert world.export(order.id).status == "succeeded"
    assert world.status_of(opp["id"])["wonFlag"]


def test_a_type_made_inactive_after_the_lists_were_cached_is_refused_and_the_section_shows_it_at_once(
        world, admin_client, app):
    renewal = _id(world, "sales/opportunities/types", "Renewal", "description")
    _choose(admin_client, type=renewal)
    first = world.quote([line("OPT-7010")], name="Cached deal")
    assert world.export(first.id).status == "succeeded"  # the lists are in the shared cache now (ten minutes)
    resp = world.sandbox.api("PATCH", f"sales/opportunities/types/{renewal}",
                             json=[{"op": "replace", "path": "inactiveFlag", "value": True}])
    assert resp.status_code == 200, resp.text
    added = world.sandbox.api("POST", "sales/opportunities/types", json={"description": "Project Work"})
    assert added.status_code == 201, added.text

    second = world.quote([line("OPT-7010")], name="After deactivation")
    run = world.export(second.id)
    assert run.status == "failed"
    [item] = items(run)
    assert "The opportunity type “Renewal” chosen for new opportunities is inactive in ConnectWise." in item.message
    assert [o["name"] for o in world.opportunities()] == ["Cached deal"]
    section = admin_client.get(BASE + "/new-opportunities").get_data(as_text=True)
    assert "Renewal (inactive)" in section and ">Project Work<" in section  # what ConnectWise holds now
    third = world.quote([line("OPT-7010")], name="Checked first")
    with app.app_context():  # the rep's checklist asks the same, of the same fresh list
        rep = sign_in(app.test_client(), "riley@demo.example")
        page = rep.get(f"/colcw/documents/{third.id}/export").get_data(as_text=True)
    assert "is inactive in ConnectWise" in page and 'id="colcw-export-submit" disabled' in page
