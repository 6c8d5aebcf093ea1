"""An export of an unlinked customer never creates a second company beside a ConnectWise look-alike (a company
linked to no customer with the same name or phone number, Map customers' likely duplicate): from the customer's
page it names the look-alike and offers to link to it or to create a new company anyway; in bulk the customer
fails, naming the look-alike and the fix. Found in the read by Company ID the export makes already (no request of
its own). Against the sandbox over HTTP."""

from __future__ import annotations

from html import unescape
from urllib.parse import parse_qs

from customer_support import actions, companies, items, link_of, make_customer, run
from htmx_loads import loaded

from colcw_plugin.sync.customers import exporter
from helpers import csrf_from

API = "/apis/3.0/"


def _token(client) -> str:
    return csrf_from(client.get("/customers/").get_data(as_text=True))


def _text(html: str) -> str:
    return " ".join(unescape(html).split())


def _company(sandbox, **fields) -> dict:
    resp = sandbox.api("POST", "company/companies", json=fields)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _company_gets(sandbox) -> list[str]:
    return [parse_qs(r["query"]).get("conditions", [""])[0] for r in sandbox.requests()
            if API in r["path"] and r["method"] == "GET" and r["path"].endswith("company/companies")]


def test_the_reps_export_names_the_look_alike_and_links_to_it_when_asked(sync_ready, rep_client):
    old = _company(sync_ready, identifier="ACMEOLD", name="ACME CORP.", city="Round Rock", state="TX")
    customer = make_customer()  # "Acme Corp", ACME1
    resp = rep_client.post(f"/colcw/customers/{customer.id}/export", data={"csrf_token": _token(rep_client)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/colcw/customers/{customer.id}/export")
    assert [c["identifier"] for c in companies(sync_ready)] == ["ACMEOLD"]  # nothing created
    assert link_of("customer", customer.id) is None
    page = _text(rep_client.get(resp.headers["Location"]).get_data(as_text=True))
    listed = page.split('id="colcw-export-look-alike-list"')[1]
    assert "<td>ACMEOLD</td><td>ACME CORP.</td><td>Round Rock, TX</td><td>same name</td>" in listed, listed
    assert f'id="colcw-export-link-{old["id"]}"' in listed and 'id="colcw-export-new-anyway"' in page
    assert 'id="colcw-export-submit"' not in page  # no plain Export that would ask again

    # Link to ACMEOLD: the customer page's re-link; the next export updates that company, creates none.
    linked = rep_client.post(f"/colcw/customers/{customer.id}/relink",
                             data={"csrf_token": _token(rep_client), "company": "ACMEOLD", "confirm": old["id"]})
    assert linked.status_code == 302, _text(linked.get_data(as_text=True))
    assert link_of("customer", customer.id).cw_id == old["id"]
    rep_client.post(f"/colcw/customers/{customer.id}/export", data={"csrf_token": _token(rep_client)})
    assert [(c["identifier"], c["name"]) for c in companies(sync_ready)] == [("ACME1", "Acme Corp")]


def test_create_a_new_company_anyway_creates_it_beside_the_look_alike(sync_ready, rep_client):
    _company(sync_ready, identifier="X9", name="acme corp", city="Austin")
    customer = make_customer()
    asked = rep_client.post(f"/colcw/customers/{customer.id}/export", data={"csrf_token": _token(rep_client)})
    page = rep_client.get(asked.headers["Location"]).get_data(as_text=True)
    confirmed = page.split('name="confirmed" value="')[1].split('"')[0]
    resp = rep_client.post(f"/colcw/customers/{customer.id}/export",
                           data={"csrf_token": _token(rep_client), "confirmed": confirmed})
    assert resp.headers["Location"].endswith(f"/customers/{customer.id}")
    assert "Created in ConnectWise: Acme Corp (ACME1)" in loaded(rep_client, f"/customers/{customer.id}")
    assert sorted(c["identifier"] for c in companies(sync_ready)) == ["ACME1", "X9"]


def test_a_bulk_export_fails_the_look_alike_naming_it_and_the_fix_in_one_read(sync_ready):
    _company(sync_ready, identifier="ACMEOLD", name="Acme Corp, Inc.", city="Austin", state="TX")
    _company(sync_ready, identifier="PH1", name="Phone Twin Ltd", city="Austin",
             phoneNumber="(512) 555-0177")
    acme = make_customer()
    twin = make_customer(name="Another Name", account_number="TWIN1", phone="512.555.0177", contacts=[])
    fresh = make_customer(name='Fresh "Q" & Sons', account_number='FR"1', contacts=[])
    sync_ready.clear_requests()
    result = run("customer_export", {"all": True})
    reads = _company_gets(sync_ready)
    assert {i.host_id: i.action for i in items(result, "customer")} == \
        {acme.id: "failed", twin.id: "failed", fresh.id: "created"}
    failed = {i.host_id: i for i in items(result, "customer")}
    assert failed[acme.id].message == (
        "Acme Corp (ACME1): ConnectWise already has company ACMEOLD “Acme Corp, Inc.” (Austin, TX; similar name), "
        f"linked to no ChannelOnline customer, {exporter.LOOKS_ALIKE} (it would likely be a duplicate).")
    assert "Link to Company ID ACMEOLD, or on Admin → Map customers" in failed[acme.id].resolution
    assert "export Acme Corp from its page and confirm" in failed[acme.id].resolution
    assert "PH1 “Phone Twin Ltd” (Austin; same phone number)" in failed[twin.id].message
    assert sorted(c["identifier"] for c in companies(sync_ready)) == ["ACMEOLD", 'FR"1', "PH1"]
    # One read of the companies for the chunk (the count aside): the Company IDs and the look-alikes together,
    # values quoted ("Corp" is a legal suffix, left out as Map customers leaves it out; "Acme" a whole word, in any
    # accented spelling).
    assert len(reads) == 1, reads
    assert r'identifier in ("ACME1", "TWIN1", "FR\"1")' in reads[0], reads[0]
    assert 'name like "%[^a-z0-9]_[cç]m_[^a-z0-9]%"' in reads[0] and 'phoneNumber like "%512%555%0177"' in reads[0], reads[0]
    # A Retry carries no confirmation: it fails the same way.
    again = run("customer_export", {"customer_ids": [acme.id]})
    assert actions(again) == ["failed"] and len(companies(sync_ready)) == 3


def test_a_company_linked_or_held_by_company_id_is_no_look_alike(sync_ready):
    # Another customer's own company by Company ID ("Acme Corp" too) is that customer's, not this one's look-alike.
    _company(sync_ready, identifier="ACME2", name="Acme Corp", city="Austin")
    make_customer(account_number="ACME2", contacts=[])
    customer = make_customer(contacts=[])
    assert actions(run("customer_export", {"customer_id": customer.id})) == ["created"]
