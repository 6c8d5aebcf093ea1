"""Import / map customers from ConnectWise: scan all companies, link by account number, map the rest
with the type-ahead, duplicates on either side, Map Customers without a rescan."""

from __future__ import annotations

from admin_support import BASE
from sqlalchemy import select

from colcw_plugin.models import CompanyScan, Link, find_by_cw, get_link, set_link
from colcw_plugin.setup.connection import build_client
from colcw_plugin.setup.customer_matching import normalize_name, normalize_phone, scan
from helpers import csrf_from
from host_stub import demo_data
from host_stub.extensions import db
from host_stub.models import Customer
from host_stub.seed import seed_demo


def _scan(admin_client):
    token = csrf_from(admin_client.get(BASE + "/").get_data(as_text=True))
    return admin_client.post(BASE + "/customers/scan", data={"csrf_token": token})


def _cw_company(sandbox, identifier: str) -> dict:
    rows = sandbox.api("GET", "company/companies", params={"conditions": f'identifier="{identifier}"'}).json()
    return rows[0]


def test_names_and_phones_are_normalised_for_duplicate_detection():
    assert normalize_name("The Harbor Logistics, Inc.") == normalize_name("harbor logistics") == "harbor logistics"
    assert normalize_name("Céleste Boutique LLC") == "celeste boutique"
    assert normalize_name("Smith & Sons Co") == "smith and sons"
    assert normalize_phone("+1 (625) 555-9850") == normalize_phone("625.555.9850") == "6255559850"
    assert normalize_phone("12") == ""


def test_scan_links_companies_whose_identifier_is_an_account_number(admin_client, connected_demo):
    seed_demo(db.session, customers=12, quotes=0)
    resp = _scan(admin_client)
    assert resp.status_code == 302 and resp.headers["Location"].split("?")[0].endswith("/customers/map")
    host = {c.account_number: c.id for c in db.session.execute(select(Customer)).scalars()}
    for index in range(12):
        link = get_link(db.session, "customer", host[demo_data.account_number(index)])
        if demo_data.company_in_cw(index):
            assert link is not None
            assert link.cw_id == _cw_company(connected_demo, demo_data.account_number(index))["id"]
        else:
            assert link is None
    total = len(connected_demo.api("GET", "company/companies", params={"pageSize": 1000}).json())
    assert db.session.query(CompanyScan).count() == total


def test_map_customers_lists_the_rest_and_points_out_duplicates(admin_client, connected_demo):
    seed_demo(db.session, customers=24, quotes=0)
    _scan(admin_client)
    html = admin_client.get(BASE + "/customers/map").get_data(as_text=True)
    table = html[html.index('id="unmatched"'):]
    assert "CW0001" in table and "Quantum Bakery" in table
    assert 'data-identifier="DEMO00001"' not in table  # linked by the scan
    # "Northwind Dental" exists twice in ConnectWise (DEMO00001 and CW0004) and once in the host.
    row = table[table.index('data-identifier="CW0004"'):]
    row = row[:row.index("</tr>")]
    assert "Possible duplicate in ConnectWise: DEMO00001 “Northwind Dental”" in row
    # The host's Northwind Dental is linked to DEMO00001 already: named as such, not offered for mapping.
    assert "Northwind Dental (DEMO00001), which is\n            already linked to ConnectWise company DEMO00001" in row
    assert "use-match" not in row
    # CW0006 "Harbor Logistics Inc" is offered the unlinked host "Harbor Logistics" (same name without Inc).
    row = table[table.index('data-identifier="CW0006"'):]
    row = row[:row.index("</tr>")]
    assert 'class="link use-match"' in row and "Harbor Logistics (DEMO00023)" in row
    assert 'id="cw-duplicates"' in html
    # A search that matches nothing says so, not that every company is linked.
    none = admin_client.get(BASE + "/customers/map?q=zzz-no-such").get_data(as_text=True)
    assert "No scanned ConnectWise company left to map matches “zzz-no-such”." in none
    assert "Every scanned ConnectWise company is linked" not in none


