"""With "assign to the logged-in sales rep", a rep's Export click on a customer not in ConnectWise yet is not left
to a queued bulk export someone else started: that export would give the new company its requester's ConnectWise
member, not the rep's. The click exports it at once, with the rep's member, and says why. When the member would be
the same (the option off: the store's default rep either way), the click still leaves it to the bulk export."""

from __future__ import annotations

from customer_support import companies, make_customer
from htmx_loads import loaded
from sqlalchemy import select
from test_export_click_in_bulk import WAITING, _export, _exports, _queue, _text

from colcw_plugin.cw import conditions as C
from colcw_plugin.models import RepMapping
from colcw_plugin.setup.connection import get_settings
from host_stub.extensions import db
from host_stub.models import User


def _riley_mapped_to(cw_client, identifier: str) -> None:
    member = cw_client.members.list(conditions=C.eq("identifier", identifier), fields=["id"])[0]
    riley = db.session.execute(select(User.id).where(User.email == "riley@demo.example")).scalar_one()
    db.session.add(RepMapping(user_id=riley, member_id=member["id"], member_identifier=identifier))
    db.session.commit()


def _logged_in_rep(on: bool) -> None:
    get_settings(db.session).use_logged_in_rep = on
    db.session.commit()


def test_a_click_whose_member_differs_from_the_bulk_runs_exports_at_once_with_the_reps_member(
        sync_ready, rep_client, cw_client):
    _logged_in_rep(True)
    _riley_mapped_to(cw_client, "APIMember")  # the store's default rep (the admin's bulk run) is admin1's
    customer = make_customer()
    bulk = _queue({"all": True})

    _export(rep_client, customer.id)
    page = _text(loaded(rep_client, f"/customers/{customer.id}"))
    assert "Created in ConnectWise: Acme Corp (ACME1)." in page, page
    assert (f"The export “{bulk.description}”, which also exports Acme Corp ({WAITING}), would have given it the "
            "ConnectWise member of admin@demo.example, so it was exported now, with yours; it is updated again when "
            "it is reached in that export") in page, page
    [company] = companies(sync_ready)
    member = cw_client.companies.get(company["id"], fields=["territoryManager"])["territoryManager"]
    assert member["identifier"] == "APIMember"
    assert len(_exports()) == 2


def test_a_click_whose_member_is_the_bulk_runs_leaves_the_customer_to_it(sync_ready, rep_client, cw_client):
    _logged_in_rep(False)
    _riley_mapped_to(cw_client, "APIMember")  # not used: the store's default rep acts for both
    customer = make_customer()
    bulk = _queue({"all": True})

    _export(rep_client, customer.id)
    assert f"Acme Corp is already in the export “{bulk.description}”" in _text(
        loaded(rep_client, f"/customers/{customer.id}"))
    assert [r.id for r in _exports()] == [bulk.id]
    assert companies(sync_ready) == []
