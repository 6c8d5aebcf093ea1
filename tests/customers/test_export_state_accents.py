"""A state spelled with or without accents is ConnectWise's state of that name ("Québec" is QC "Quebec"), as
look-alike company names are found whatever their accents; a spelling two states' names share is refused, naming
both, rather than guessed."""

from __future__ import annotations

from customer_support import CONTACTS, actions, company, contacts_of, export, items, link_of, make_customer


def _states(sandbox, **names) -> None:
    canada = sandbox.api("GET", "company/countries", params={"conditions": 'name = "Canada"'}).json()[0]
    for code, name in names.items():
        resp = sandbox.api("POST", "company/states", json={"identifier": code, "name": name,
                                                           "country": {"id": canada["id"]}})
        assert resp.status_code == 201, resp.text


def test_a_province_spelled_with_accents_is_exported_as_its_code(sync_ready):
    _states(sync_ready, QC="Quebec")
    customer = make_customer(state="Québec", city="Montréal", zip="H2X 1Y4", country="Canada",
                             contacts=[{**CONTACTS[0], "state": "QUÉBEC"}])

    result = export(customer.id)

    assert actions(result) == ["created"], [i.message for i in items(result)]
    cw_id = link_of("customer", customer.id).cw_id
    assert company(sync_ready, cw_id)["state"] == "QC"
    assert [c.get("state") for c in contacts_of(sync_ready, cw_id)] == ["QC"]


def test_a_state_name_is_found_whatever_its_accents_on_either_side(sync_ready):
    _states(sync_ready, NLE="Nuevo León")  # a tenant's own state, spelled with an accent there
    customer = make_customer(state="nuevo leon", contacts=[{**CONTACTS[0], "state": ""}])

    result = export(customer.id)

    assert actions(result) == ["created"], [i.message for i in items(result)]
    assert company(sync_ready, link_of("customer", customer.id).cw_id)["state"] == "NLE"


def test_a_spelling_two_states_share_but_for_accents_is_refused_naming_both(sync_ready):
    _states(sync_ready, SPA="Sao Paulo", SPB="São Paulo")
    exact = make_customer(state="são paulo", contacts=[{**CONTACTS[0], "state": ""}])
    assert actions(export(exact.id)) == ["created"]  # spelled as one of them: that one
    assert company(sync_ready, link_of("customer", exact.id).cw_id)["state"] == "SPB"

    odd = make_customer(name="Odd Spelling Ltd", account_number="ODD1", state="Saõ Paulo",
                        contacts=[{**CONTACTS[0], "state": ""}])
    [item] = items(export(odd.id), "customer")
    assert item.action == "failed"
    assert item.message == ("Odd Spelling Ltd (ODD1): state 'Saõ Paulo' could be any of SPA, SPB in ConnectWise's "
                            "state list (their names differ only by accents).")
    assert "SPA, SPB" in item.resolution
