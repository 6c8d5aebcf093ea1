"""A document whose first export created an opportunity and then failed, linked by the rep to another (a colleague's)
opportunity, exports its lines there and leaves that opportunity's contact and close date alone: only an opportunity
the document created gets them (218dc71). The failed export's "created" stayed on the document and went with it to
the picked opportunity, so the re-export set the colleague's deal to the document's contact and follow-up date."""

from __future__ import annotations

from quote_support import line, make_opportunity

from colcw_plugin import models as links
from colcw_plugin.setup.connection import build_client, get_settings
from colcw_plugin.sync.quotes import picker
from colcw_plugin.sync.quotes.opportunities import OpportunitySetup
from helpers import runtime, tune_runtime
from host_stub import services
from host_stub.extensions import db


def _colleagues_contact(world) -> int:
    """Another contact of the customer's company in ConnectWise (and ChannelOnline): its ConnectWise id."""
    customer = services.save_customer({"account_number": "ACME01", "name": "Acme Dental"},
                                      [{"first_name": "Omar", "last_name": "Smith"}], customer_id=world.customer_id)
    host = next(c for c in customer.contacts if c.first_name == "Omar")
    resp = world.sandbox.api("POST", "company/contacts", json={"firstName": "Omar", "lastName": "Smith",
                                                                "company": {"id": world.company_id}})
    assert resp.status_code == 201, resp.text
    links.set_link(db.session, "contact", host.id, resp.json()["id"])
    db.session.commit()
    return resp.json()["id"]


def _header(world, opp_id: int) -> tuple[int, str]:
    opp = world.api(f"sales/opportunities/{opp_id}")
    return opp["contact"]["id"], opp["expectedCloseDate"][:10]


def test_linking_after_a_failed_first_export_leaves_the_picked_opportunitys_contact(world, box, app, monkeypatch):
    tune_runtime(monkeypatch, app, record_retry_intervals=(0.1,))
    doc = world.quote([line("OPT-7010")], name="Granite rollout 2027", follow_up="2027-02-15")
    # The first export creates its opportunity, then ConnectWise fails every attempt at its line: not exported.
    world.sandbox.add_fault(status=503, method="POST", path=r"procurement/products$")
    first = world.export(doc.id)
    world.sandbox.clear_faults()
    assert first.status != "succeeded", first.message
    assert [o["name"] for o in world.opportunities()] == ["Granite rollout 2027"]

    # The rep then links the document to a colleague's opportunity, whose contact is Omar and closes in March.
    omar = _colleagues_contact(world)
    theirs = make_opportunity(world, "Colleague's deal", close="2027-03-31")
    resp = world.sandbox.api("PATCH", f"sales/opportunities/{theirs['id']}",
                             json=[{"op": "replace", "path": "contact", "value": {"id": omar}}])
    assert resp.status_code == 200, resp.text
    with build_client(db.session, box) as client:
        picker.link_document(db.session, runtime().host(db.session), client, OpportunitySetup(client),
                             get_settings(db.session), doc, theirs["id"])

    run = world.export(doc.id)

    assert run.status == "succeeded", run.message
    assert [p["catalogItem"]["identifier"] for p in world.products(theirs["id"])] == ["OPT-7010"]
    assert _header(world, theirs["id"]) == (omar, "2027-03-31")  # the colleague's, not the document's
