"""A bulk import saves a page of companies in one transaction of a few statements (issue 14), and a page
the database refuses as a whole is saved company by company, so only the one at fault fails."""

from __future__ import annotations

from urllib.parse import parse_qs

from customer_support import items, link_of, make_customer, refused_inserts, run
from sqlalchemy import event, select, text, update

from colcw_plugin.models import CW_MASTER, Link
from colcw_plugin.setup.live_updates import get_live
from colcw_plugin.sync.customers import importer
from helpers import recorded_statements, row_versions, rows_written
from host_stub.extensions import db
from host_stub.gateway import UnitOfWork
from host_stub.models import Contact, Customer

RUN_LOG = ("colcw_sync_runs", "colcw_sync_items")  # the run's own record, not the data it syncs


def _data_statements(job) -> int:
    """SQL statements a run sends that touch something other than its own run record."""
    with recorded_statements(db.engine) as seen:
        job()
    return sum(1 for st in seen if not any(t in st for t in RUN_LOG))


def test_a_page_of_companies_costs_the_same_statements_whatever_its_size(connected):
    made = connected.generate(companies=300, contacts_per_company=2.5)
    ids = sorted(c["id"] for c in connected.api("GET", "company/companies",
                                                params={"pageSize": 1000, "fields": "id"}).json())
    run("customer_import", {"company_ids": ids[:1]})  # (a first import checks no page for untouched companies)
    small = _data_statements(lambda: run("customer_import", {"company_ids": ids[1:31]}))
    assert db.session.query(Customer).count() == 31
    large = _data_statements(lambda: run("customer_import", {"company_ids": ids[31:]}))
    assert db.session.query(Customer).count() == 300 and db.session.query(Contact).count() == made["contacts"]
    assert large == small <= 40, (small, large)


def _untouched_checks(job) -> int:
    """How many times a run asked the database for a page's untouched companies (settled.untouched)."""
    with recorded_statements(db.engine) as seen:
        job()
    return sum(1 for st in seen if "jsonb_array_elements(CAST(" in st)


def test_a_first_import_checks_no_page_for_untouched_companies_and_the_next_one_does(connected):
    made = connected.generate(companies=1500, contacts_per_company=1)
    assert _untouched_checks(lambda: run("customer_import", {"mode": "all"})) == 0
    assert db.session.query(Customer).count() == 1500
    result = None

    def again():
        nonlocal result
        result = run("customer_import", {"mode": "all"})

    assert _untouched_checks(again) == 2  # one per page of 1,000
    assert result.status == "succeeded" and result.counts == {"unchanged": 1500 + made["contacts"]}, result.counts


def _links_as_planned(job) -> list[tuple[int, int]]:
    """At each look-up of customer links by ConnectWise id a run sends (link_batch.by_cw): how many customer links
    PostgreSQL's planner takes the table to hold, and how many it holds (asked on a connection of its own)."""
    seen: list[tuple[int, int]] = []

    def ask(conn, cursor, statement, parameters, context, executemany):
        # (a page's ids, close together, are read as a range of them: link_batch.by_cw)
        if "FROM colcw_links" in statement and ("cw_id = ANY" in statement or "cw_id BETWEEN" in statement) \
                and "customer" in (parameters or {}).values():
            raw = db.engine.raw_connection()
            try:
                with raw.cursor() as cur:
                    cur.execute("EXPLAIN (FORMAT JSON) SELECT 1 FROM colcw_links WHERE entity = 'customer'")
                    planned = cur.fetchone()[0][0]["Plan"]["Plan Rows"]
                    cur.execute("SELECT count(*) FROM colcw_links WHERE entity = 'customer'")
                    seen.append((planned, cur.fetchone()[0]))
            finally:
                raw.close()

    event.listen(db.engine, "before_cursor_execute", ask)
    try:
        job()
    finally:
        event.remove(db.engine, "before_cursor_execute", ask)
    return seen


def test_a_first_import_plans_its_later_pages_with_the_links_it_has_written(connected):
    """A first import starts on tables the planner knows nothing of. Until their statistics are taken, it takes a
    table holding thousands of links for the few it held, and keeps reading every link of each page's kind where
    the index would do (at 40,000 companies the last pages' look-ups took five to six times the first's): the import takes
    them after its first page, and the planner's picture then grows with the tables."""
    # As on a new install: no statistics (TRUNCATE between tests keeps those taken of earlier tests' data).
    db.session.execute(text("DELETE FROM pg_statistic WHERE starelid IN "
                            "('colcw_links'::regclass, 'customers'::regclass, 'contacts'::regclass)"))
    db.session.commit()
    connected.generate(companies=1500, contacts_per_company=2.5)
    result = None

    def first():
        nonlocal result
        result = run("customer_import", {"mode": "all"})

    seen = _links_as_planned(first)
    assert result.status == "succeeded" and db.session.query(Customer).count() == 1500
    assert [held for _, held in seen] == [0, 1000], seen  # a look-up per page of 1,000
    planned, held = seen[1]
    assert held / 2 <= planned <= held * 2, seen  # (without the statistics: about 10)


