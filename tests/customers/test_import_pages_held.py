"""A bulk import holds two pages of companies at most (sync/customers/importer.py READ_AHEAD): the one it saves and
the next one, read meanwhile with its contacts; the contacts' pages on their way are held as bytes, not records. Counted by the records alive when a page is saved, once the reading
ahead has gone as far as it may: a third page read and held beside them (1,000 companies and their contacts, about
7 MB decoded) made a long import's peak memory higher than a short one's, whose records all fit in three pages."""

from __future__ import annotations

import threading
import weakref

from customer_support import run

from colcw_plugin.cw import paging
from colcw_plugin.sync.customers import importer
from host_stub.extensions import db
from host_stub.models import Contact, Customer

PAGE = 50


class Record(dict):
    """A decoded record that can be counted alive (a weak reference to it)."""

    __slots__ = ("__weakref__",)


def test_an_import_holds_the_page_it_saves_and_the_next_one_and_no_more(connected, monkeypatch):
    made = connected.generate(companies=8 * PAGE, contacts_per_company=2.5)
    monkeypatch.setattr(importer, "PAGE", PAGE)  # eight pages of companies, twenty of contacts
    alive = {"companies": 0, "contacts": 0}
    refs: dict[int, weakref.ref] = {}  # (by the reference's id: a record is a dict, it has no hash)
    lock = threading.Lock()

    def track(record: Record, kind: str) -> None:
        def gone(ref: weakref.ref) -> None:
            with lock:
                alive[kind] -= 1
                refs.pop(id(ref), None)

        with lock:
            alive[kind] += 1
            ref = weakref.ref(record, gone)
            refs[id(ref)] = ref
    decoded = [0]
    rows = paging._rows

    def counted(response, path):
        out = [Record(r) for r in rows(response, path)]
        for r in out:
            track(r, "contacts" if "contacts" in path else "companies")
        decoded[0] += 1
        return out

    monkeypatch.setattr(paging, "_rows", counted)
    held: list[tuple[int, int, int]] = []  # at each page saved: companies alive, contacts alive, its contacts
    page = importer.CompanyImporter._page

    def saving(self, records, **kw):
        pause, seen = threading.Event(), -1
        # The next page of companies read (all but the last page have one): a loaded machine's reader may take its
        # time. Then until the reading ahead has read all it may: no page decoded for 0.3 s (a third page, read beside
        # them, would show then).
        wanted = 2 * PAGE if len(held) < 7 else PAGE
        for _ in range(300):
            if alive["companies"] >= wanted:
                break
            pause.wait(0.1)
        for _ in range(50):
            if decoded[0] == seen:
                break
            seen = decoded[0]
            pause.wait(0.3)
        theirs = sum(len(v) for v in (kw.get("contacts") or {}).values())
        held.append((alive["companies"], alive["contacts"], theirs))
        return page(self, records, **kw)

    monkeypatch.setattr(importer.CompanyImporter, "_page", saving)
    result = run("customer_import", {"mode": "all"})
    assert result.status == "succeeded" and result.counts == {"created": 8 * PAGE + made["contacts"]}, result.counts
    assert db.session.query(Customer).count() == 8 * PAGE and db.session.query(Contact).count() == made["contacts"]
    assert len(held) == 8
    # The page being saved and the next one: never a third.
    assert max(companies for companies, _, _ in held) <= 2 * PAGE, held
    assert [companies for companies, _, _ in held[:6]] == [2 * PAGE] * 6, held  # (the next one was read each time)
    # Their contacts, and the page of contacts being taken: the pages asked for side by side wait undecoded (as their
    # answers' bytes, cw/paging.py PagesAtOnce), not as records.
    for n, (_, contacts, _) in enumerate(held[:-1]):
        assert contacts <= held[n][2] + held[n + 1][2] + PAGE, (n, held)
