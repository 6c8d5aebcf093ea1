"""The reference cycles a bulk import's pages leave are collected while it runs (sync/shared/collector.py
collect_cycles), not kept to its end: with the young generation's threshold raised above what a page holds, its count
never reached it (each page's containers are freed as the next one's are made), so no collection ran during a run
and every page's cycles (its look-ups' statements, about 75 KB) stayed: memory that grew with the tenant."""

from __future__ import annotations

import weakref

from customer_support import run

from colcw_plugin.sync.customers import importer
from colcw_plugin.sync.shared.collector import PAGES_PER_COLLECTION
from host_stub.extensions import db
from host_stub.models import Customer

PAGE = 20


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_a_cycle_left_by_an_early_page_is_freed_within_a_few_pages_not_at_the_run_end(connected, monkeypatch):
    pages = PAGES_PER_COLLECTION + 2
    connected.generate(companies=pages * PAGE, contacts_per_company=1)
    monkeypatch.setattr(importer, "PAGE", PAGE)
    left: list[weakref.ref] = []
    alive: list[bool] = []  # at the start of each page: whether the first page's cycle is still held
    page = importer.CompanyImporter._page

    def saving(self, records, **kw):
        if not left:  # the first page leaves a cycle behind, as its statements do
            left.append(weakref.ref(Cycle()))
        alive.append(left[0]() is not None)
        return page(self, records, **kw)

    monkeypatch.setattr(importer.CompanyImporter, "_page", saving)
    result = run("customer_import", {"mode": "all"})
    assert result.status == "succeeded" and db.session.query(Customer).count() == pages * PAGE
    assert len(alive) == pages
    assert not alive[PAGES_PER_COLLECTION], alive  # collected at the start of the tenth page, before the eleventh
