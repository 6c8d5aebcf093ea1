"""A bulk import that leaves look-alikes for a person to map does not say "Succeeded — 100 %": each is failed with
what to do (as the export's look-alike is), and the run is "Partly failed"."""

from __future__ import annotations

from customer_support import items, make_customer, run

from helpers import sign_in


def test_an_import_that_left_look_alikes_to_map_is_partly_failed(connected, app):
    make_customer(name="Northwind Dental", account_number="LOCAL7", phone="512-555-0177", contacts=[])
    for ident, name in (("NORTHWIND", "Northwind Dental LLC"), ("GRANITE", "Granite Law")):
        assert connected.api("POST", "company/companies", json={"identifier": ident, "name": name,
                                                                "city": "Austin"}).status_code == 201

    done = run("customer_import", {"mode": "all"})

    assert done.status == "partial" and done.status_label == "Partly failed", done.message
    assert done.records_summary == "customers: 1 created, 1 failed", done.records_summary
    failed = [i for i in items(done, "customer") if i.action == "failed"]
    assert [i.label for i in failed] == ["Northwind Dental LLC (NORTHWIND)"]
    assert "looks like the ChannelOnline customer Northwind Dental (LOCAL7)" in failed[0].message
    assert "Map customers" in failed[0].resolution
    page = sign_in(app.test_client(), "admin@demo.example").get(
        f"/admin/integration/connectwise/jobs/runs/{done.id}").get_data(as_text=True)
    assert "Partly failed" in page and "Succeeded" not in page