def test_a_page_the_database_refuses_is_saved_company_by_company(connected):
    connected.generate(companies=6, contacts_per_company=1)
    victim = connected.api("POST", "company/companies", json={"identifier": "REFUSED1", "name": "Refused Ltd",
                                                             "city": "X"}).json()
    # A real failure inside PostgreSQL, as a clash with another writer would raise it.
    with refused_inserts("customers", "name", "Refused Ltd"):
        result = run("customer_import", {"mode": "all"})
    by_cw = {i.cw_id: i for i in items(result, "customer")}
    assert result.status == "partial"
    assert by_cw[victim["id"]].action == "failed" and "could not be saved in ChannelOnline" in by_cw[victim["id"]].message
    assert sorted(i.action for i in by_cw.values()) == ["created"] * 6 + ["failed"]
    assert db.session.query(Customer).count() == 6 and db.session.query(Contact).count() == 6
    linked = db.session.execute(select(Link.cw_id).where(Link.entity == "customer")).scalars().all()
    assert victim["id"] not in linked and len(linked) == 6
    # The next import takes it once the database accepts it.
    again = run("customer_import", {"mode": "all"})
    assert sorted(i.action for i in items(again, "customer")) == ["created"] + ["unchanged"] * 6


def test_an_unchanged_re_import_leaves_every_row_version_as_it_was(connected):
    made = connected.generate(companies=80, contacts_per_company=2.5, age_minutes=60)
    assert run("customer_import", {"mode": "all"}).status == "succeeded"
    tables = ("customers", "contacts", "colcw_links", "colcw_record_drift")
    before = row_versions(db.session, tables)
    again = run("customer_import", {"mode": "all"})
    assert again.status == "succeeded" and set(again.counts) == {"unchanged"}, again.counts
    assert rows_written(before, row_versions(db.session, tables)) == {}
    # Neither side touched them since: one result per company, which stands for its contacts; the run still
    # counts every contact.
    assert again.entity_counts == {"customer": {"unchanged": 80}, "contact": {"unchanged": made["contacts"]}}
    assert [i.entity for i in again.items] == ["customer"] * 80
    contacts = db.session.query(Contact).filter(Contact.customer_id == again.items[0].host_id).count()
    assert again.items[0].message.endswith(f"unchanged, with its {contacts} contact{'s' if contacts != 1 else ''}.")


def test_an_unchanged_page_costs_the_same_statements_whatever_its_size(connected):
    """An untouched page is read in two queries and writes nothing but the run's own record."""
    connected.generate(companies=300, contacts_per_company=2.5, age_minutes=60)
    ids = sorted(c["id"] for c in connected.api("GET", "company/companies",
                                                params={"pageSize": 1000, "fields": "id"}).json())
    assert run("customer_import", {"company_ids": ids}).status == "succeeded"
    small = _data_statements(lambda: run("customer_import", {"company_ids": ids[:30]}))
    large = _data_statements(lambda: run("customer_import", {"company_ids": ids}))
    assert large == small <= 8, (small, large)


