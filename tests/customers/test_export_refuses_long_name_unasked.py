"""A customer whose name is longer than ConnectWise's 50 characters (or that lacks an account number or an address) is
refused before colcw asks ConnectWise anything: the export read the state list, the company by its Company ID and
companies with look-alike names, and only then said the name was too long. In a bulk export the other customers are
exported as before. Counted in the sandbox's request log."""

from __future__ import annotations

from customer_support import companies, export, items, make_customer, run

ONE_CONTACT = [{"first_name": "Dana", "last_name": "Reyes", "email": "dana@example.com", "is_default": True}]
LONG = "Synchrony Scissors Snazzy Zinc Cynics Sunny Syncs and Zyzzyva Cynosure Szy"  # 74 characters


def test_a_name_over_50_characters_is_refused_before_any_request(sync_ready):
    customer = make_customer(name=LONG, account_number="LONG74", contacts=ONE_CONTACT)
    sync_ready.clear_requests()
    result = export(customer.id)
    [outcome] = items(result, "customer")
    assert outcome.action == "failed"
    assert outcome.message == f"{LONG} (LONG74): Company Name is 74 characters long; ConnectWise allows at most 50.", \
        outcome.message
    assert outcome.resolution == "Shorten the company name in ChannelOnline and export again."
    assert sync_ready.requests() == []
    assert companies(sync_ready) == []


def test_a_bulk_export_refuses_the_long_name_unasked_and_exports_the_others(sync_ready):
    made = sync_ready.api("POST", "company/companies", json={"identifier": "OTHER", "name": "Unrelated Plumbing",
                                                            "city": "Austin"})
    assert made.status_code == 201, made.text  # (a tenant holding a company: the bulk pass reads look-alikes)
    fine = make_customer(name="Harbor Logistics", account_number="FINE1", contacts=ONE_CONTACT)
    long = make_customer(name=LONG, account_number="LONG74", contacts=ONE_CONTACT)
    sync_ready.clear_requests()
    result = run("customer_export", {"customer_ids": [long.id, fine.id]})
    outcome = {i.host_id: i for i in items(result, "customer")}
    assert outcome[fine.id].action == "created", outcome[fine.id].message
    assert outcome[long.id].action == "failed"
    assert "is 74 characters long; ConnectWise allows at most 50" in outcome[long.id].message
    assert sorted(c["identifier"] for c in companies(sync_ready)) == ["FINE1", "OTHER"]
    asked = " ".join(r["query"] for r in sync_ready.requests())
    assert "FINE1" in asked  # the other customer's company was looked for
    assert "LONG74" not in asked and "Zyzzyva" not in asked  # ConnectWise was never asked about it
