"""Importing ConnectWise companies and contacts into host customers (issue 5), against the sandbox."""

from __future__ import annotations

import datetime as dt
import time
from urllib.parse import unquote

from customer_support import actions, company, items, link_of, make_customer, run
from sqlalchemy import delete, event, select

from colcw_plugin.models import CW_MASTER, Link, RecordDrift, SyncRun
from colcw_plugin.setup.customer_matching import LINKED_LOOK_ALIKE_FIX
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.customers import importer
from colcw_plugin.sync.customers.company_import import IMPORT_ACTOR, is_own_import
from colcw_plugin.sync.shared.fields import contact_values, customer_values
from host_stub.extensions import db
from host_stub.models import Contact, Customer
from host_stub.seed import seed_demo


def _host_data() -> dict:
    """Every customer's mapped values and contacts, keyed by account number."""
    db.session.expire_all()
    out = {}
    for c in db.session.execute(select(Customer)).scalars():
        out[c.account_number] = (customer_values(c), sorted((contact_values(k) for k in c.contacts),
                                                            key=lambda v: v["email"]))
    return out


def _forget_host_customers() -> None:
    db.session.execute(delete(Link))
    db.session.execute(delete(Contact))
    db.session.execute(delete(Customer))
    db.session.commit()


def _add_province(sandbox, code: str, name: str) -> None:
    canada = sandbox.api("GET", "company/countries", params={"conditions": 'name = "Canada"'}).json()[0]
    sandbox.api("POST", "company/states", json={"identifier": code, "name": name, "country": {"id": canada["id"]}})


def test_export_then_import_gives_back_the_same_host_data(sync_ready):
    _add_province(sync_ready, "QC", "Quebec")
    make_customer(location_code="HQ")
    make_customer(account_number="ZOE'1", name="Zoé O'Brien \"Bakery\"", city="Montréal", state="QC",
                  zip="H2Y 1C6", country="Canada", active=False, website="", fax="", phone="514-555-0199",
                  contacts=[{"first_name": "Amélie", "last_name": "Müller", "email": "amelie@zoe.example",
                             "mobile_phone": "514-555-0100", "is_default": True, "title": "", "state": "QC"},
                            {"first_name": "Kenji", "last_name": "O'Neil", "email": "kenji@zoe.example",
                             "work_phone": "514-555-0101"}])
    before = _host_data()
    exported = run("customer_export", {"all": True})
    assert exported.status == "succeeded", [i.message for i in items(exported) if i.action == "failed"]
    _forget_host_customers()
    imported = run("customer_import", {"mode": "all"})
    assert imported.status == "succeeded", imported.message
    assert sorted(actions(imported)) == ["created", "created"]
    assert _host_data() == before


def test_location_code_main_survives_an_export_then_import(sync_ready):
    # "Main" and a blank code both mean ConnectWise's default site: importing the company back must
    # keep what the host holds, not rewrite "Main" to blank (a third of the demo customers use "Main").
    customer = make_customer(location_code="Main")
    assert actions(run("customer_export", {"customer_id": customer.id})) == ["created"]
    again = run("customer_import", {"company": "ACME1"})
    assert actions(again) == ["unchanged"], items(again)[0].message
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).location_code == "Main"


def test_import_one_company_by_company_id_creates_the_customer_and_contacts(connected_demo):
    result = run("customer_import", {"company": "DEMO00001"})
    item = items(result, "customer")[0]
    assert item.action == "created", item.message
    customer = db.session.get(Customer, item.host_id)
    cw = company(connected_demo, item.cw_id)
    assert (customer.account_number, customer.name, customer.city, customer.state) == (
        "DEMO00001", cw["name"], cw["city"], cw["state"])
    assert customer.phone == cw["phoneNumber"] and customer.active is True
    assert customer.location_code == ""  # the default site "Main"
    cw_contacts = connected_demo.api("GET", "company/contacts",
                                     params={"conditions": f"company/id = {cw['id']}"}).json()
    assert sorted(c.email for c in customer.contacts) == sorted(
        next(i["value"] for i in k["communicationItems"] if i["type"]["name"] == "Email") for k in cw_contacts)
    default = next(c for c in customer.contacts if c.is_default)
    assert link_of("contact", default.id).cw_id == cw["defaultContact"]["id"]
    # A new customer's contacts are all new: its result says how many, and they have none of their own.
    assert items(result, "contact") == [] and item.message.endswith(f"created, with its {len(cw_contacts)} contacts.")
    # The run's counts keep companies and contacts apart (the jobs pages show this summary).
    assert result.entity_counts == {"customer": {"created": 1}, "contact": {"created": len(cw_contacts)}}
    assert result.records_summary == f"customers: 1 created; contacts: {len(cw_contacts)} created"
    assert result.records_summary in result.message


