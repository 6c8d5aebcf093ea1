"""The sync services on a plain SQLAlchemy session and a plain client, with no Flask app: the jobs
engine runs a customer export, a company import and a quote export against the sandbox, and the
host's data is written through its unit of work."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from colcw_plugin.models import (
    CUSTOMER,
    DOCUMENT,
    ProductTypeMapping,
    RepMapping,
    RunStatus,
    SyncItem,
    get_link,
)
from colcw_plugin.setup.connection import ConnectionInput, build_client, get_settings, save_connection
from colcw_plugin.setup.secrets import SecretBox
from colcw_plugin.sync.customers import kinds as customer_kinds
from colcw_plugin.sync.jobs.kinds import KindRegistry
from colcw_plugin.sync.jobs.runs import create_run, execute_run
from colcw_plugin.sync.quotes import kinds as quote_kinds
from host_stub.gateway import UnitOfWork
from host_stub.models import Customer, CustomField, Document, StoreSite

BOX = SecretBox("n1PEgd5eXIn8NARF47vH1pH59Ufaj8LxeMJVLqMh2Cs=")
KINDS = KindRegistry([customer_kinds.CUSTOMER_EXPORT, customer_kinds.CUSTOMER_IMPORT, quote_kinds.QUOTE_EXPORT])


@pytest.fixture()
def connected_session(session, cw_sandbox):
    """The plain session with a stored connection to the sandbox and the default rep mapped."""
    save_connection(session, BOX, ConnectionInput(site_url=cw_sandbox.base_url, company_id=cw_sandbox.company_id,
                                                  auth_mode="api_keys", user=cw_sandbox.public_key,
                                                  secret=cw_sandbox.private_key, client_id="colcw-tests",
                                                  allow_http=True), actor="tests", http_allowed_by_config=True)
    member = next(m for m in cw_sandbox.api("GET", "system/members").json() if m["identifier"] == "admin1")
    store = session.execute(select(StoreSite)).scalar_one()
    session.add(RepMapping(user_id=store.default_rep_id, member_id=member["id"], member_identifier="admin1",
                           location_id=member["defaultLocation"]["id"], department_id=member["defaultDepartment"]["id"]))
    session.commit()
    return session


def run(session, kind: str, params: dict):
    job = create_run(session, KINDS, kind, params)
    session.commit()
    return execute_run(session, KINDS, job.id, make_client=lambda s, **kw: build_client(s, BOX, **kw))


def test_a_customer_export_runs_on_a_plain_session(connected_session, cw_sandbox):
    uow = UnitOfWork(connected_session)
    customer = uow.save_customer({"account_number": "PLAIN1", "name": "Plain Session Co", "city": "Austin",
                                  "state": "TX"}, [{"first_name": "Ada", "last_name": "Lane", "email": "ada@p.example"}])
    uow.commit()
    done = run(connected_session, "customer_export", {"customer_id": customer.id})
    assert done.status == RunStatus.SUCCEEDED, done.message
    [company] = cw_sandbox.api("GET", "company/companies", params={"conditions": 'identifier="PLAIN1"'}).json()
    assert company["name"] == "Plain Session Co"
    assert get_link(connected_session, CUSTOMER, customer.id).cw_id == company["id"]


def test_a_company_import_writes_the_host_through_its_unit_of_work(connected_session, cw_sandbox):
    company = cw_sandbox.api("POST", "company/companies", json={"identifier": "CWPLAIN", "name": "From ConnectWise",
                                                               "addressLine1": "2 Side St", "city": "Dallas",
                                                               "state": "TX"}).json()
    cw_sandbox.api("POST", "company/contacts", json={"firstName": "Kim", "lastName": "Ode",
                                                     "company": {"id": company["id"]}})
    done = run(connected_session, "customer_import", {"company": "CWPLAIN"})
    assert done.status == RunStatus.SUCCEEDED, done.message
    customer = connected_session.execute(select(Customer).where(Customer.account_number == "CWPLAIN")).scalar_one()
    assert (customer.name, customer.city, [c.first_name for c in customer.contacts]) == (
        "From ConnectWise", "Dallas", ["Kim"])


def test_a_quote_export_and_the_conversion_won_rule_run_on_a_plain_session(connected_session, cw_sandbox):
    s = connected_session
    uow = UnitOfWork(s)
    customer = uow.save_customer({"account_number": "QPLAIN", "name": "Quote Plain", "city": "Austin", "state": "TX"},
                                 [{"first_name": "Lee", "last_name": "Roe"}])
    uow.commit()
    assert run(s, "customer_export", {"customer_id": customer.id}).status == RunStatus.SUCCEEDED
    types = {t["name"]: t["id"] for t in cw_sandbox.api("GET", "procurement/types").json()}
    s.add(ProductTypeMapping(host_type="Product", cw_type_id=types["Hardware"], cw_type_name="Hardware"))
    field = s.execute(select(CustomField).where(CustomField.name == "Opportunity Name")).scalar_one()
    get_settings(s).opportunity_field_id = field.id
    s.commit()
    quote = uow.save_document({"customer_id": customer.id}, [
        {"item_number": "PLAIN-1", "manufacturer": "Dell", "description": "A desktop", "category": "Hardware",
         "subcategory": "Desktops", "quantity": 2, "price": 100, "cost": 60}], custom_fields={field.id: "Plain deal"})
    uow.commit()
    done = run(s, "quote_export", {"document_id": quote.id})
    assert done.status == RunStatus.SUCCEEDED, done.message
    assert s.get(Document, quote.id).locked  # locked through the host's unit of work
    opp_id = get_link(s, DOCUMENT, quote.id).cw_id
    products = cw_sandbox.api("GET", "procurement/products", params={"conditions": f"opportunity/id={opp_id}"}).json()
    assert [(p["catalogItem"]["identifier"], p["quantity"]) for p in products] == [("PLAIN-1", 2)]
    order = uow.convert_quote(quote.id)
    uow.commit()
    done = run(s, "quote_export", {"document_id": order.id})
    assert done.status == RunStatus.SUCCEEDED, done.message
    opp = cw_sandbox.api("GET", f"sales/opportunities/{opp_id}").json()
    statuses = {st["id"]: st for st in cw_sandbox.api("GET", "sales/opportunities/statuses").json()}
    assert statuses[opp["status"]["id"]]["wonFlag"]
    assert len(cw_sandbox.api("GET", "procurement/products", params={"conditions": f"opportunity/id={opp_id}"}
                              ).json()) == 1  # the order took over the quote's line
    assert s.execute(select(SyncItem).where(SyncItem.run_id == done.id)).scalar_one().action == "updated"