def test_a_re_import_still_sees_a_change_on_either_side(connected):
    """An untouched company is passed over without mapping it; a change on either side is not."""
    connected.generate(companies=4, contacts_per_company=2, age_minutes=60)
    assert run("customer_import", {"mode": "all"}).status == "succeeded"
    live = get_live(db.session)
    live.customer_master = CW_MASTER
    db.session.commit()
    customers = db.session.execute(select(Customer).order_by(Customer.id)).scalars().all()
    # The host changes one customer's phone and another's contact; ConnectWise changes a third's contact.
    host = UnitOfWork(db.session)
    host.save_customer({"phone": "000-000-0000"}, customer_id=customers[0].id)
    host.save_customer({}, [{"id": customers[1].contacts[0].id, "title": "Changed here"}], customer_id=customers[1].id)
    host.commit()
    theirs = db.session.execute(select(Link.cw_id).where(Link.entity == "contact",
                                                         Link.host_id == customers[2].contacts[0].id)).scalar()
    connected.api("PATCH", f"company/contacts/{theirs}", json=[{"op": "replace", "path": "title",
                                                                "value": "Changed there"}])
    again = run("customer_import", {"mode": "all"})
    by_host = {i.host_id: i for i in items(again, "customer")}
    # The host's own changes are read and kept for the next export (ConnectWise the master takes only what ConnectWise
    # changed since the last sync, as live updates do); ConnectWise's is taken.
    assert [by_host[c.id].action for c in customers] == ["unchanged", "unchanged", "updated", "unchanged"]
    assert "kept ChannelOnline's own edits, not exported yet (the next export sends them): Company Phone " \
           "“000-000-0000”" in by_host[customers[0].id].message, by_host[customers[0].id].message
    contact_said = {i.host_id: i.message for i in items(again, "contact")}
    assert "Title “Changed here”" in contact_said[customers[1].contacts[0].id], contact_said
    db.session.expire_all()
    assert db.session.get(Customer, customers[0].id).phone == "000-000-0000"
    assert db.session.get(Contact, customers[1].contacts[0].id).title == "Changed here"
    assert db.session.get(Contact, customers[2].contacts[0].id).title == "Changed there"


def _analyses() -> dict[str, tuple[int, float]]:
    """Per host and link table: how many times it was analyzed by hand, and the row count the planner knows."""
    db.session.commit()  # statistics views are read once per transaction: a fresh one sees the latest
    rows = db.session.execute(text(
        "SELECT s.relname, s.analyze_count, c.reltuples FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
        "WHERE s.relname IN ('customers', 'contacts', 'colcw_links')")).all()
    db.session.commit()
    return {name: (count, tuples) for name, count, tuples in rows}


def test_a_bulk_import_leaves_the_planner_knowing_the_tables_new_size(connected, monkeypatch):
    from colcw_plugin.sync.customers import importer

    monkeypatch.setattr(importer, "BULK_LOAD", 10)  # a bulk load, at this test's scale
    connected.generate(companies=8, contacts_per_company=2)
    before = _analyses()
    assert run("customer_import", {"mode": "all"}).status == "succeeded"
    after = _analyses()
    links = db.session.query(Link).count()
    assert links >= 10
    assert {name: after[name][0] - before[name][0] for name in after} == {"customers": 1, "contacts": 1,
                                                                          "colcw_links": 1}
    assert after["colcw_links"][1] == links and after["customers"][1] == db.session.query(Customer).count()


def test_a_small_import_leaves_the_statistics_to_autovacuum(connected):
    connected.generate(companies=3, contacts_per_company=1)
    before = _analyses()
    assert run("customer_import", {"mode": "all"}).status == "succeeded"
    assert db.session.query(Customer).count() == 3
    assert {name: n for name, (n, _) in _analyses().items()} == {name: n for name, (n, _) in before.items()}


def test_a_contact_value_longer_than_the_host_allows_fails_its_company_naming_the_contact(connected):
    made = connected.api("POST", "company/companies", json={"identifier": "LONGPH1", "name": "Long Phone Ltd",
                                                            "city": "X"}).json()
    direct = connected.api("GET", "company/communicationTypes", params={"conditions": 'description = "Direct"'}).json()
    phone = "555-0100 extension 12345, ask reception"  # 39 characters: ChannelOnline keeps 30 of a work phone
    resp = connected.api("POST", "company/contacts", json={
        "firstName": "Ada", "lastName": "Lovelace", "company": {"id": made["id"]},
        "communicationItems": [{"type": {"id": direct[0]["id"]}, "value": phone, "defaultFlag": True}]})
    assert resp.status_code == 201, resp.text
    result = run("customer_import", {"mode": "all"})
    [failed] = [i for i in items(result, "customer") if i.cw_id == made["id"]]
    assert failed.action == "failed"
    assert "Long Phone Ltd (LONGPH1), contact Ada Lovelace: Work Phone is 39 characters long; ChannelOnline allows at most 30" in failed.message
    assert db.session.query(Customer).filter_by(account_number="LONGPH1").count() == 0