def test_importing_one_company_asks_for_its_contacts_beside_it(connected_demo):
    """A rep importing a company from the popup waits for ConnectWise: its contacts are asked for by its Company
    ID with the company, not after it. The sandbox holds every answer 1.5 s; both requests must arrive within
    half of that, and the customer gets exactly the company's contacts."""
    connected_demo.add_fault(latency_ms=1500, method="GET", path="apis/3.0/")
    connected_demo.clear_requests()
    item = items(run("customer_import", {"company": "DEMO00004"}), "customer")[0]
    connected_demo.clear_faults()
    assert item.action == "created", item.message
    log = [e for e in connected_demo.requests() if "/apis/3.0/" in e["path"]]
    assert sorted(e["path"].rsplit("/", 1)[1] for e in log) == ["companies", "contacts"]
    assert abs(log[0]["time"] - log[1]["time"]) < 0.75, "the contacts were asked for after the company came back"
    cw_contacts = connected_demo.api("GET", "company/contacts",
                                     params={"conditions": f"company/id = {item.cw_id}"}).json()
    customer = db.session.get(Customer, item.host_id)
    assert len(customer.contacts) == len(cw_contacts) > 0
    assert {link_of("contact", c.id).cw_id for c in customer.contacts} == {c["id"] for c in cw_contacts}


def test_a_company_imported_by_its_numeric_id_gets_its_own_contacts(connected_demo):
    cw = connected_demo.api("GET", "company/companies", params={"conditions": 'identifier = "DEMO00001"'}).json()[0]
    item = items(run("customer_import", {"company": str(cw["id"])}), "customer")[0]
    assert item.action == "created" and item.cw_id == cw["id"], item.message
    cw_contacts = connected_demo.api("GET", "company/contacts", params={"conditions": f"company/id = {cw['id']}"}).json()
    customer = db.session.get(Customer, item.host_id)
    assert {link_of("contact", c.id).cw_id for c in customer.contacts} == {c["id"] for c in cw_contacts} != set()


def test_unknown_company_id_says_so(connected):
    item = items(run("customer_import", {"company": 'NOPE"X'}), "customer")[0]
    assert item.action == "failed" and "No ConnectWise company has the Company ID “NOPE\"X”" in item.message


def test_import_links_the_customer_with_the_same_account_number_never_by_name(connected_demo):
    same_name = make_customer(account_number="LOCAL1", name="Quantum Bakery", contacts=[])
    same_number = make_customer(account_number="CW0001", name="Something else", contacts=[])
    item = items(run("customer_import", {"company": "CW0001"}), "customer")[0]
    assert item.action == "updated" and item.host_id == same_number.id
    db.session.expire_all()
    assert db.session.get(Customer, same_number.id).name == "Quantum Bakery"
    assert db.session.get(Customer, same_name.id).account_number == "LOCAL1"
    assert db.session.execute(select(Customer)).scalars().all().__len__() == 2


def test_an_unchanged_company_writes_nothing_in_the_host(connected_demo):
    first = items(run("customer_import", {"company": "DEMO00004"}), "customer")[0]
    stamp = db.session.get(Customer, first.host_id).updated_at
    again = run("customer_import", {"company": "DEMO00004"})
    assert actions(again) == ["unchanged"] and set(actions(again, "contact")) == {"unchanged"}
    db.session.expire_all()
    assert db.session.get(Customer, first.host_id).updated_at == stamp


