"""An import's Retry redoes everything the run failed, companies and contacts: a contact that failed while its company
went through is imported again with its company (not dropped from the retry), counted apart on the button ("Retry
the 2 failed contacts"), and the retry's description names the company ("Import company ACME1 from ConnectWise (retry
of #12)").

An import writes a company and its contacts in one transaction (a contact's problem fails its company), so a contact
result failing on its own is made here from a real import: its write undone in the host and its result marked
failed, as a failed write would have left them."""

from __future__ import annotations

import pytest
from customer_support import contacts_of, items, link_of, make_customer, run, solo_not_attempted_duo_exported
from sqlalchemy import delete, select

from colcw_plugin.models import CONTACT, Link, SyncRun
from colcw_plugin.sync.jobs import history
from helpers import csrf_from, runtime
from host_stub.extensions import db
from host_stub.models import Contact

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.sandbox]

JOBS = "/admin/integration/connectwise/jobs"


def test_an_imports_retry_redoes_the_contacts_it_failed_with_their_company(sync_ready, admin_client, drain_queue):
    customer = make_customer()  # Ada and Charles
    exported = run("customer_export", {"customer_id": customer.id})
    assert exported.status == "succeeded", exported.message
    cw_company = link_of("customer", customer.id).cw_id
    sync_ready.api("POST", "company/contacts", json={"firstName": "Grace", "lastName": "Hopper",
                                                      "company": {"id": cw_company}})
    first = run("customer_import", {"mode": "all"})  # a bulk import: no single company to fall back on
    assert first.status == "succeeded", first.message
    results = {i.label: i for i in items(first, "contact")}
    grace, charles = results["Grace Hopper (Acme Corp)"], results["Charles Babbage (Acme Corp)"]
    assert grace.action == "created" and items(first, "customer")[0].action in ("unchanged", "updated")

    # Grace's write failed (the host holds no Grace, no link), and so did Charles's (he stays as he was).
    db.session.execute(delete(Link).where(Link.entity == CONTACT, Link.host_id == grace.host_id))
    db.session.execute(delete(Contact).where(Contact.id == grace.host_id))
    for item in (grace, charles):
        item.action, item.message = "failed", f"{item.label}: could not be saved in ChannelOnline."
    grace.host_id = None
    db.session.commit()

    kinds = runtime().kinds
    assert history.retry_params(db.session, kinds, first) == {"company_ids": [cw_company]}
    assert history.retry_label(db.session, kinds, first) == "Retry the 2 failed contacts"
    page = admin_client.get(f"{JOBS}/runs/{first.id}").get_data(as_text=True)
    resp = admin_client.post(f"{JOBS}/runs/{first.id}/retry", data={"csrf_token": csrf_from(page)})
    assert resp.status_code == 302
    assert drain_queue() == 1
    retry = db.session.execute(select(SyncRun).where(SyncRun.retry_of_id == first.id)).scalar_one()
    db.session.refresh(retry)
    assert retry.status == "succeeded", retry.message
    assert retry.description == f"Import company ACME1 from ConnectWise (retry of #{first.id})"

    db.session.expire_all()
    host = sorted((c.first_name, c.last_name) for c in db.session.execute(
        select(Contact).where(Contact.customer_id == customer.id)).scalars())
    theirs = sorted((c["firstName"], c["lastName"]) for c in contacts_of(sync_ready, cw_company))
    assert host == theirs == [("Ada", "Lovelace"), ("Charles", "Babbage"), ("Grace", "Hopper")]
    linked = db.session.execute(select(Link.cw_id).where(Link.entity == CONTACT)).scalars().all()
    assert sorted(linked) == sorted(c["id"] for c in contacts_of(sync_ready, cw_company))  # one link each


def test_an_exports_retry_of_a_few_customers_names_them_and_the_run_it_retries(
        sync_ready, admin_client, drain_queue, monkeypatch, app):
    first = solo_not_attempted_duo_exported(sync_ready, monkeypatch, app)
    sync_ready.clear_faults()
    page = admin_client.get(f"{JOBS}/runs/{first.id}").get_data(as_text=True)
    admin_client.post(f"{JOBS}/runs/{first.id}/retry", data={"csrf_token": csrf_from(page)})
    assert drain_queue() == 1
    retry = db.session.execute(select(SyncRun).where(SyncRun.retry_of_id == first.id)).scalar_one()
    assert retry.description == f"Export customer SOLO1 to ConnectWise (retry of #{first.id})"


def test_a_retry_of_many_counts_them_and_names_a_few(sync_ready):
    from colcw_plugin.sync.jobs.runs import create_run

    ids = [make_customer(name=f"Co {n}", account_number=f"CO{n}", contacts=[]).id for n in range(4)]
    kinds = runtime().kinds
    many = create_run(db.session, kinds, "customer_export", {"customer_ids": ids}, trigger="retry", retry_of_id=7)
    assert many.description == "Export 4 customers to ConnectWise (retry of #7)"
    few = create_run(db.session, kinds, "customer_export", {"customer_ids": ids[:3]}, trigger="retry", retry_of_id=7)
    assert few.description == "Export customers CO0, CO1 and CO2 to ConnectWise (retry of #7)"
    whole = create_run(db.session, kinds, "customer_export", {"all": True}, trigger="retry", retry_of_id=7)
    assert whole.description == "Export all customers to ConnectWise (retry of #7)"
    assert kinds.describe(None, "customer_export", {"customer_ids": ids[:2]}) == \
        "Export 2 customers to ConnectWise"  # no session: counted; not a retry without its retry_of_id
    db.session.rollback()


def test_quote_and_live_update_retries_of_a_few_name_them(sync_ready):
    from colcw_plugin.models import CUSTOMER, DOCUMENT
    from host_stub.models import Document

    customer = make_customer()
    docs = [Document(doc_type="quote", number=f"Q-10{n}", customer_id=customer.id) for n in range(2)]
    db.session.add_all(docs)
    db.session.flush()
    ada = next(c for c in customer.contacts if c.first_name == "Ada")
    db.session.add_all([Link(entity=CUSTOMER, host_id=customer.id, cw_id=250, cw_identifier="ACME1"),
                        Link(entity=CONTACT, host_id=ada.id, cw_id=900),
                        Link(entity=DOCUMENT, host_id=docs[0].id, cw_id=40)])
    db.session.flush()
    kinds = runtime().kinds
    assert kinds.describe(db.session, "quote_export", {"document_ids": [d.id for d in docs]}) == \
        "Export Q-100 and Q-101 to ConnectWise again"
    assert kinds.describe(db.session, "cw_live_update", {"records": {"company": [250], "contact": [900],
                                                                     "opportunity": [40]}}) == \
        "Read company ACME1, contact Ada Lovelace and Q-100 changed in ConnectWise again"  # "(retry of #n)": a retry's
    assert kinds.describe(db.session, "cw_live_update", {"records": {"company": [251]}}) == \
        "Read company id 251 changed in ConnectWise again"
    assert kinds.describe(db.session, "customer_import", {"company_ids": [250, 252]}) == \
        "Import companies ACME1 and id 252 from ConnectWise"  # "(retry of #n)" comes with a retry's retry_of_id
    db.session.rollback()
