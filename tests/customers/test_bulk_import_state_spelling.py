"""With ChannelOnline the master, a bulk import compares an existing customer's values with ConnectWise's as live
updates do: a state the host spells otherwise ("Nova Scotia", "ns") than ConnectWise's code ("NS") is the same state,
through ConnectWise's state list, and a country spelled otherwise the same country. No note "Changed in ConnectWise;
not taken" for them; a real difference (another city) still gets one. The list is read at most once per run, through
the reference cache live updates share, and only when a state is compared: an import into an empty host reads none."""

from __future__ import annotations

from customer_support import items, make_customer, run
from sqlalchemy import select

from colcw_plugin.models import CUSTOMER, RecordDrift, set_link
from host_stub.extensions import db

PROVINCES = {"NS": "Nova Scotia", "BC": "British Columbia"}


def _provinces(sandbox) -> dict:
    canada = sandbox.api("GET", "company/countries", params={"conditions": 'name = "Canada"'}).json()[0]
    for code, name in PROVINCES.items():
        made = sandbox.api("POST", "company/states", json={"identifier": code, "name": name,
                                                           "country": {"id": canada["id"]}})
        assert made.status_code == 201, made.text
    return canada


def _company(sandbox, canada: dict, identifier: str, name: str, city: str, state: str,
             contact: dict | None = None) -> dict:
    made = sandbox.api("POST", "company/companies", json={
        "identifier": identifier, "name": name, "addressLine1": "12 Harbour Rd", "city": city, "state": state,
        "zip": "B3H 1A1", "country": {"id": canada["id"]}, "phoneNumber": "902-555-0100"})
    assert made.status_code == 201, made.text
    if contact is not None:
        assert sandbox.api("POST", "company/contacts", json={**contact, "company": {"id": made.json()["id"]}}) \
            .status_code == 201
    return made.json()


def _host(name: str, account: str, city: str, state: str, country: str, contacts: list[dict]):
    return make_customer(contacts=contacts, name=name, account_number=account, address1="12 Harbour Rd",
                         address2="", city=city, state=state, zip="B3H 1A1", country=country, phone="902-555-0100",
                         fax="", website="", location_code="")


def _drift(customer_id: int) -> dict[tuple[str, str], tuple[str, str]]:
    return {(d.entity, d.field): (d.host_value, d.cw_value) for d in db.session.execute(
        select(RecordDrift).where(RecordDrift.customer_id == customer_id)).scalars()}


def _states_read(sandbox) -> int:
    return sum(1 for r in sandbox.requests() if "company/states" in r["path"])


def test_a_state_spelled_otherwise_is_no_difference_and_the_list_is_read_once_per_run(sync_ready):
    sandbox = sync_ready
    canada = _provinces(sandbox)
    # Mapped by hand (Map customers): all the same but the spelling of the province (and of the country), the
    # contact's province too.
    mapped = _host("Bayview Law Group", "BayviewLawGroup", "Halifax", "Nova Scotia", "canada",
                   [{"first_name": "Lucas", "last_name": "O'Brien", "email": "lucas@bayview.example",
                     "city": "Halifax", "state": "nova scotia", "is_default": True}])
    bayview = _company(sandbox, canada, "BayviewLawGroup", "Bayview Law Group", "Halifax", "NS", {
        "firstName": "Lucas", "lastName": "O'Brien", "city": "Halifax", "state": "NS", "defaultFlag": True,
        "communicationItems": [{"type": {"name": "Email"}, "value": "lucas@bayview.example", "defaultFlag": True}]})
    set_link(db.session, CUSTOMER, mapped.id, bayview["id"], cw_identifier="BayviewLawGroup")
    db.session.commit()
    # Matched by account number: the province as its code in lower case, and a real difference (the city).
    matched = _host("Harbour Dental", "HARBOUR1", "Halifax", "ns", "Canada", [])
    harbour = _company(sandbox, canada, "HARBOUR1", "Harbour Dental", "Dartmouth", "NS")
    sandbox.clear_requests()

    done = run("customer_import", {"mode": "all"})

    assert done.status == "succeeded", done.message
    assert _drift(mapped.id) == {}
    result = next(i for i in items(done, "customer") if i.cw_id == bayview["id"])
    assert "not taken" not in result.message, result.message
    assert _drift(matched.id) == {("customer", "city"): ("Halifax", "Dartmouth")}
    result = next(i for i in items(done, "customer") if i.cw_id == harbour["id"])
    assert "City “Dartmouth” (ChannelOnline: “Halifax”)" in result.message and "State" not in result.message, \
        result.message
    db.session.expire_all()
    assert (mapped.state, matched.state) == ("Nova Scotia", "ns")  # the host's spelling kept (it is the master)
    # Two customers and a contact compared with the list: one read for the run.
    assert _states_read(sandbox) == 1

    sandbox.clear_requests()
    again = run("customer_import", {"mode": "all"})
    assert again.status == "succeeded", again.message
    assert _drift(mapped.id) == {} and set(_drift(matched.id)) == {("customer", "city")}
    assert _states_read(sandbox) <= 1  # (the reference cache's copy, while fresh: none)


def test_an_import_into_an_empty_host_reads_no_state_list(sync_ready):
    sandbox = sync_ready
    canada = _provinces(sandbox)
    _company(sandbox, canada, "BayviewLawGroup", "Bayview Law Group", "Halifax", "NS")
    sandbox.clear_requests()

    done = run("customer_import", {"mode": "all"})

    assert done.status == "succeeded", done.message
    assert [i.action for i in items(done, "customer")] == ["created"]
    assert _states_read(sandbox) == 0
