"""All Customers says Failed for a customer whose latest export left something undone, and the Failed filter finds
it: a contact ConnectWise refused ("Contacts: 3 created, 1 failed" showed "Synced"), or an export not attempted
because ConnectWise kept failing (the connection dropped: it showed "Not linked", the rep having been told to try
again). The reason on hover is what went wrong with its fix. A later export that does it all clears it."""

from __future__ import annotations

import pytest
from htmx_loads import loaded

from colcw_plugin.models import SyncItem, SyncRun, set_link
from colcw_plugin.sync.customers.list_status import row_states
from helpers import list_states
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Customer

pytestmark = pytest.mark.postgres

REFUSED = ("Mateo Smith (Granite Law Group): ConnectWise requires a Title for Mateo Smith: fill in the contact's "
           "Title in ChannelOnline and export again.")
DROPPED = ("Harbor Dental (HARB01): ConnectWise did not answer (the connection dropped) after 4 attempts.",
           "ConnectWise did not answer; retry the failed records later.")


def _customer(number: str, name: str, *contacts: str) -> Customer:
    return services.save_customer({"account_number": number, "name": name},
                                  [{"first_name": first, "last_name": "Smith", "is_default": i == 0}
                                   for i, first in enumerate(contacts or ("Pat",))])


def _run(*results: tuple) -> int:
    """A customer export run with these results: (entity, host id, action, message, resolution)."""
    run = SyncRun(kind="customer_export", status="partial")
    db.session.add(run)
    db.session.flush()
    for entity, host_id, action, message, resolution in results:
        db.session.add(SyncItem(run_id=run.id, entity=entity, direction="export", host_id=host_id, action=action,
                                label=message.split(":")[0], message=message, resolution=resolution))
    db.session.commit()
    return run.id


@pytest.fixture()
def undone(app):
    granite = _customer("GRAN01", "Granite Law Group", "Ana", "Ben", "Cy", "Mateo")
    harbor = _customer("HARB01", "Harbor Dental")
    linked_dropped = _customer("LINK01", "Linden Clinic")
    whole = _customer("WHOL01", "Wholesome Foods", "Dee")
    for c, cw_id in ((granite, 601), (linked_dropped, 602), (whole, 603)):
        set_link(db.session, "customer", c.id, cw_id, cw_identifier=c.account_number)
    db.session.commit()
    contacts = sorted(granite.contacts, key=lambda c: c.id)
    _run(("customer", granite.id, "created", "Granite Law Group (GRAN01): created in ConnectWise.", ""),
         *[("contact", c.id, "created", f"{c.first_name} Smith: created.", "") for c in contacts[:3]],
         ("contact", contacts[3].id, "failed", REFUSED, ""),
         ("customer", harbor.id, "not_attempted", *DROPPED),
         ("customer", linked_dropped.id, "not_attempted", "Linden Clinic (LINK01): ConnectWise did not answer.",
          "Retry the failed records later."),
         ("customer", whole.id, "created", "Wholesome Foods (WHOL01): created in ConnectWise.", ""),
         ("contact", whole.contacts[0].id, "created", "Dee Smith: created.", ""))
    return {"granite": granite, "harbor": harbor, "linked_dropped": linked_dropped, "whole": whole}


_rows = list_states


def test_a_refused_contact_or_an_export_not_attempted_shows_failed_with_its_reason(rep_client, undone):
    rows = _rows(loaded(rep_client, "/customers/"))
    assert rows["GRAN01"] == ("Failed", REFUSED)
    assert rows["HARB01"] == ("Failed", " ".join(DROPPED))
    assert rows["LINK01"] == ("Failed", "Linden Clinic (LINK01): ConnectWise did not answer. Retry the failed records "
                                        "later.")
    assert rows["WHOL01"] == ("Synced", "Linked to ConnectWise company WHOL01.")


def test_the_failed_filter_finds_them_and_the_others_filters_do_not(rep_client, undone):
    # (the empty one first: the test client's requests share the fixture's app context, so its g)
    assert set(_rows(loaded(rep_client, "/customers/?cw=not_linked"))) == set()
    assert set(_rows(loaded(rep_client, "/customers/?cw=failed"))) == {"GRAN01", "HARB01", "LINK01"}
    assert set(_rows(loaded(rep_client, "/customers/?cw=synced"))) == {"WHOL01"}


def test_a_later_export_that_does_it_all_clears_the_failure(app, undone):
    granite, harbor = undone["granite"], undone["harbor"]
    mateo = max(granite.contacts, key=lambda c: c.id)
    set_link(db.session, "customer", harbor.id, 604, cw_identifier="HARB01")
    db.session.commit()
    _run(("customer", granite.id, "unchanged", "Granite Law Group (GRAN01): unchanged.", ""),
         ("contact", mateo.id, "created", "Mateo Smith: created.", ""),
         ("customer", harbor.id, "created", "Harbor Dental (HARB01): created in ConnectWise.", ""))
    states = row_states(db.session, [granite.id, harbor.id])
    assert states[granite.id].label == states[harbor.id].label == "Synced"
