"""The records a run has finished, in a bit per record id (a helper of :mod:`.recorder`).

A run counts the distinct records with an outcome (its ``done``) and, for a selection of ids, tells
which are still to do. A set of ``(entity, "host" | "cw", id)`` tuples cost about 130 bytes a record:
5 MB of a 40,000-company import's memory, growing with the tenant where the import's other memory
is one page's worth. Record ids are database serials, dense from 1, so each kind of key keeps a
bitmap instead: one bit per id up to the largest (5 KB for ids up to 40,000). An id past
:data:`BITMAP_LIMIT`, or below 0, goes to a plain set, so no id makes the bitmap large.
"""

from __future__ import annotations

from collections.abc import Iterator

BITMAP_LIMIT = 1 << 26  # ids up to this are bits (8 MB at most per kind of key); larger ones a set


class IdSet:
    """A set of integer ids: a bitmap for ids from 0 to :data:`BITMAP_LIMIT`, a set for the others."""

    __slots__ = ("_bits", "_others", "_count")

    def __init__(self) -> None:
        self._bits = bytearray()
        self._others: set[int] = set()
        self._count = 0

    def add(self, i: int) -> bool:
        """Add ``i``; whether it was not there yet."""
        if not 0 <= i < BITMAP_LIMIT:
            if i in self._others:
                return False
            self._others.add(i)
            return True
        byte, bit = i >> 3, 1 << (i & 7)
        if byte >= len(self._bits):
            # Grown by half again at least: ids come in no order, and one byte at a time would copy the bitmap each time.
            self._bits.extend(bytes(max(byte + 1 - len(self._bits), len(self._bits) // 2)))
        elif self._bits[byte] & bit:
            return False
        self._bits[byte] |= bit
        self._count += 1
        return True

    def __contains__(self, i: object) -> bool:
        if not isinstance(i, int):
            return False
        if not 0 <= i < BITMAP_LIMIT:
            return i in self._others
        byte = i >> 3
        return byte < len(self._bits) and bool(self._bits[byte] & (1 << (i & 7)))

    def __len__(self) -> int:
        return self._count + len(self._others)

    def __iter__(self) -> Iterator[int]:
        for byte, value in enumerate(self._bits):
            if value:
                yield from (byte * 8 + b for b in range(8) if value >> b & 1)
        yield from sorted(self._others)


class FinishedKeys:
    """Record keys ``(entity, kind, id)`` (kind: "host" or "cw"), as a set of them answers: ``add``, ``in``,
    ``len``; an :class:`IdSet` per entity and kind."""

    __slots__ = ("_ids",)

    def __init__(self) -> None:
        self._ids: dict[tuple[str, str], IdSet] = {}

    def add(self, key: tuple[str, str, int]) -> None:
        entity, kind, i = key
        ids = self._ids.get((entity, kind))
        if ids is None:
            ids = self._ids[(entity, kind)] = IdSet()
        ids.add(int(i))

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 3:
            return False
        ids = self._ids.get((key[0], key[1]))
        return ids is not None and key[2] in ids

    def __len__(self) -> int:
        return sum(len(ids) for ids in self._ids.values())
