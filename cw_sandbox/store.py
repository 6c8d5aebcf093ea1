"""The sandbox's record store: JSON objects per resource, in memory, optionally in SQLite.

One re-entrant lock guards every read-modify-write, which is plenty for a test server.
Stored dicts are never mutated in place: a write puts a new dict in, so a reader that took a
snapshot (``all``) can serialise it after releasing the lock without seeing half a write.
With ``db_path`` every write goes through to SQLite at once (one row per record), so a
second app instance on the same file sees the same tenant.

Reads that filter use ``lookup`` (an equality index per field path, built on first use and kept
up to date by every write) and ``after`` (the records above an id, found by bisection), so a
query's cost follows the rows it can match rather than the size of the table. ``version`` changes
with every write to a resource, for callers that cache query results.
"""

from __future__ import annotations

import bisect
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from cw_sandbox.indexes import Index, Key


class Store:
    """Records keyed by resource name and integer id, with per-resource id counters."""

    def __init__(self, db_path: str | None = None) -> None:
        self.lock = threading.RLock()
        self._data: dict[str, dict[int, dict]] = {}
        self._next_id: dict[str, int] = {}
        self._meta: dict[str, Any] = {}
        self._indexes: dict[str, dict[str, Index]] = {}
        self._sorted_ids: dict[str, list[int]] = {}
        self._versions: dict[str, int] = {}
        self._db: sqlite3.Connection | None = None
        if db_path:
            # check_same_thread=False: werkzeug serves each request on its own thread; the
            # store lock serialises every use of the connection.
            self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS records (resource TEXT NOT NULL, id INTEGER NOT NULL, "
                "data TEXT NOT NULL, PRIMARY KEY (resource, id))")
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._load()

    # -- persistence -------------------------------------------------------------------
    def _load(self) -> None:
        assert self._db is not None
        for resource, rid, data in self._db.execute("SELECT resource, id, data FROM records ORDER BY resource, id"):
            self._data.setdefault(resource, {})[rid] = json.loads(data)
        for key, value in self._db.execute("SELECT key, value FROM meta"):
            self._meta[key] = json.loads(value)
        self._next_id = {k: int(v) for k, v in self._meta.get("next_id", {}).items()}

    def _persist(self, resource: str, records: Iterable[dict]) -> None:
        if self._db is None:
            return
        rows = [(resource, r["id"], json.dumps(r)) for r in records]
        self._db.execute("BEGIN")
        self._db.executemany("INSERT OR REPLACE INTO records (resource, id, data) VALUES (?, ?, ?)", rows)
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('next_id', ?)",
                         (json.dumps(self._next_id),))
        self._db.execute("COMMIT")

    def is_empty(self) -> bool:
        """True when no record of any resource is held (a new database file)."""
        with self.lock:
            return not any(self._data.values())

    def clear(self) -> None:
        """Forget every record, counter and meta value (memory and file)."""
        with self.lock:
            self._data.clear()
            self._next_id.clear()
            self._meta.clear()
            self._indexes.clear()
            self._sorted_ids.clear()
            for resource in self._versions:
                self._versions[resource] += 1
            if self._db is not None:
                self._db.execute("DELETE FROM records")
                self._db.execute("DELETE FROM meta")

    def dump(self) -> str:
        """Every record, id counter and meta value as one JSON text, for ``restore``."""
        with self.lock:
            return json.dumps({"data": {resource: list(table.values()) for resource, table in self._data.items()},
                               "next_id": self._next_id, "meta": self._meta}, ensure_ascii=False)

    def restore(self, text: str) -> None:
        """Hold exactly what ``dump`` wrote (memory and file), instead of anything held before: a reset to a
        seed copies the seed's records rather than writing them one by one again. Every resource's version
        moves on (cached query results of before are not used again)."""
        state = json.loads(text)
        with self.lock:
            for resource in set(self._versions) | set(state["data"]):
                self._versions[resource] = self._versions.get(resource, 0) + 1
            self._data.clear()
            self._data.update({resource: {r["id"]: r for r in rows} for resource, rows in state["data"].items()})
            self._next_id.clear()
            self._next_id.update(state["next_id"])
            self._meta.clear()
            self._meta.update(state["meta"])
            self._indexes.clear()
            self._sorted_ids.clear()
            if self._db is not None:
                self._db.execute("BEGIN")
                self._db.execute("DELETE FROM records")
                self._db.execute("DELETE FROM meta")
                self._db.executemany("INSERT INTO records (resource, id, data) VALUES (?, ?, ?)",
                                     [(resource, r["id"], json.dumps(r)) for resource, rows in state["data"].items()
                                      for r in rows])
                self._db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                     [(k, json.dumps(v)) for k, v in {**self._meta, "next_id": self._next_id}.items()])
                self._db.execute("COMMIT")

    def get_meta(self, key: str, default: Any = None) -> Any:
        """A persisted setting (e.g. the codebase)."""
        with self.lock:
            return self._meta.get(key, default)

    def set_meta(self, key: str, value: Any) -> None:
        """Persist a setting."""
        with self.lock:
            self._meta[key] = value
            if self._db is not None:
                self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    # -- records -------------------------------------------------------------------------
    def new_id(self, resource: str) -> int:
        """Reserve the next id of ``resource`` (ids are never reused, as in ConnectWise)."""
        with self.lock:
            nid = self._next_id.get(resource, 1)
            self._next_id[resource] = nid + 1
            return nid

    def get(self, resource: str, rid: int) -> dict | None:
        """The record, or None."""
        with self.lock:
            return self._data.get(resource, {}).get(rid)

    def all(self, resource: str) -> list[dict]:
        """A snapshot list of the records in id order (ids only grow, so insertion order is id order)."""
        with self.lock:
            return list(self._data.get(resource, {}).values())

    def get_many(self, resource: str, ids: Iterable[int]) -> list[dict]:
        """The records with these ids that exist, in id order."""
        with self.lock:
            table = self._data.get(resource, {})
            return [table[i] for i in sorted(ids) if i in table]

    def lookup(self, resource: str, path: str, keys: Iterable[Key]) -> set[int]:
        """Ids of the records whose ``path`` value is filed under any of ``keys`` (see indexes.py)."""
        with self.lock:
            return self._index(resource, path).lookup(keys)

    def lookup_count(self, resource: str, path: str, keys: Iterable[Key]) -> int:
        """An upper bound of ``len(lookup(...))``, without building the set."""
        with self.lock:
            return self._index(resource, path).count(keys)

    def _index(self, resource: str, path: str) -> Index:
        indexes = self._indexes.setdefault(resource, {})
        index = indexes.get(path)
        if index is None:
            index = indexes[path] = Index(path, self._data.get(resource, {}).values())
        return index

    def after(self, resource: str, last_id: int) -> Iterator[dict]:
        """The records with an id above ``last_id``, in id order, read a chunk at a time (each chunk
        under the lock, so writers are never held up for long)."""
        chunk = self.after_chunk(resource, last_id)
        while chunk:
            yield from chunk
            chunk = self.after_chunk(resource, chunk[-1]["id"])

    def after_chunk(self, resource: str, last_id: int) -> list[dict]:
        """Up to 2000 records above ``last_id`` (one step of ``after``)."""
        with self.lock:
            ids = self._ids(resource)
            start = bisect.bisect_right(ids, last_id)
            table = self._data.get(resource, {})
            return [table[i] for i in ids[start:start + 2000]]

    def version(self, resource: str) -> int:
        """A number that changes with every write to ``resource``."""
        with self.lock:
            return self._versions.get(resource, 0)

    def _ids(self, resource: str) -> list[int]:
        ids = self._sorted_ids.get(resource)
        if ids is None:
            ids = self._sorted_ids[resource] = sorted(self._data.get(resource, {}))
        return ids

    def _indexed(self, resource: str, old: dict | None, new: dict | None) -> None:
        """Keep indexes, the sorted id list and the version in step with one write."""
        self._versions[resource] = self._versions.get(resource, 0) + 1
        for index in self._indexes.get(resource, {}).values():
            if old is not None:
                index.remove(old)
            if new is not None:
                index.add(new)
        ids = self._sorted_ids.get(resource)
        if ids is not None and (old is None) != (new is None):
            rid = (new or old or {})["id"]
            if new is not None and (not ids or rid > ids[-1]):
                ids.append(rid)
            else:
                self._sorted_ids.pop(resource, None)

    def count(self, resource: str) -> int:
        """How many records ``resource`` holds."""
        with self.lock:
            return len(self._data.get(resource, {}))

    def put(self, resource: str, record: dict) -> dict:
        """Insert or replace ``record`` (which carries its ``id``)."""
        return self.put_many(resource, [record])[0]

    def put_many(self, resource: str, records: list[dict]) -> list[dict]:
        """Insert or replace many records in one go (one SQLite transaction)."""
        with self.lock:
            table = self._data.setdefault(resource, {})
            for record in records:
                rid = record["id"]
                self._indexed(resource, table.get(rid), record)
                if rid not in table and table and rid < next(reversed(table)):
                    # Keep id order: only happens for restores of deleted ids, which we never do,
                    # but re-sort rather than silently break paging.
                    table[rid] = record
                    self._data[resource] = dict(sorted(table.items()))
                    table = self._data[resource]
                else:
                    table[rid] = record
                self._next_id[resource] = max(self._next_id.get(resource, 1), rid + 1)
            self._persist(resource, records)
            return records

    def delete(self, resource: str, rid: int) -> bool:
        """Remove a record; False when it did not exist."""
        with self.lock:
            removed = self._data.get(resource, {}).pop(rid, None)
            if removed is not None:
                self._indexed(resource, removed, None)
            if removed is not None and self._db is not None:
                self._db.execute("DELETE FROM records WHERE resource = ? AND id = ?", (resource, rid))
            return removed is not None
