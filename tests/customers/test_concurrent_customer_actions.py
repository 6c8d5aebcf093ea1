"""Twenty simultaneous clicks on one record make one record: real HTTP requests to the rep's endpoints
(a threaded server, twenty threads) against the sandbox, on PostgreSQL and on SQLite.

"Export to ConnectWise" on one new customer: one company, each contact once, no 5xx, and every click
answered (the export's result, or "already being exported" with a link to its progress). "Import From
ConnectWise" of one company: one customer, each contact once, no 5xx.
"""

from __future__ import annotations

from collections import Counter

import pytest
from customer_support import CONTACTS, companies, contacts_of, make_customer
from sqlalchemy import func, select

from colcw_plugin.cw import conditions as C
from colcw_plugin.models import ACTIVE_RUN_STATUSES, RepMapping, SyncRun
from colcw_plugin.setup.connection import build_client
from helpers import LiveServer, configure_sandbox_connection, http_sign_in, post_at_once, runtime
from host_stub.extensions import db
from host_stub.models import Contact, Customer, StoreSite

CLICKS = 20



@pytest.fixture()
def ready(any_app, cw_sandbox):
    """Connected to an empty sandbox tenant, the store's default rep mapped, a live threaded server."""
    configure_sandbox_connection(cw_sandbox, runtime(any_app).box)
    with build_client(db.session, runtime(any_app).box) as client:
        member = client.members.list(conditions=C.eq("identifier", "admin1"), fields=["id"])[0]
    store = db.session.execute(select(StoreSite)).scalars().first()
    db.session.add(RepMapping(user_id=store.default_rep_id, member_id=member["id"], member_identifier="admin1"))
    db.session.commit()
    cw_sandbox.add_fault(latency_ms=40, path="apis/3.0/")  # every export takes long enough for the clicks to overlap
    server = LiveServer(any_app)
    yield cw_sandbox, server.url
    server.stop()
    cw_sandbox.clear_faults()


def _nothing_left_running() -> None:
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(SyncRun)
                              .where(SyncRun.status.in_(ACTIVE_RUN_STATUSES))).scalar_one() == 0


def test_twenty_simultaneous_exports_of_one_new_customer_make_one_company_and_each_contact_once(ready):
    sandbox, base = ready
    customer = make_customer(contacts=[*CONTACTS, {"first_name": "Grace", "last_name": "Hopper", "is_default": False}])
    cookies, token = http_sign_in(base, f"/customers/{customer.id}")
    answers = post_at_once(CLICKS, f"{base}/colcw/customers/{customer.id}/export", cookies, {"csrf_token": token})

    assert [a.status_code for a in answers] == [200] * CLICKS  # no 5xx: every click lands on the customer page
    texts = [a.text for a in answers]
    assert sum("Created in ConnectWise: Acme Corp (ACME1)" in t for t in texts) == 1
    busy = [t for t in texts if "Acme Corp is already being exported to ConnectWise" in t]
    assert all(("here is its progress" in t and "/colcw/runs/" in t) or "it has just started" in t for t in busy)
    assert all("Created in" in t or "Already up to date in" in t or "already being exported" in t for t in texts)

    [company] = companies(sandbox, conditions='identifier="ACME1"')
    names = Counter(f"{c['firstName']} {c['lastName']}" for c in contacts_of(sandbox, company["id"]))
    assert names == Counter({"Ada Lovelace": 1, "Charles Babbage": 1, "Grace Hopper": 1})
    _nothing_left_running()


def test_twenty_simultaneous_imports_of_one_company_make_one_customer(ready):
    sandbox, base = ready
    company = sandbox.api("POST", "company/companies", json={"identifier": "RACE1", "name": "Race Corp",
                                                             "addressLine1": "1 Main St", "city": "Austin"}).json()
    for first, last in (("Ada", "Lovelace"), ("Alan", "Turing")):
        sandbox.api("POST", "company/contacts", json={"firstName": first, "lastName": last,
                                                      "company": {"id": company["id"]}})
    cookies, token = http_sign_in(base, "/customers/")
    answers = post_at_once(CLICKS, f"{base}/colcw/import", cookies, {"company": "RACE1", "csrf_token": token},
                             headers={"HX-Request": "true"})

    assert all(a.status_code < 500 for a in answers), [a.status_code for a in answers]
    texts = [a.text for a in answers]
    assert sum("Imported Race Corp (RACE1) from ConnectWise" in t for t in texts) == 1
    # A click sent once the first import had ended gets the first's answer (no run of its own).
    said = ("Race Corp (RACE1) from ConnectWise", "RACE1 is already being imported",
            "Race Corp (RACE1) was imported from ConnectWise a moment ago")
    assert all(any(s in t for s in said) for t in texts), [t[:600] for t in texts if not any(s in t for s in said)]

    db.session.expire_all()
    [customer] = db.session.execute(select(Customer).where(Customer.account_number == "RACE1")).scalars().all()
    names = Counter(f"{c.first_name} {c.last_name}" for c in
                    db.session.execute(select(Contact).where(Contact.customer_id == customer.id)).scalars())
    assert names == Counter({"Ada Lovelace": 1, "Alan Turing": 1})
    _nothing_left_running()
