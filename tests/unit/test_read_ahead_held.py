"""Reading ahead holds a bounded number of items out of the consumer's hands (sync/shared/prefetch.py), counted by the
items alive, not by timing: a bulk import's page is 1,000 companies and their contacts, and each page held beside the
one being saved is memory. With ``depth`` 0 the reader reads the next item while the consumer works on this one and
stops there; it used to read one more and hold it while it waited for room in the queue (three pages alive at once
in an import, where a 2,500-company run holds all it reads in three: its peak memory was the long runs' less a page)."""

from __future__ import annotations

import threading
import weakref

import pytest

from colcw_plugin.sync.shared.prefetch import read_ahead


class Item:
    def __init__(self, n: int):
        self.n = n


def _settled(alive: weakref.WeakSet, made: list[int]) -> int:
    """How many items are alive once the reader has read as far as it is allowed (no new item for 0.3 s)."""
    pause = threading.Event()
    seen = -1
    for _ in range(50):
        if made[0] == seen:
            break
        seen = made[0]
        pause.wait(0.3)
    return len(alive)


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_at_most_depth_and_one_more_items_are_alive_beside_the_one_the_consumer_holds(depth):
    alive: weakref.WeakSet = weakref.WeakSet()
    made = [0]

    def items():
        for n in range(6):
            item = Item(n)
            alive.add(item)
            made[0] += 1
            yield item

    reader = read_ahead(items(), depth=depth, name=f"held-{depth}")
    most = 0
    got = []
    for item in reader:
        got.append(item.n)
        most = max(most, _settled(alive, made))
        del item  # the consumer is done with it: only what the reader holds stays alive
    assert got == list(range(6))
    # The consumer's item, the one being read or read, and ``depth`` waiting: no item read and held beside them.
    assert most == depth + 2, most


def test_with_depth_0_the_next_item_is_read_while_the_consumer_works_on_this_one():
    started = threading.Event()
    read = []

    def items():
        for n in range(5):
            read.append(n)
            if n == 1:
                started.set()
            yield n

    reader = read_ahead(items(), depth=0)
    assert next(reader) == 0
    assert started.wait(5)  # item 1 is read before the consumer asks for it
    threading.Event().wait(0.3)
    assert read == [0, 1]  # and nothing past it
    assert list(reader) == [1, 2, 3, 4]
