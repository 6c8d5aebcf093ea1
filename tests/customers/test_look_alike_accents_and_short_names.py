"""The customer export's look-alike read (companies with the customer's name as Map customers compares names,
linked to no customer) finds accented spellings whichever side holds the accents ("Café Zürich" and "Cafe Zurich":
ConnectWise compares text accent-sensitively), and a short name ("AB") asks ConnectWise for the companies having it
as a whole word, not every name holding its letters. Against the sandbox over HTTP."""

from __future__ import annotations

from urllib.parse import parse_qs

from customer_support import companies, items, make_customer, run

API = "/apis/3.0/"


def _company(sandbox, **fields) -> dict:
    resp = sandbox.api("POST", "company/companies", json=fields)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _company_reads(sandbox) -> list[str]:
    return [parse_qs(r["query"]).get("conditions", [""])[0] for r in sandbox.requests()
            if API in r["path"] and r["method"] == "GET" and r["path"].endswith("company/companies")]


def test_accented_spellings_are_look_alikes_both_ways(sync_ready):
    _company(sync_ready, identifier="CZOLD", name="Café Zürich GmbH", city="Austin")
    _company(sync_ready, identifier="MONT", name="Montreal Bagels", city="Austin")
    plain = make_customer(name="Cafe Zurich", account_number="CZ1", phone="", contacts=[])
    accented = make_customer(name="Montréal Bagels, Inc.", account_number="MB1", phone="", contacts=[])
    result = run("customer_export", {"all": True})
    outcome = {i.host_id: i for i in items(result, "customer")}
    assert outcome[plain.id].action == "failed", outcome[plain.id].message
    assert "CZOLD “Café Zürich GmbH” (Austin; similar name)" in outcome[plain.id].message
    assert outcome[accented.id].action == "failed", outcome[accented.id].message
    assert "MONT “Montreal Bagels” (Austin; similar name)" in outcome[accented.id].message
    assert sorted(c["identifier"] for c in companies(sync_ready)) == ["CZOLD", "MONT"]  # nothing created


def test_a_short_name_reads_only_companies_having_it_as_a_word(sync_ready):
    for n, name in enumerate(["Abbott Labs", "Cable Co", "Slab Works", "Fab Lab", "Babel Books", "Arab Bank"]):
        _company(sync_ready, identifier=f"NOT{n}", name=name, city="Austin")
    _company(sync_ready, identifier="ABOLD", name="The AB Ltd.", city="Austin")
    customer = make_customer(name="AB", account_number="AB1", phone="", contacts=[])
    sync_ready.clear_requests()
    result = run("customer_export", {"customer_ids": [customer.id]})
    assert [i.action for i in items(result, "customer")] == ["failed"]
    assert "ABOLD “The AB Ltd.” (Austin; similar name)" in items(result, "customer")[0].message
    reads = [c for c in _company_reads(sync_ready) if "name like" in c]
    assert len(reads) == 1, reads
    # What ConnectWise answers that read: the look-alike, none of the names merely holding "ab".
    answer = sync_ready.api("GET", "company/companies", params={"conditions": reads[0], "fields": "identifier",
                                                                 "pageSize": 1000})
    assert answer.status_code == 200, answer.text
    assert [r["identifier"] for r in answer.json()] == ["ABOLD"]


def test_user_text_reaches_the_conditions_only_as_letters_and_digits(sync_ready):
    _company(sync_ready, identifier="QOLD", name="O'Brien [100%] \\ Co_op", city="Austin")
    customer = make_customer(name='O\'Brien [100%] \\ "Co_op"', account_number="OB1", phone="", contacts=[])
    sync_ready.clear_requests()
    result = run("customer_export", {"customer_ids": [customer.id]})
    assert [i.action for i in items(result, "customer")] == ["failed"]
    assert "QOLD" in items(result, "customer")[0].message
    read = next(c for c in _company_reads(sync_ready) if "name like" in c)
    likes = [part for part in read.split(" OR ") if part.startswith("name like")]
    assert likes and all(set(p.removeprefix('name like "').removesuffix('"')) <= set("abcdefghijklmnopqrstuvwxyz"
                                                                                      "0123456789%_[^-]çñšýÿž")
                         for p in likes), likes
