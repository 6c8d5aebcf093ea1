"""The tenant's ConnectWise codebase, remembered in Redis for every web process, worker and command.

A client built for a run or for a page's request reads the codebase here instead of asking
ConnectWise's login host first (see :mod:`colcw_plugin.cw.discovery`). Redis being away only costs
that request again: the client then discovers the codebase as it would without a memo.
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from ..cw.discovery import CODEBASE_TTL_SECONDS
from .ratelimit import tenant_key

log = logging.getLogger(__name__)

PREFIX = "colcw:codebase:"


class RedisCodebases:
    """A :class:`~colcw_plugin.cw.discovery.CodebaseMemo` in Redis, each codebase kept ``ttl`` seconds."""

    def __init__(self, redis, ttl: int = CODEBASE_TTL_SECONDS) -> None:
        self.redis = redis
        self.ttl = ttl
        self._warned = False

    @staticmethod
    def key(site_root: str, company_id: str) -> str:
        return tenant_key(site_root, company_id, prefix=PREFIX)

    def get(self, site_root: str, company_id: str) -> str | None:
        try:
            value = self.redis.get(self.key(site_root, company_id))
        except RedisError as e:
            self._unavailable(e)
            return None
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else value

    def put(self, site_root: str, company_id: str, codebase: str) -> None:
        try:
            self.redis.set(self.key(site_root, company_id), codebase, ex=self.ttl)
        except RedisError as e:
            self._unavailable(e)

    def _unavailable(self, error: RedisError) -> None:
        if not self._warned:  # once per process: every client would say it again
            log.warning("Redis unavailable for the remembered ConnectWise codebase (%s); each client asks "
                        "ConnectWise for it", type(error).__name__)
            self._warned = True

    def forget_all(self) -> None:
        """Forget every tenant's codebase (the next client of each discovers it again)."""
        keys = list(self.redis.scan_iter(match=PREFIX + "*", count=500))
        if keys:
            self.redis.delete(*keys)
