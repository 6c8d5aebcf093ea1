"""Each real job kind end to end: submit → RQ worker → the sandbox holds the result."""

from __future__ import annotations

import pytest
from quotes.quote_support import line, make_world
from sqlalchemy import select

from colcw_plugin.cw import conditions as C
from colcw_plugin.models import RepMapping, SyncRun
from helpers import runtime
from host_stub import services
from host_stub.extensions import db
from host_stub.models import Customer, StoreSite

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

ADMIN = {"id": None, "email": "admin@demo.example", "role": "admin"}


def finished(run_id: int) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def test_customer_export_job_creates_the_company_in_connectwise(connected, cw_client, redis_conn, drain_queue):
    member = cw_client.members.list(conditions=C.eq("identifier", "admin1"), fields=["id"])[0]
    store = db.session.execute(select(StoreSite)).scalars().first()
    db.session.add(RepMapping(user_id=store.default_rep_id, member_id=member["id"], member_identifier="admin1"))
    db.session.commit()
    customer = services.save_customer({"account_number": "JOBS01", "name": "Jobs Test Dental", "state": "TX"},
                                      [{"first_name": "Ana", "last_name": "Lee", "is_default": True}])
    run = runtime().submit(db.session, "customer_export", {"customer_id": customer.id}, actor=ADMIN).run
    drain_queue()
    assert finished(run.id).status == "succeeded", finished(run.id).message
    companies = connected.api("GET", "company/companies", params={"conditions": 'identifier="JOBS01"'}).json()
    assert [c["name"] for c in companies] == ["Jobs Test Dental"]


def test_customer_import_job_brings_the_company_into_channelonline(connected, redis_conn, drain_queue):
    resp = connected.api("POST", "company/companies", json={"identifier": "IMPJOB", "name": "Imported By Job",
                                                            "addressLine1": "2 Side St", "city": "Austin",
                                                            "state": "TX"})
    assert resp.status_code == 201, resp.text
    run = runtime().submit(db.session, "customer_import", {"company": "IMPJOB"}, actor=ADMIN).run
    drain_queue()
    assert finished(run.id).status == "succeeded", finished(run.id).message
    names = db.session.execute(select(Customer.name).where(Customer.name == "Imported By Job")).scalars().all()
    assert names == ["Imported By Job"]


def test_quote_export_job_creates_the_opportunity(connected, box, redis_conn, drain_queue):
    world = make_world(connected, box)
    doc = world.quote([line("OPT-7010", qty=2)], name="Jobs page export")
    run = runtime().submit(db.session, "quote_export", {"document_id": doc.id}, actor=ADMIN).run
    drain_queue()
    assert finished(run.id).status == "succeeded", finished(run.id).message
    opportunities = world.opportunities()
    assert [o["name"] for o in opportunities] == ["Jobs page export"]
    assert len(world.products(opportunities[0]["id"])) == 1
