"""Bulk work with the cyclic garbage collector told what is long-lived.

A bulk run (every company imported, thousands of customers exported) allocates millions of small
containers — records, mapped values, rows — and CPython's cyclic collector runs every 700 net
allocations, each of its full passes walking every object the process holds: the Flask app, the
SQLAlchemy mappers, the run's own page. Measured on a 10,000-company import, the collector took
about a fifth of colcw's CPU. :func:`bulk_allocations` moves what the process held before the run
into the collector's permanent generation (``gc.freeze``: it is not walked again) and collects the
young generation less often while the run lasts, then puts both back. Reference counting frees what
the run drops as before; only cycles wait a little longer to be collected.

With the young threshold above what a page holds, the young generation's count (allocations less deallocations)
never reaches it at all: a page's containers are freed as fast as the next page's are made, so no collection ran
while the run lasted and the few reference cycles each page leaves (the statements of its look-ups: about 70
objects, 75 KB a page by their own size) were all kept to the run's end: over a 40,000-company import's pages the
interpreter's heap grew by 5.6 MB (flat with them collected), growing with the tenant. :func:`collect_cycles`
collects them every few pages (:data:`PAGES_PER_COLLECTION`), between two, where the least is alive.

The collector's settings belong to the process, and threads of one process may run bulk work at the
same time: the first to enter changes them, the last to leave restores them.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Young-generation collections after this many net container allocations (CPython's default: 700): more than a
# bulk import's page holds at once (1,000 companies with their contacts, decoded, mapped and written: about 90,000),
# so a page is freed before a collection walks it (at 50,000, 18 collections of a 10,000-company import took 0.3 s).
BULK_THRESHOLD = (300_000, 20, 10)

# Pages of a bulk run between two collections of its young cycles (:func:`collect_cycles`): each walks the pages alive
# (the one just saved and the one read ahead: 7-11 ms measured), so not after every page; ten pages' cycles are about
# 1 MB at most, however many pages the run has.
PAGES_PER_COLLECTION = 10

_lock = threading.Lock()
_holders = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def bulk_allocations() -> Iterator[None]:
    """While the block runs: the process's objects frozen and young collections rarer (see the module)."""
    global _holders, _saved
    with _lock:
        _holders += 1
        if _holders == 1:
            _saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(*BULK_THRESHOLD)
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                gc.set_threshold(*_saved)
                gc.unfreeze()  # back into the oldest generation: a later full pass sees them again
                _saved = None


def collect_cycles(pages: int) -> None:
    """After a bulk run's ``pages``-th page: every :data:`PAGES_PER_COLLECTION` pages, the reference cycles its pages
    left (the young generations, those made since the last collection) collected, which the raised threshold would
    otherwise keep to the end of the run (see the module)."""
    if pages % PAGES_PER_COLLECTION == 0:
        gc.collect(1)