def test_incremental_import_takes_only_what_changed_since_the_last_import(connected_demo):
    full = run("customer_import", {"mode": "all"})
    assert full.status == "partial", full.message  # the demo tenant's look-alike CW0004 waits for a person
    since = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    db.session.execute(SyncRun.__table__.update().where(SyncRun.id == full.id).values(started_at=since))
    db.session.commit()
    time.sleep(1.1)  # ConnectWise stamps lastUpdated to the second: edit in a later one
    companies = connected_demo.api("GET", "company/companies", params={"pageSize": 1000,
                                                                      "orderBy": "id asc"}).json()
    # Not Northwind Dental: the tenant's likely duplicate of it (CW0004) is imported once it is renamed.
    renamed, via_contact = [c for c in companies if c["name"] != "Northwind Dental"][:2]
    connected_demo.api("PATCH", f"company/companies/{renamed['id']}",
                       json=[{"op": "replace", "path": "name", "value": "Renamed In ConnectWise"}])
    contact = connected_demo.api("GET", "company/contacts",
                                 params={"conditions": f"company/id = {via_contact['id']}"}).json()[0]
    connected_demo.api("PATCH", f"company/contacts/{contact['id']}",
                       json=[{"op": "replace", "path": "title", "value": "Chief Renamer"}])
    # ConnectWise the master: the changes are taken (with ChannelOnline the master a bulk import keeps the customers'
    # values and notes ConnectWise's: test_bulk_import_keeps_host_master.py).
    live = get_live(db.session)
    live.customer_master = CW_MASTER
    db.session.commit()
    changed = run("customer_import", {"mode": "changed", "since": since.isoformat()})
    touched = {i.cw_id: i.action for i in items(changed, "customer")}
    assert touched == {renamed["id"]: "updated", via_contact["id"]: "updated"}
    assert {i.cw_id: i.action for i in items(changed, "contact") if i.action != "unchanged"} == {
        contact["id"]: "updated"}
    assert db.session.get(Customer, link_host(renamed["id"])).name == "Renamed In ConnectWise"
    titles = {c.title for c in db.session.get(Customer, link_host(via_contact["id"])).contacts}
    assert "Chief Renamer" in titles
    # Without "since", the watermark is the start of the last full / incremental import that succeeded.
    again = run("customer_import", {"mode": "changed"})
    assert "Companies changed since" in again.message
    others = [i for i in items(again, "customer") if i.action != "unchanged"]
    assert [(i.action, "may be a duplicate in ConnectWise" in i.message) for i in others] == [("failed", True)]  # CW0004


def test_an_incremental_import_asks_for_its_changed_contacts_count_and_companies_together(connected_demo):
    """A scheduled incremental import waits for ConnectWise three times before its first page: the changed
    contacts, the count and the first page of changed companies go out together. The sandbox holds every answer
    1.5 s; the three must arrive within half of that."""
    assert run("customer_import", {"mode": "all"}).status == "partial"  # the look-alike CW0004 waits for a person
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).replace(tzinfo=None)  # the whole demo tenant
    connected_demo.add_fault(latency_ms=1500, method="GET", path="apis/3.0/")
    connected_demo.clear_requests()
    result = run("customer_import", {"mode": "changed", "since": since.isoformat()})
    connected_demo.clear_faults()
    assert result.status == "partial" and result.total > 0, result.message  # (the look-alike CW0004)
    log = [e for e in connected_demo.requests() if "/apis/3.0/" in e["path"] and "lastUpdated" in unquote(e["query"])]
    kinds = {e["path"].split("/apis/3.0/")[1]: e["time"] for e in log}
    assert set(kinds) == {"company/contacts", "company/companies/count", "company/companies"}, kinds
    assert max(kinds.values()) - min(kinds.values()) < 0.75, "one waited for the answer of another"


def link_host(cw_id: int) -> int:
    return db.session.execute(select(Link.host_id).where(Link.entity == "customer", Link.cw_id == cw_id)).scalar()


