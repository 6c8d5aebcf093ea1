"""The tenant's ConnectWise codebase, remembered in Redis for every web process, worker and command.

A client built for a run or for a page's request reads the codebase here instead of asking
ConnectWise's login host first (see :mod:`colcw_plugin.cw.discovery`). Redis being away only costs
that request again: the client then discovers the codebase as it would without a memo.

When no codebase is remembered, the clients of several processes starting at once (two workers' runs) make one
lookup: the first claims it here and the others wait a moment for the codebase it remembers
(:class:`colcw_plugin.cw.client.SharedLookup`; a bounded wait, after which each looks up on its own).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from redis.exceptions import RedisError

from ..cw.discovery import CODEBASE_TTL_SECONDS
from .ratelimit import tenant_key

log = logging.getLogger(__name__)

PREFIX = "colcw:codebase:"

# KEYS[1] = a lookup's claim, ARGV[1] = its holder's token: ended only by its holder (not one taken since it lapsed).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


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

    # -- one lookup for every process (colcw_plugin.cw.client.SharedLookup) ---------------------------------------

    @classmethod
    def claim_key(cls, site_root: str, company_id: str) -> str:
        return cls.key(site_root, company_id) + ":lookup"

    def claim(self, site_root: str, company_id: str, seconds: float) -> Callable[[], None] | None:
        """Claim the tenant's company lookup for ``seconds`` at most: the function that ends the claim (this one's
        only, not one taken since it lapsed), or None when another client holds it. Redis away: a function that does
        nothing (each client looks up on its own, as without the memo)."""
        key, token = self.claim_key(site_root, company_id), uuid.uuid4().hex
        try:
            taken = self.redis.set(key, token, nx=True, px=max(1, int(seconds * 1000)))
        except RedisError as e:
            self._unavailable(e)
            return lambda: None
        if not taken:
            return None

        def release() -> None:
            try:
                self.redis.eval(_RELEASE, 1, key, token)
            except RedisError as e:  # the claim lapses on its own
                self._unavailable(e)

        return release

    def claimed(self, site_root: str, company_id: str) -> bool:
        """Whether a client holds the tenant's lookup claim now (False when Redis does not answer)."""
        try:
            return bool(self.redis.exists(self.claim_key(site_root, company_id)))
        except RedisError as e:
            self._unavailable(e)
            return False

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
