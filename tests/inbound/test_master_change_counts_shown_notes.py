"""A change of the master for customer data counts the differences the customer pages show: a note about a contact
the rep since deleted in ChannelOnline is no longer shown (sync/inbound/status.py ``NOTE_SHOWN``, as
sync/customers/link_batch.py's), so the Connection page's "N differences shown on M customer pages" leaves it out.
It goes with the rest all the same."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from colcw_plugin.models import CW_MASTER, HOST_MASTER, RecordDrift
from colcw_plugin.sync.inbound.master import redecide
from colcw_plugin.sync.inbound.status import customer_drift
from host_stub.extensions import db
from host_stub.services import save_customer

CUSTOMER = {"name": "Acme Corp", "active": True, "address1": "1 Main St", "address2": "", "city": "Austin",
            "state": "TX", "zip": "73301", "country": "United States", "website": "", "phone": "512-555-0100",
            "fax": "", "location_code": ""}


def _note(entity: str, host_id: int, customer_id: int, cw_id: int, field: str, kept: str) -> None:
    db.session.add(RecordDrift(entity=entity, host_id=host_id, customer_id=customer_id, cw_id=cw_id, field=field,
                               label=field.title(), kind="drift", host_value="host", cw_value="connectwise",
                               kept=kept))


def _two_customers(kept: str):
    """Acme shows two notes (its city, Ada's title); Globex shows none: its only note is about a contact the rep
    deleted since (the contact's id is no longer the host's)."""
    acme = save_customer({**CUSTOMER, "account_number": "ACME1"},
                         [{"first_name": "Ada", "last_name": "Lovelace", "is_default": True}])
    globex = save_customer({**CUSTOMER, "name": "Globex", "account_number": "GLOBEX1"},
                           [{"first_name": "Hank", "last_name": "Scorpio", "is_default": True}])
    ada, hank = acme.contacts[0].id, globex.contacts[0].id
    _note("customer", acme.id, acme.id, 101, "city", kept)
    _note("contact", ada, acme.id, 201, "title", kept)
    _note("contact", hank, globex.id, 202, "title", kept)
    db.session.commit()
    globex.contacts.clear()  # the rep deletes Hank in ChannelOnline
    db.session.commit()
    assert len(customer_drift(db.session, acme.id)) == 2 and customer_drift(db.session, globex.id) == []
    return acme, globex


@pytest.mark.parametrize("old, new", [(HOST_MASTER, CW_MASTER), (CW_MASTER, HOST_MASTER)])
def test_the_master_change_counts_only_the_notes_the_pages_show(any_app, old, new):
    _two_customers(kept="host" if old == HOST_MASTER else "connectwise")

    done = redecide(db.session, new)
    db.session.commit()

    assert (done.rows, done.customers) == (2, 1)
    assert "2 differences shown on 1 customer page " in done.message(), done.message()
    # Every note of the old master goes, the one no longer shown too.
    assert db.session.execute(select(func.count()).select_from(RecordDrift)).scalar_one() == 0


def test_only_notes_no_longer_shown_make_no_message(any_app):
    acme, globex = _two_customers(kept="host")
    db.session.execute(RecordDrift.__table__.delete().where(RecordDrift.customer_id == acme.id))
    db.session.commit()

    done = redecide(db.session, CW_MASTER)
    db.session.commit()

    assert done.rows == 0 and done.message() == ""
    assert db.session.execute(select(func.count()).select_from(RecordDrift)).scalar_one() == 0