def test_changed_mode_uses_the_start_of_the_last_successful_import(connected_demo):
    first = run("customer_import", {"mode": "changed"})
    assert "No earlier import" in first.message and first.status == "partial"  # (the look-alike CW0004)
    second = run("customer_import", {"mode": "changed"})
    assert "Companies changed since" in second.message
    # The demo tenant was seeded before the first import: nothing is newer than its start (minus overlap).
    assert second.total <= first.total


def test_linked_customer_deleted_in_the_host_is_reported_once_then_recreated_by_company_id(connected_demo):
    first = items(run("customer_import", {"company": "DEMO00001"}), "customer")[0]
    db.session.execute(delete(Customer).where(Customer.id == first.host_id))
    db.session.commit()
    bulk = run("customer_import", {"company_ids": [first.cw_id]})
    item = items(bulk, "customer")[0]
    assert item.action == "skipped" and "was deleted" in item.message and "DEMO00001" in item.resolution
    assert db.session.execute(select(Customer)).scalars().all() == []
    assert db.session.execute(select(Link.status).where(Link.entity == "customer", Link.cw_id == first.cw_id)
                              ).scalar_one() == "missing_in_host"
    # Said once, by the first bulk import after the delete (as a contact deleted in ChannelOnline): later ones, of
    # that company or of all, leave it out without a word, and re-create nothing.
    later = run("customer_import", {"company_ids": [first.cw_id]})
    assert later.status == "succeeded" and items(later) == [], [i.message for i in items(later)]
    everything = run("customer_import", {"mode": "all"})
    assert first.cw_id not in {i.cw_id for i in items(everything, "customer")}, everything.counts
    assert "skipped" not in (everything.counts or {}), everything.counts
    assert db.session.execute(select(Customer).where(Customer.account_number == "DEMO00001")).scalars().all() == []
    again = items(run("customer_import", {"company": "DEMO00001"}), "customer")[0]
    assert again.action == "created" and "re-linked" in again.message
    assert link_of("customer", again.host_id).cw_id == first.cw_id


def test_company_deleted_in_connectwise_keeps_the_customer_and_says_so(connected_demo):
    first = items(run("customer_import", {"company": "DEMO00001"}), "customer")[0]
    connected_demo.api("DELETE", f"company/companies/{first.cw_id}")
    item = items(run("customer_import", {"mode": "all"}), "customer")
    mine = next(i for i in item if i.cw_id == first.cw_id)
    assert mine.action == "skipped" and "deleted in ConnectWise" in mine.message
    assert db.session.get(Customer, first.host_id) is not None
    assert link_of("customer", first.host_id).status == "missing_in_cw"


def test_a_company_and_its_contacts_import_atomically(connected):
    cw = connected.api("POST", "company/companies", json={"identifier": "ATOM1", "name": "Atom", "city": "X"}).json()
    connected.api("POST", "company/contacts", json={"firstName": "Ok", "lastName": "Fine", "company": {"id": cw["id"]}})
    connected.api("POST", "company/contacts", json={"firstName": "F" * 70, "lastName": "Long",
                                                    "company": {"id": cw["id"]}})
    good = connected.api("POST", "company/companies", json={"identifier": "GOOD1", "name": "Good", "city": "X"})
    result = run("customer_import", {"mode": "all"})
    by_cw = {i.cw_id: i for i in items(result, "customer")}
    assert result.status == "partial"
    assert by_cw[cw["id"]].action == "failed" and "ChannelOnline allows at most 60" in by_cw[cw["id"]].message
    assert by_cw[good.json()["id"]].action == "created"
    assert [c.account_number for c in db.session.execute(select(Customer)).scalars()] == ["GOOD1"]
    assert db.session.execute(select(Contact)).scalars().all() == []