def test_host_duplicates_are_pointed_out(admin_client, connected_demo):
    db.session.add_all([Customer(account_number="H1", name="Acme Dental, Inc.", phone="555-222-3333"),
                        Customer(account_number="H2", name="ACME DENTAL", phone=""),
                        Customer(account_number="H3", name="Other", phone="(555) 222-3333")])
    db.session.commit()
    _scan(admin_client)
    html = admin_client.get(BASE + "/customers/map").get_data(as_text=True)
    dups = html[html.index('id="host-duplicates"'):]
    dups = dups[:dups.index("</ul>")]
    assert "H1 “Acme Dental, Inc.”" in dups and "H2 “ACME DENTAL”" in dups and "H3 “Other”" in dups


def test_map_customers_opens_without_reading_connectwise_again(admin_client, connected_demo):
    _scan(admin_client)
    connected_demo.clear_requests()
    html = admin_client.get(BASE + "/customers/map").get_data(as_text=True)
    assert "Quantum Bakery" in html
    assert connected_demo.requests() == []


def test_saving_a_mapping_links_the_company(admin_client, connected_demo):
    seed_demo(db.session, customers=3, quotes=0)
    _scan(admin_client)
    target = db.session.execute(select(Customer).where(Customer.account_number == "DEMO00002")).scalar_one()
    cw = _cw_company(connected_demo, "CW0001")
    token = csrf_from(admin_client.get(BASE + "/customers/map").get_data(as_text=True))
    resp = admin_client.post(BASE + "/customers/map", data={"csrf_token": token, f"map-{cw['id']}": str(target.id),
                                                            "confirm": "1"})  # the changes shown were confirmed
    assert resp.status_code == 302
    link = get_link(db.session, "customer", target.id)
    assert (link.cw_id, link.cw_identifier) == (cw["id"], "CW0001")
    assert "Quantum Bakery" not in admin_client.get(BASE + "/customers/map").get_data(as_text=True)


def test_a_customer_typed_without_picking_a_suggestion_is_mapped_by_its_exact_name_or_said_not_found(
        admin_client, connected_demo):
    """What a person typed and did not pick (or typed without JavaScript) was dropped without a word, while
    the rows picked were saved: now it maps to the customer of that exact name or number, or nothing is saved
    and the row says why."""
    seed_demo(db.session, customers=3, quotes=0)
    _scan(admin_client)
    by_name = db.session.execute(select(Customer).where(Customer.account_number == "DEMO00002")).scalar_one()
    by_number = db.session.execute(select(Customer).where(Customer.account_number == "DEMO00003")).scalar_one()
    cw1, cw2 = _cw_company(connected_demo, "CW0001"), _cw_company(connected_demo, "CW0002")
    page = admin_client.get(BASE + "/customers/map").get_data(as_text=True)
    assert f'name="text-{cw1["id"]}"' in page  # the typed text is sent (the form works without JavaScript)
    token = csrf_from(page)
    resp = admin_client.post(BASE + "/customers/map", data={
        "csrf_token": token, f"map-{cw1['id']}": "", f"text-{cw1['id']}": by_name.name.upper(),
        f"map-{cw2['id']}": "", f"text-{cw2['id']}": "No Such Customer"})
    assert resp.status_code == 400
    assert "No ChannelOnline customer has the name or account number “No Such Customer”" in resp.get_data(as_text=True)
    assert find_by_cw(db.session, "customer", cw1["id"]) == []  # nothing saved while a row cannot be told
    resp = admin_client.post(BASE + "/customers/map", data={
        "csrf_token": token, f"map-{cw1['id']}": "", f"text-{cw1['id']}": by_name.name.upper(),
        f"map-{cw2['id']}": "", f"text-{cw2['id']}": "demo00003", "confirm": "1"})
    assert resp.status_code == 302
    assert get_link(db.session, "customer", by_name.id).cw_id == cw1["id"]
    assert get_link(db.session, "customer", by_number.id).cw_id == cw2["id"]


def test_a_customer_already_linked_cannot_be_mapped_again_and_nothing_is_saved(admin_client, connected_demo):
    seed_demo(db.session, customers=3, quotes=0)
    _scan(admin_client)
    linked = db.session.execute(select(Customer).where(Customer.account_number == "DEMO00001")).scalar_one()
    free = db.session.execute(select(Customer).where(Customer.account_number == "DEMO00002")).scalar_one()
    cw1, cw2 = _cw_company(connected_demo, "CW0001"), _cw_company(connected_demo, "CW0002")
    token = csrf_from(admin_client.get(BASE + "/customers/map").get_data(as_text=True))
    resp = admin_client.post(BASE + "/customers/map", data={"csrf_token": token, f"map-{cw1['id']}": str(free.id),
                                                            f"map-{cw2['id']}": str(linked.id)})
    assert resp.status_code == 400
    # Named by its Company ID and name, as the rows' hints name companies, not by ConnectWise's internal id.
    assert "Northwind Dental is already linked to ConnectWise company DEMO00001 (Northwind Dental)." in \
        resp.get_data(as_text=True)
    assert find_by_cw(db.session, "customer", cw1["id"]) == []  # all or nothing