def test_a_re_import_passes_over_only_what_nothing_unusual_touched(connected):
    """The untouched check sends a company down the full path (which names each contact) when a link is doubled,
    a linked contact is no longer among the company's contacts, or a contact moved to another customer."""
    connected.generate(companies=6, contacts_per_company=2, age_minutes=60)
    assert run("customer_import", {"mode": "all"}).status == "succeeded"
    customers = db.session.execute(select(Customer).order_by(Customer.id)).scalars().all()
    link = {c.id: link_of("customer", c.id) for c in customers}
    contact_link = {k.id: link_of("contact", k.id) for c in customers for k in c.contacts}
    other = make_customer(account_number="OTHER1", name="Other Ltd")

    def twin(of: Link, host_id: int) -> None:
        db.session.add(Link(entity=of.entity, host_id=host_id, cw_id=of.cw_id, cw_identifier=of.cw_identifier,
                            fingerprint=of.fingerprint, cw_last_updated=of.cw_last_updated, status="ok",
                            linked_at=of.linked_at, synced_at=of.synced_at))

    twin(link[customers[0].id], other.id)  # the company linked twice
    twin(contact_link[customers[1].contacts[0].id], other.contacts[0].id)  # a contact linked twice
    contact_link[customers[2].contacts[0].id].cw_id = 987654321  # linked to a contact the company no longer has
    moved = customers[3].contacts[0]  # moved to another customer, its time of change left as it was
    db.session.execute(update(Contact).where(Contact.id == moved.id).values(customer_id=customers[4].id,
                                                                            updated_at=moved.updated_at))
    db.session.commit()
    again = run("customer_import", {"mode": "all"})
    said = {i.host_id: i.message for i in items(again, "customer")}
    full = [c.id for c in customers if not said[c.id].endswith("contacts.")]
    assert full == [c.id for c in customers[:5]], said
    assert said[customers[5].id].endswith("unchanged, with its 2 contacts."), said


def test_an_import_of_all_companies_reads_its_contacts_pages_beside_its_companies(connected):
    """Against a real tenant each page is a round trip: the contacts' pages do not wait for the companies'. The
    sandbox holds every page of companies 1.5 s; the first page of contacts must arrive well before that."""
    made = connected.generate(companies=30, contacts_per_company=2)
    connected.add_fault(latency_ms=1500, method="GET", path=r"company/companies$")
    connected.clear_requests()
    assert run("customer_import", {"mode": "all"}).status == "succeeded"
    assert db.session.query(Customer).count() == 30 and db.session.query(Contact).count() == made["contacts"]
    log = [e for e in connected.requests() if "/apis/3.0/" in e["path"]]
    companies = next(e["time"] for e in log if e["path"].endswith("company/companies"))
    contacts = next(e["time"] for e in log if e["path"].endswith("company/contacts"))
    assert contacts - companies < 0.75, "the contacts were asked for only after the companies' page came back"


def test_an_import_of_all_companies_asks_for_two_pages_of_contacts_at_once(connected, monkeypatch):
    """The contacts' pages are what a bulk import waits for (two and a half times as many as the companies'):
    once the first is in, two are on their way at a time. The sandbox holds the first three pages of contacts
    1.5 s each; the request for page 3 must arrive well before page 2 is answered, and every contact is
    imported once."""
    monkeypatch.setattr(importer, "PAGE", 10)  # pages of 10: 30 companies' 60 contacts are six pages
    made = connected.generate(companies=30, contacts_per_company=2)
    connected.add_fault(latency_ms=1500, method="GET", path=r"company/contacts$", count=3)
    connected.clear_requests()
    assert run("customer_import", {"mode": "all"}).status == "succeeded"
    assert db.session.query(Contact).count() == made["contacts"] == 60
    pages = {parse_qs(e["query"])["page"][0]: e["time"] for e in connected.requests()
             if e["path"].endswith("company/contacts")}
    assert pages["3"] - pages["2"] < 0.75, "page 3 of the contacts was asked for only after page 2 came back"
    asked = sorted(int(parse_qs(e["query"])["page"][0]) for e in connected.requests()
                   if e["path"].endswith("company/contacts"))
    assert asked == [1, 2, 3, 4, 5, 6]  # each page once, none past the last its Link header names