def test_bulk_import_reads_pages_not_records(connected):
    made = connected.generate(companies=300, contacts_per_company=2.5)
    connected.clear_requests()
    result = run("customer_import", {"mode": "all"})
    assert result.status == "succeeded" and result.counts == {"created": made["companies"] + made["contacts"]}
    gets = [r for r in connected.requests() if r["method"] == "GET"]
    assert len(gets) <= 6, [r["path"] for r in gets]
    # Contacts are paged alongside the companies (in company order), not fetched by lists of company ids.
    contacts = [r for r in gets if r["path"].endswith("/company/contacts")]
    assert len(contacts) == 1 and "orderBy=company%2Fid+asc" in contacts[0]["query"], contacts
    assert [r for r in connected.requests() if r["method"] != "GET"] == []
    assert db.session.query(Customer).count() == 300


def test_import_events_carry_the_import_actor(connected_demo, app):
    seen = []

    class Listener:
        from host_stub.hookspecs import hookimpl

        @hookimpl
        def customer_saved(self, customer, created, actor):
            seen.append((customer["account_number"], created, actor))

    pm = app.extensions["host_stub"]["pm"]
    listener = Listener()
    pm.register(listener)
    try:
        run("customer_import", {"company": "DEMO00001"})
    finally:
        pm.unregister(listener)
    assert seen == [("DEMO00001", True, IMPORT_ACTOR)] and is_own_import(seen[0][2])


def test_export_of_a_demo_customer_matches_its_imported_twin(sync_ready_demo):
    seed_demo(db.session, customers=3, quotes=0)
    result = run("customer_export", {"customer_ids": [1]})
    assert actions(result) == ["updated"] or actions(result) == ["unchanged"], items(result)[0].message
    assert "same Company ID" in items(result, "customer")[0].message
    linked = link_of("customer", 1)
    assert company(sync_ready_demo, linked.cw_id)["identifier"] == "DEMO00001"
    # The demo tenant holds the same contacts (same e-mails): linked, not duplicated.
    assert set(actions(result, "contact")) <= {"updated", "unchanged"}


def test_a_bulk_import_never_creates_a_second_customer_for_a_likely_duplicate(connected_demo):
    # The demo tenant holds Northwind Dental twice (DEMO00001 and CW0004): the Map Customers page flags
    # the second as a likely duplicate, so importing all companies reports it for a person to decide (merge the two
    # in ConnectWise, or import it on its own: DEMO00001's customer is linked, so there is nothing to map it to).
    full = run("customer_import", {"mode": "all"})
    names = [c.name for c in db.session.execute(select(Customer)).scalars()]
    assert names.count("Northwind Dental") == 1
    # Failed (it waits for a person to map it), as the export's look-alike: the run is "Partly failed".
    assert full.status == "partial", full.message
    reported = [i for i in items(full, "customer") if i.action == "failed"]
    assert len(reported) == 1 and "CW0004" in reported[0].label
    assert reported[0].resolution == LINKED_LOOK_ALIKE_FIX and "DEMO00001" in reported[0].message
    # Imported again, the look-alike is still reported (it is the only company read against the customers).
    again = run("customer_import", {"mode": "all"})
    assert [i.label for i in items(again, "customer") if i.action == "failed"] == [reported[0].label]
    assert names == [c.name for c in db.session.execute(select(Customer)).scalars()]
    # Asked for by its Company ID, it is imported: a person chose it.
    one = run("customer_import", {"company": "CW0004"})
    assert actions(one) == ["created"]


def test_a_blank_connectwise_field_keeps_the_host_value_unless_connectwise_is_the_master(sync_ready):
    customer = make_customer(fax="512-555-0101", website="https://acme.example")
    assert actions(run("customer_export", {"customer_id": customer.id})) == ["created"]
    company = link_host_company(customer.id)
    sync_ready.api("PATCH", f"company/companies/{company}", json=[{"op": "remove", "path": "faxNumber"},
                                                                  {"op": "remove", "path": "website"}])
    assert actions(run("customer_import", {"company": "ACME1"})) == ["unchanged"]
    db.session.expire_all()
    kept = db.session.get(Customer, customer.id)
    assert (kept.fax, kept.website) == ("512-555-0101", "https://acme.example")

    # ConnectWise the master, a blank ConnectWise changed since the last sync is taken. (The blanks above are agreed
    # already, the customer's values its own edits to export: an import keeps those, as live updates do.)
    assert actions(run("customer_export", {"customer_id": customer.id})) == ["updated"]
    live = get_live(db.session)
    live.customer_master = CW_MASTER
    db.session.commit()
    sync_ready.api("PATCH", f"company/companies/{company}", json=[{"op": "remove", "path": "faxNumber"},
                                                                  {"op": "remove", "path": "website"}])
    assert actions(run("customer_import", {"company": "ACME1"})) == ["updated"]
    db.session.expire_all()
    erased = db.session.get(Customer, customer.id)
    assert (erased.fax, erased.website) == ("", "")


