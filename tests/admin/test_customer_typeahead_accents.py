"""Map customers' type-ahead of ChannelOnline customers finds a customer whatever the accents, case and punctuation
of its name or of what was typed, as the look-alike check compares names ("Céleste" finds "Celeste Boutique"), on
SQLite and on PostgreSQL, over HTTP; at most 15 results as before, and the typed text is no pattern."""

from __future__ import annotations

from helpers import sign_in
from host_stub.extensions import db
from host_stub.models import Customer

SEARCH = "/admin/integration/connectwise/customers/search"


def _names(client, q: str) -> list[str]:
    resp = client.get(SEARCH, query_string={"q": q})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return [r["name"] for r in resp.get_json()["results"]]


def test_typeahead_finds_customers_whatever_the_accents_case_and_punctuation(any_app):
    db.session.add_all([
        Customer(account_number="CB1", name="Celeste Boutique"),
        Customer(account_number="CZ1", name="CAFÉ ZÜRICH GmbH"),
        Customer(account_number="HL1", name="Harbor Logistics, Inc."),
        Customer(account_number="SS1", name="Smith & Sons"),
        Customer(account_number="CL1", name="Calista Clothing"),  # "c_l_st_" but no "celeste"
        Customer(account_number="PC1", name="Pure Cafeteria"),
    ])
    db.session.commit()
    admin = sign_in(any_app.test_client(), "admin@demo.example")

    assert _names(admin, "Céleste") == ["Celeste Boutique"]
    assert _names(admin, "CÉLESTE BOUT") == ["Celeste Boutique"]
    assert _names(admin, "cafe zurich") == ["CAFÉ ZÜRICH GmbH"]
    # Those starting with it first, then by name.
    assert _names(admin, "Café") == ["CAFÉ ZÜRICH GmbH", "Pure Cafeteria"]
    assert _names(admin, "harbor logistics inc") == ["Harbor Logistics, Inc."]
    assert _names(admin, "Harbor-Logistics") == ["Harbor Logistics, Inc."]
    assert _names(admin, "smith and sons") == ["Smith & Sons"]
    assert _names(admin, "celest") == ["Celeste Boutique"]  # a word still being typed
    assert _names(admin, "ZURICH CAFE") == []  # the words in order


def test_typeahead_keeps_its_bound_and_takes_typed_wildcards_as_text(any_app):
    db.session.add_all([Customer(account_number=f"E{n:02d}", name=f"Éclair Bakery {n:02d}") for n in range(20)]
                       + [Customer(account_number="P1", name="100% Pure"), Customer(account_number="P2",
                                                                                   name="Purely_Organic")])
    db.session.commit()
    admin = sign_in(any_app.test_client(), "admin@demo.example")

    found = _names(admin, "eclair bakery")
    assert len(found) == 15 and found == [f"Éclair Bakery {n:02d}" for n in range(15)]
    assert _names(admin, "%%") == []
    assert _names(admin, "y_o") == ["Purely_Organic"]
    assert _names(admin, ".*") == [] and _names(admin, "[a-z]") == []
