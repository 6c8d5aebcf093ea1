"""Per-endpoint request counters for job logs and benchmarks."""

from __future__ import annotations

import functools
import re
import threading
from collections import Counter

_ID_SEGMENT = re.compile(r"^\d+$")


@functools.lru_cache(maxsize=4096)
def path_template(path: str) -> str:
    """Collapse numeric ids: ``company/companies/12/sites/3`` -> ``company/companies/{id}/sites/{id}``. Remembered per
    path (a regex per segment of every request's path, where most paths come again: lists, a record's children)."""
    segments = [s for s in path.split("?", 1)[0].strip("/").split("/") if s]
    return "/".join("{id}" if _ID_SEGMENT.match(s) else s for s in segments)


class RequestStats:
    """Thread-safe counts of HTTP requests sent, keyed ``"METHOD path-template"``.

    Every attempt counts, retries included, because that is what ConnectWise sees.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._retries = 0
        self._retry_wait = 0.0

    def record(self, method: str, template: str) -> None:
        """Count one request."""
        with self._lock:
            self._counts[f"{method.upper()} {template}"] += 1

    def record_retry(self, waited: float) -> None:
        """Count one retry and the seconds slept before it."""
        with self._lock:
            self._retries += 1
            self._retry_wait += waited

    @property
    def counts(self) -> dict[str, int]:
        """A copy of the per-endpoint counts."""
        with self._lock:
            return dict(self._counts)

    @property
    def total(self) -> int:
        """All requests sent since the last reset."""
        with self._lock:
            return sum(self._counts.values())

    @property
    def retries(self) -> int:
        """Requests that were retries of an earlier failed attempt."""
        with self._lock:
            return self._retries

    @property
    def retry_wait_seconds(self) -> float:
        """Seconds spent sleeping between retries."""
        with self._lock:
            return self._retry_wait

    def snapshot(self) -> dict[str, object]:
        """A JSON-friendly summary for job logs."""
        with self._lock:
            return {
                "total": sum(self._counts.values()),
                "by_endpoint": dict(sorted(self._counts.items())),
                "retries": self._retries,
                "retry_wait_seconds": round(self._retry_wait, 3),
            }

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self._counts.clear()
            self._retries = 0
            self._retry_wait = 0.0

    def __repr__(self) -> str:
        return f"<RequestStats total={self.total} retries={self.retries}>"