def link_host_company(customer_id: int) -> int:
    return db.session.execute(select(Link.cw_id).where(Link.entity == "customer", Link.host_id == customer_id)).scalar()


def test_an_unchanged_re_import_writes_no_row(connected):
    connected.generate(companies=120, contacts_per_company=2.5)
    assert run("customer_import", {"mode": "all"}).status == "succeeded"
    written: dict[str, int] = {}

    def count(conn, cursor, statement, parameters, context, executemany):
        verb, _, rest = statement.lstrip().partition(" ")
        if verb.upper() in ("INSERT", "UPDATE", "DELETE") and cursor.rowcount > 0:
            table = rest.split()[1 if verb.upper() != "UPDATE" else 0].strip('"')
            if table not in ("colcw_sync_runs", "colcw_sync_items"):  # the run's own record
                written[table] = written.get(table, 0) + cursor.rowcount

    event.listen(db.engine, "after_cursor_execute", count)
    try:
        again = run("customer_import", {"mode": "all"})
    finally:
        event.remove(db.engine, "after_cursor_execute", count)
    assert again.status == "succeeded" and set(again.counts) == {"unchanged"}, again.counts
    assert written == {}


def test_contacts_paged_alongside_many_company_pages_land_on_their_companies(connected, monkeypatch):
    monkeypatch.setattr(importer, "PAGE", 40)  # 120 companies: 3 company pages, their contacts 8 pages
    made = connected.generate(companies=120, contacts_per_company=2.5)
    result = run("customer_import", {"mode": "all"})
    assert result.status == "succeeded" and result.counts == {"created": made["companies"] + made["contacts"]}
    cw_contacts = connected.api("GET", "company/contacts", params={"pageSize": 1000, "fields": "id,company/id"}).json()
    company_of = {c["id"]: c["company"]["id"] for c in cw_contacts}
    customer_cw = {link.host_id: link.cw_id for link in db.session.execute(
        select(Link).where(Link.entity == "customer")).scalars()}
    contact_links = db.session.execute(select(Link).where(Link.entity == "contact")).scalars().all()
    assert len(contact_links) == made["contacts"]
    for link in contact_links:
        contact = db.session.get(Contact, link.host_id)
        assert customer_cw[contact.customer_id] == company_of[link.cw_id]


def test_an_unchanged_re_import_still_forgets_drift_both_sides_now_agree_on(connected):
    connected.generate(companies=3, contacts_per_company=1)
    assert run("customer_import", {"mode": "all"}).status == "succeeded"
    customer = db.session.execute(select(Customer).order_by(Customer.id)).scalars().first()
    other = db.session.execute(select(Customer).order_by(Customer.id.desc())).scalars().first()
    for host, kind, field in ((customer, "drift", "city"), (customer, "new_contact", "contact"),
                              (other, "new_contact", "contact")):
        db.session.add(RecordDrift(entity="customer", host_id=host.id, customer_id=host.id, cw_id=1, field=field,
                                   label="City", kind=kind, host_value="a", cw_value="b"))
    db.session.commit()
    assert set(run("customer_import", {"mode": "all"}).counts) == {"unchanged"}
    db.session.expire_all()
    left = db.session.execute(select(RecordDrift.customer_id, RecordDrift.kind)).all()
    assert sorted(left) == sorted([(customer.id, "new_contact"), (other.id, "new_contact")])
