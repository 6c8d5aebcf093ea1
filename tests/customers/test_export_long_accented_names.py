"""A customer whose name is long and full of letters ConnectWise may hold accented (c, n, s, y, z: each asked for as
the class of its forms, "[yýÿ]", which percent-encoded grows to 19 characters) is exported like any other: its
look-alike read is made to fit ConnectWise's URL length (one pattern instead of four, then fewer classes), split
from the other customers' where they do not fit together, and still finds the accented spelling of its name. It
failed with "a ConnectWise URL of 1813 characters (the limit is 1745)", and in a bulk export failed every customer.
A name longer than ConnectWise's 50 characters gets the usual "at most 50" refusal. Against the sandbox over HTTP."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from customer_support import companies, export, items, link_of, make_customer, run

from colcw_plugin.cw.query import DEFAULT_MAX_URL_LENGTH
from colcw_plugin.sync.customers import export_reads
from host_stub.extensions import db

API = "/apis/3.0/"
ONE_CONTACT = [{"first_name": "Dana", "last_name": "Reyes", "email": "dana@example.com", "is_default": True}]
QA_NAMES = ["Lincoln County Emergency Services District No 5",  # 47 characters: a URL of 1813 characters
            "Synergy Cyber Security Consulting Services, Inc.",  # 48: 1753
            "Synchrony Scissors Snazzy Zinc Cynics Sunny Syncs"]  # 49: 2781
# The worst cases of 50 characters: every letter one with accented forms, y's ("[yýÿ]") most of all, in one word
# and in 25 words (a word's edge is a class too).
WORST = ["Synchrony Scissors Snazzy Zinc Cynics Sunny Syncsy", "Y" * 50, " ".join("y" * 25) + "z",
         "Szczyzny Cyzysz Nyssyn Zyzzyns Syncyzs Snyzcyzz Ys"]


def _company_reads(sandbox) -> list[dict]:
    return [r for r in sandbox.requests() if API in r["path"] and r["method"] == "GET"
            and r["path"].endswith("company/companies")]


def _url_length(sandbox, request: dict) -> int:
    """The URL as the sandbox received it (the sandbox refuses one over 2,048 characters; colcw keeps to 1,745)."""
    return len(sandbox.base_url) + len(request["path"]) + 1 + len(request["query"])


@pytest.mark.parametrize("name", QA_NAMES + WORST)
def test_a_long_name_of_accented_letters_is_exported(sync_ready, name):
    assert len(name) <= 50
    customer = make_customer(name=name, account_number="LONG1", phone="512-555-0170", contacts=ONE_CONTACT)
    sync_ready.clear_requests()
    result = export(customer.id)
    outcome = items(result, "customer")
    assert [i.action for i in outcome] == ["created"], [i.message for i in outcome]
    assert [(c["identifier"], c["name"]) for c in companies(sync_ready)] == [("LONG1", name)]
    assert link_of("customer", customer.id) is not None
    reads = _company_reads(sync_ready)
    assert any("name like" in parse_qs(r["query"]).get("conditions", [""])[0] for r in reads)  # look-alikes asked
    assert all(_url_length(sync_ready, r) <= DEFAULT_MAX_URL_LENGTH for r in reads)


def test_a_name_longer_than_connectwise_allows_gets_the_at_most_50_refusal(sync_ready):
    name = "Synchrony Scissors Snazzy Zinc Cynics Sunny Syncs and Zyzzyva Cynosure Szy"  # 74 characters
    customer = make_customer(name=name, account_number="LONG74", contacts=ONE_CONTACT)
    result = export(customer.id)
    [outcome] = items(result, "customer")
    assert outcome.action == "failed"
    assert "is 74 characters long; ConnectWise allows at most 50" in outcome.message, outcome.message
    assert "URL" not in outcome.message
    assert companies(sync_ready) == []


def test_a_bulk_export_with_long_names_among_others_exports_them_all(sync_ready):
    made = sync_ready.api("POST", "company/companies", json={"identifier": "OTHER", "name": "Unrelated Plumbing",
                                                            "city": "Austin"})
    assert made.status_code == 201, made.text
    # (a tenant holding a company: the bulk pass reads look-alikes, as it skips them against an empty tenant)
    names = ["Acme Corp", *QA_NAMES, *WORST, "Harbor Logistics"]
    customers = [make_customer(name=n, account_number=f"BULK{i}", phone=f"512-555-01{i:02d}", contacts=ONE_CONTACT)
                 for i, n in enumerate(names)]
    sync_ready.clear_requests()
    result = run("customer_export", {"customer_ids": [c.id for c in customers]})
    outcome = {i.host_id: i for i in items(result, "customer")}
    assert {c.id: outcome[c.id].action for c in customers} == {c.id: "created" for c in customers}, \
        [i.message for i in outcome.values()]
    assert result.status == "succeeded", result.message
    held = {c["identifier"]: c["name"] for c in companies(sync_ready)}
    assert held == {"OTHER": "Unrelated Plumbing", **{f"BULK{i}": n for i, n in enumerate(names)}}
    reads = [r for r in _company_reads(sync_ready) if "name like" in parse_qs(r["query"]).get("conditions", [""])[0]]
    assert len(reads) > 1  # the chunk's look-alikes asked for in several requests, each fitting
    assert all(_url_length(sync_ready, r) <= DEFAULT_MAX_URL_LENGTH for r in reads)


def test_an_accented_look_alike_is_still_found_when_the_patterns_are_shortened(sync_ready, cw_client):
    accented = "Sÿnchrony Sçissors Snazzy Zinc Cyñics Sunny Syñcš"
    made = sync_ready.api("POST", "company/companies", json={"identifier": "SYNOLD", "name": accented, "city": "Austin"})
    assert made.status_code == 201, made.text
    customer = make_customer(name=QA_NAMES[2], account_number="SYN1", phone="", contacts=ONE_CONTACT)
    # Exported: not created beside its look-alike (the one pattern, classes kept, at ConnectWise's URL length) ...
    sync_ready.clear_requests()
    [outcome] = items(export(customer.id), "customer")
    assert outcome.action == "failed" and "SYNOLD" in outcome.message, outcome.message
    classes = [_classes(sync_ready)]
    # ... nor with room for ever fewer of its letters' classes, down to none (each limit 5 characters below the one
    # before: less than a class's length); with no room even for that, its name is not asked for.
    db.session.expire_all()
    limit = 800
    while True:
        cw_client.max_url_length = limit
        sync_ready.clear_requests()
        found = export_reads.look_alikes_of(db.session, cw_client, db.session.get(type(customer), customer.id))
        assert all(_url_length(sync_ready, r) <= limit for r in _company_reads(sync_ready))
        count = _classes(sync_ready)
        if count is None:
            assert found == [] and limit < 600, limit
            break
        assert [a.identifier for a in found] == ["SYNOLD"], limit
        classes.append(count)
        limit -= 5
    assert classes == sorted(classes, reverse=True) and classes[0] > classes[1] and classes[-1] == 0, classes
    assert [c["identifier"] for c in companies(sync_ready)] == ["SYNOLD"]


def _classes(sandbox) -> int | None:
    """How many letters the look-alike read asked for as their accented forms ("[cç]"), in its name patterns (None:
    it asked for no name)."""
    reads = [c for c in (parse_qs(r["query"]).get("conditions", [""])[0] for r in _company_reads(sandbox))
             if "name like" in c]
    if not reads:
        return None
    return sum(part.count("[") - part.count("[^") for part in reads[0].split(" OR ") if part.startswith("name like"))
