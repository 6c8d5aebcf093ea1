"""Which runs colcw's worker runs in its own process (JobKind.one_record, issue 14): a run of one record a person
waits for; every other run in a work horse forked for it."""

from __future__ import annotations


def test_the_runs_a_person_waits_for_are_the_ones_of_one_record():
    from colcw_plugin.sync.customers.kinds import CUSTOMER_EXPORT, CUSTOMER_IMPORT
    from colcw_plugin.sync.inbound.kinds import LIVE_UPDATE, RECONCILE
    from colcw_plugin.sync.jobs.kinds import KindRegistry
    from colcw_plugin.sync.quotes.kinds import QUOTE_EXPORT

    kinds = KindRegistry([QUOTE_EXPORT, CUSTOMER_EXPORT, CUSTOMER_IMPORT, LIVE_UPDATE, RECONCILE])
    one = kinds.one_record
    assert one("quote_export", {"document_id": 7}) and not one("quote_export", {"document_ids": [7]})
    assert not one("quote_export", {"all": True})
    assert one("customer_export", {"customer_id": 3}) and not one("customer_export", {"customer_ids": [3]})
    assert one("customer_import", {"company": "ACME"}) and not one("customer_import", {"mode": "all"})
    assert not one("customer_import", {"company": ""}) and not one("customer_import", {"company_ids": [5]})
    assert not one(LIVE_UPDATE.name, {}) and not one(RECONCILE.name, {"mode": "changed"}) and not one("nope", {})