def test_a_re_import_passes_over_inactive_missing_and_host_only_contacts_but_not_a_new_one(connected):
    """What the untouched check lets by: a customer's contact linked to a contact the company made inactive, or
    whose link already says it is missing in ConnectWise, or one the host added and never linked; what it does
    not: a contact the company gained in ConnectWise."""
    connected.generate(companies=4, contacts_per_company=2, age_minutes=60)
    assert run("customer_import", {"mode": "all"}).status == "succeeded"
    customers = db.session.execute(select(Customer).order_by(Customer.id)).scalars().all()
    company = {c.id: link_of("customer", c.id).cw_id for c in customers}
    inactive, gone = (link_of("contact", customers[i].contacts[0].id).cw_id for i in (0, 1))
    connected.api("PATCH", f"company/contacts/{inactive}", json=[{"op": "replace", "path": "inactiveFlag",
                                                                  "value": True}])
    assert connected.api("DELETE", f"company/contacts/{gone}").status_code == 204
    host = UnitOfWork(db.session)
    host.save_customer({}, [{"first_name": "Only", "last_name": "Here"}], customer_id=customers[3].id)
    host.commit()
    between = run("customer_import", {"mode": "all"})  # takes the changes in; the deleted contact is reported
    assert between.status == "succeeded"
    assert link_of("contact", customers[1].contacts[0].id).status == "missing_in_cw"
    connected.api("POST", "company/contacts", json={"firstName": "New", "lastName": "There",
                                                   "company": {"id": company[customers[2].id]}})
    # Every link was written well after the records it vouches for changed (as if the import had run later).
    db.session.execute(text("UPDATE colcw_links SET synced_at = synced_at + interval '10 minutes'"))
    db.session.commit()
    again = run("customer_import", {"mode": "all"})
    said = {i.host_id: i.message for i in items(again, "customer")}
    assert said[customers[0].id].endswith("unchanged, with its 1 contact."), said
    assert said[customers[1].id].endswith("unchanged, with its 1 contact."), said
    assert not said[customers[2].id].endswith("contacts."), said  # compared field by field: the new one comes in
    assert said[customers[3].id].endswith("unchanged, with its 2 contacts."), said
    assert [c.first_name for c in db.session.execute(select(Contact).where(
        Contact.customer_id == customers[2].id)).scalars()].count("New") == 1


def test_a_re_import_passes_over_a_company_whose_contact_was_deleted_in_channelonline(connected):
    """A contact the rep deleted in ChannelOnline, still active in ConnectWise, is said once, by the first import
    after the delete (its link marked missing_in_host); later imports leave it out without a word. Such a company is
    untouched once nothing else changed: an unchanged re-import passes it over (one result, for its other contact) and
    writes nothing, where it read, planned and compared it on every import of all. A change to the company still
    sends it down the full path."""
    connected.generate(companies=3, contacts_per_company=2, age_minutes=60)
    assert run("customer_import", {"mode": "all"}).status == "succeeded"
    customers = db.session.execute(select(Customer).order_by(Customer.id)).scalars().all()
    customer = customers[0]
    kept, gone = customer.contacts[0], customer.contacts[1]
    gone_cw = link_of("contact", gone.id).cw_id
    host = UnitOfWork(db.session)  # the rep keeps one of the two contacts (the edit page sends those it keeps)
    host.save_customer({}, [{"id": kept.id, "first_name": kept.first_name, "last_name": kept.last_name}],
                       customer_id=customer.id, delete_missing_contacts=True)
    host.commit()
    reported = run("customer_import", {"mode": "all"})  # says it once, and marks its link
    assert [i.action for i in items(reported, "contact") if i.cw_id == gone_cw] == ["skipped"]
    assert db.session.execute(select(Link.status).where(Link.entity == "contact", Link.cw_id == gone_cw)
                              ).scalar_one() == "missing_in_host"
    # Every link was written well after the records it vouches for changed (as if the import had run later).
    db.session.execute(text("UPDATE colcw_links SET synced_at = synced_at + interval '10 minutes'"))
    db.session.commit()
    tables = ("customers", "contacts", "colcw_links", "colcw_record_drift")
    before = row_versions(db.session, tables)
    again = run("customer_import", {"mode": "all"})
    assert again.status == "succeeded" and set(again.counts) == {"unchanged"}, again.counts
    assert rows_written(before, row_versions(db.session, tables)) == {}
    said = {i.host_id: i.message for i in items(again, "customer")}
    assert said[customer.id].endswith("unchanged, with its 1 contact."), said  # passed over, not planned
    assert [i.entity for i in again.items] == ["customer"] * 3
    assert again.entity_counts["contact"] == {"unchanged": 5}, again.entity_counts
    # A change in ConnectWise to the company still sends it down the full path, which takes it.
    company = link_of("customer", customer.id).cw_id
    connected.api("PATCH", f"company/companies/{company}", json=[{"op": "replace", "path": "city",
                                                                  "value": "Elsewhere"}])
    changed = run("customer_import", {"mode": "all"})
    said = {i.host_id: i for i in items(changed, "customer")}
    assert not said[customer.id].message.endswith("contact."), said[customer.id].message
    assert gone_cw not in {i.cw_id for i in items(changed, "contact")}  # still left out without a word