def test_typeahead_search_finds_host_customers_and_escapes_wildcards(admin_client, connected_demo):
    db.session.add_all([Customer(account_number=f"S{n}", name=f"Searchable {n}") for n in range(30)]
                       + [Customer(account_number="P1", name="100% Pure"), Customer(account_number="P2", name="1000 Pure")])
    db.session.commit()
    data = admin_client.get(BASE + "/customers/search?q=searchable").get_json()
    assert len(data["results"]) == 15 and data["results"][0]["name"].startswith("Searchable")
    # "%" is no wildcard ("%%" finds no name); typed punctuation is left aside as the look-alikes leave it ("0% p" is 0 p)
    assert admin_client.get(BASE + "/customers/search?q=%25%25").get_json() == {"results": []}
    assert {r["name"] for r in admin_client.get(BASE + "/customers/search?q=0%25+p").get_json()["results"]} == {
        "100% Pure", "1000 Pure"}
    assert admin_client.get(BASE + "/customers/search?q=a").get_json() == {"results": []}


def test_scan_reads_every_page_of_a_large_tenant(app, connected, cw_client):
    connected.generate(companies=2300, contacts_per_company=0)
    db.session.add(Customer(account_number="GEN002250", name="Generated match"))
    db.session.commit()
    result = scan(db.session, cw_client, "tests")
    assert result.total == 2300 and result.auto_linked == 1
    assert db.session.query(CompanyScan).count() == 2300
    assert db.session.execute(select(Link.cw_identifier)).scalar_one() == "GEN002250"


def test_scan_when_connectwise_fails_keeps_the_previous_scan(admin_client, connected_demo):
    _scan(admin_client)
    before = db.session.query(CompanyScan).count()
    connected_demo.deny(["company/companies"])
    resp = _scan(admin_client)
    assert resp.status_code == 302
    assert "could not be read, so nothing changed" in admin_client.get(BASE + "/").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.query(CompanyScan).count() == before


def test_scan_names_the_company_a_customer_is_already_linked_to_by_its_company_id(connected_demo, box):
    seed_demo(db.session, customers=3, quotes=0)
    northwind = db.session.execute(select(Customer).where(Customer.account_number == "DEMO00001")).scalar_one()
    cw1 = _cw_company(connected_demo, "CW0001")
    set_link(db.session, "customer", northwind.id, cw1["id"], cw_identifier="CW0001")
    db.session.commit()
    with build_client(db.session, box) as client:
        result = scan(db.session, client, "tests")
    assert ("DEMO00001 (Northwind Dental): the ChannelOnline customer with this account number is already linked to "
            "ConnectWise company CW0001 (Quantum Bakery).") in result.conflicts


def test_likely_duplicates_past_the_first_fifty_groups_are_counted_not_dropped(admin_client):
    """The list stopped at 50 groups on each side without a word: now the page says how many more there are."""
    db.session.add_all([Customer(account_number=f"H{n}{side}", name=f"Host Twin {n:03}", phone="")
                        for n in range(62) for side in "ab"])
    db.session.add_all([CompanyScan(cw_id=1000 + 2 * n + k, identifier=f"CW{n}{k}", name=f"Company Twin {n:03}",
                                    phone="", norm_name=normalize_name(f"Company Twin {n:03}"), norm_phone="")
                        for n in range(53) for k in (0, 1)])
    db.session.commit()
    html = admin_client.get(BASE + "/customers/map").get_data(as_text=True)
    cw_list = html[html.index('id="cw-duplicates"'):]
    assert cw_list[:cw_list.index("</ul>")].count("<li>") == 50
    assert "And 3 more groups of likely duplicates in ConnectWise" in html
    host_list = html[html.index('id="host-duplicates"'):]
    assert host_list[:host_list.index("</ul>")].count("<li>") == 50
    assert "And 12 more groups of likely duplicates in ChannelOnline" in html
