"""A bulk import's pages are dropped before the cyclic collector walks them (sync/shared/collector.py): a page of
1,000 companies and their contacts, decoded, mapped and written, holds about 90,000 containers at once, and with the
young generation collected every 50,000 of them each collection walked the page alive (about a tenth of a
10,000-company import's processor time: 18 collections, 0.3 s). Reference counting frees the page when it is saved."""

from __future__ import annotations

import gc

from customer_support import run

from colcw_plugin.sync.shared.collector import BULK_THRESHOLD
from host_stub.extensions import db
from host_stub.models import Contact, Customer


def test_a_page_of_companies_is_imported_without_a_young_collection(connected):
    made = connected.generate(companies=1000, contacts_per_company=2.5)
    young = []

    def seen(phase: str, info: dict) -> None:
        if phase == "start" and gc.get_threshold() == BULK_THRESHOLD:  # while the import's pages are read and saved
            young.append(info["generation"])

    gc.callbacks.append(seen)
    try:
        result = run("customer_import", {"mode": "all"})
    finally:
        gc.callbacks.remove(seen)
    assert db.session.query(Customer).count() == 1000 and db.session.query(Contact).count() == made["contacts"]
    assert result.counts == {"created": 1000 + made["contacts"]}, result.counts
    assert young == [], young
