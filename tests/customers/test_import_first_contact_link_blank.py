"""ConnectWise the master, an import linking a customer's contact to the same person in ConnectWise for the first
time (no earlier agreement): a field ConnectWise holds blank (a contact typed there without a title or a mobile)
erases nothing of the host contact's, as live updates' first link of a contact (commit 057714d): the host keeps its
value, the link agrees on ConnectWise's blank, and the next export fills it in. ConnectWise's values that differ are
taken (the master). The import, bulk or of the one company, wrote ConnectWise's blanks over the contact's values.
Against the sandbox over HTTP."""

from __future__ import annotations

import pytest
from customer_support import acme_with_a_bare_ada, export, items, link_of, make_customer, run
from sqlalchemy import select

from colcw_plugin.models import CW_MASTER, RecordDrift
from colcw_plugin.setup.live_updates import get_live
from host_stub.extensions import db
from host_stub.models import Customer


@pytest.mark.parametrize("scope", [{"mode": "all"}, {"company": "ACME1"}], ids=["all", "by-company-id"])
def test_a_blank_of_connectwise_at_a_contacts_first_link_erases_nothing(sync_ready, scope):
    customer = make_customer()  # Ada: CFO, her phones, Austin TX
    get_live(db.session).customer_master = CW_MASTER
    db.session.commit()
    ada_cw = acme_with_a_bare_ada(sync_ready)
    before = next(c for c in customer.contacts if c.first_name == "Ada").work_phone
    assert before and before != "512-555-0777"

    done = run("customer_import", scope)
    assert done.status == "succeeded", done.message
    db.session.expire_all()
    ada = next(c for c in db.session.get(Customer, customer.id).contacts if c.first_name == "Ada")
    said = [i.message for i in items(done)]
    # ConnectWise's blanks erased nothing ...
    assert (ada.title, ada.mobile_phone, ada.home_phone, ada.city) == ("CFO", "512-555-0111", "512-555-0112",
                                                                       "Austin"), said
    # ... and its differing value is taken (the master): the run log says what it replaced, old → new; unlike live
    # updates' first link of a contact, no note on the customer page (as for the customer's own fields: the import's
    # rule for a field with no earlier agreement, CompanyImport._plan).
    assert ada.work_phone == "512-555-0777", said
    assert any(f"Work Phone “{before}” → “512-555-0777”" in m for m in said), said
    assert not db.session.execute(select(RecordDrift).where(RecordDrift.entity == "contact",
                                                            RecordDrift.host_id == ada.id)).scalars().all()
    link = link_of("contact", ada.id)
    assert link is not None and link.cw_id == ada_cw
    assert link.synced_values.get("title") in ("", None)  # agreed on ConnectWise's blank: the export sends CFO

    sent = export(customer.id)
    assert sent.status == "succeeded", sent.message
    there = sync_ready.api("GET", f"company/contacts/{ada_cw}").json()
    held = {i["type"]["name"]: i["value"] for i in there.get("communicationItems") or ()}
    assert (there.get("title"), held.get("Cell"), held.get("Direct")) == ("CFO", "512-555-0111", "512-555-0777"), \
        [i.message for i in items(sent)]
