"""The runtime colcw works with: built once per app by the composition root (``extension.py``) and
passed down, so no service reaches back up through ``current_app`` or a module global.

It holds the secret box, the Redis connection and the job queue, the registry of job kinds, the
host's plugin manager (for the host's unit of work) and the settings; and it is the one place
that knows how to build a ConnectWise client for the stored connection with the tenant-wide
rate limiter. Views and commands get it with :meth:`Runtime.of` and hand services what they need.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pluggy
from redis import Redis, RedisError
from sqlalchemy.orm import Session

from host_stub.gateway import UnitOfWork

from ..cw import ClientSettings, ConnectWiseClient
from ..cw.callbacks import SigningKeys
from ..cw.connections import SharedConnections
from ..errors import QueueBusy
from ..models import RunStatus, Settings, SyncRun
from ..setup.connection import build_client, read_settings
from ..setup.secrets import SecretBox
from .codebases import RedisCodebases
from .jobs.clocks import ConnectWiseWatch, tenant_from
from .jobs.kinds import KindRegistry, RunOptions
from .jobs.queue import JobQueue, QueueSettings, Submitted, enqueue_existing, submit
from .jobs.runs import execute_run
from .ratelimit import RedisRateLimiter, tenant_key

log = logging.getLogger(__name__)

# Settings (app config key → (environment variable default, parser)); a worker subprocess reads
# the environment, an app built by the tests its config.
_FLAGS = ("1", "true", "yes", "on")


def _intervals(raw: Any) -> tuple[float, ...]:
    if isinstance(raw, str):
        return tuple(float(x) for x in raw.split(",") if x.strip())
    return tuple(float(x) for x in raw)


@dataclass(frozen=True)
class ColcwConfig:
    """colcw's settings (``COLCW_*`` and ``REDIS_URL``; see the README's Configuration)."""

    redis_url: str = "redis://127.0.0.1:6379/0"
    allow_http: bool = False
    rate_limit_per_minute: float = 1000.0
    concurrency: int = 4
    # The most requests of the tenant's in flight at once, every web process, worker and machine together (shared
    # through Redis; without it, each process's own): ConnectWise asks for few at once (API-NOTES §6.3/§6.4) and answers
    # 429 beyond its own cap (the sandbox's: 10). A request waits for a free slot, as long as it may wait for a 429.
    cw_max_in_flight: int = 8
    history_days: int = 90
    cw_read_timeout: float = 30.0  # seconds to wait for ConnectWise's answer before the request counts as lost
    # The client's back-off before its first retry of a request ConnectWise failed (a 5xx, a dropped connection) and no
    # Retry-After timed: each later one doubles it (a wait is between half and all of it); the tests shorten it.
    cw_backoff_seconds: float = ClientSettings.backoff_base
    # seconds a create an earlier attempt sent and never saw end may still land before it is taken for lost
    create_settle_seconds: float = RunOptions.create_settle_seconds
    queue: QueueSettings = field(default_factory=QueueSettings)

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any], env: Mapping[str, str] = os.environ) -> ColcwConfig:
        """From an app's config, falling back to the environment, then to the defaults."""

        def get(name: str, default: Any) -> Any:
            value = config.get(name)
            if value is None or value == "":
                value = env.get(name)
            return default if value is None or value == "" else value

        q = QueueSettings()
        allow = get("COLCW_ALLOW_HTTP", False)
        return cls(
            redis_url=str(get("REDIS_URL", cls.redis_url)),
            allow_http=allow if isinstance(allow, bool) else str(allow).lower() in _FLAGS,
            rate_limit_per_minute=float(get("COLCW_RATE_LIMIT_PER_MINUTE", cls.rate_limit_per_minute)),
            concurrency=max(1, int(get("COLCW_CONCURRENCY", cls.concurrency))),
            cw_max_in_flight=max(1, int(get("COLCW_CW_MAX_IN_FLIGHT", cls.cw_max_in_flight))),
            history_days=int(get("COLCW_HISTORY_DAYS", cls.history_days)),
            cw_read_timeout=float(get("COLCW_CW_READ_TIMEOUT", cls.cw_read_timeout)),
            cw_backoff_seconds=float(get("COLCW_CW_BACKOFF_SECONDS", cls.cw_backoff_seconds)),
            create_settle_seconds=float(get("COLCW_CREATE_SETTLE_SECONDS", cls.create_settle_seconds)),
            queue=QueueSettings(
                name=str(get("COLCW_QUEUE", q.name)),
                retry_intervals=_intervals(get("COLCW_RETRY_INTERVALS", q.retry_intervals)),
                record_retry_intervals=_intervals(get("COLCW_RECORD_RETRY_INTERVALS", q.record_retry_intervals)),
                unreachable_after=int(get("COLCW_UNREACHABLE_AFTER", q.unreachable_after)),
                auto_resumes=int(get("COLCW_AUTO_RESUMES", q.auto_resumes)),
                job_timeout=int(float(get("COLCW_JOB_TIMEOUT", q.job_timeout))),
                liveness_seconds=int(float(get("COLCW_LIVENESS_SECONDS", q.liveness_seconds))),
                interrupted_after_seconds=float(get("COLCW_INTERRUPTED_AFTER_SECONDS", q.interrupted_after_seconds)),
                stalled_after_seconds=float(get("COLCW_STALLED_AFTER_SECONDS", q.stalled_after_seconds)),
                lost_after_seconds=float(get("COLCW_LOST_AFTER_SECONDS", q.lost_after_seconds)),
                submit_lock_wait_seconds=float(get("COLCW_SUBMIT_LOCK_WAIT_SECONDS", q.submit_lock_wait_seconds))))

# The longest Retry-After a queued run sleeps out in its worker; a longer one ends its attempt: the run waits, and RQ
# queues its next attempt for when ConnectWise asked (a run a person waits on, or the command line's, sleeps it out).
QUEUED_HOLD_SECONDS = 15.0


class Runtime:
    """What colcw's views, commands and jobs share (see the module doc)."""

    def __init__(self, config: ColcwConfig, box: SecretBox, kinds: KindRegistry,
                 hooks: pluggy.PluginManager | None = None):
        self.config = config
        self.box = box
        self.kinds = kinds
        self.hooks = hooks
        self.cw_clock_watch = ConnectWiseWatch()  # (what its runs' clients measure of ConnectWise's clock)

    @staticmethod
    def of(app: Any) -> Runtime:
        """The runtime of a Flask app (``app.extensions["colcw"]``)."""
        return app.extensions["colcw"]

    @cached_property
    def redis(self) -> Redis:
        """One Redis connection pool per app (``REDIS_URL``)."""
        return Redis.from_url(self.config.redis_url)

    @cached_property
    def queue(self) -> JobQueue:
        """colcw's job queues (``COLCW_QUEUE`` and its live queue, ``<COLCW_QUEUE>-live``)."""
        return JobQueue(self.redis, self.config.queue, in_process=self.kinds.one_record, urgent=self.kinds.urgent)

    @cached_property
    def connections(self) -> SharedConnections:
        """This process's connections to ConnectWise, lent to every client it builds (a forked job gets its own)."""
        return SharedConnections()

    @cached_property
    def codebases(self) -> RedisCodebases:
        """The tenants' codebases as last discovered, shared through Redis by every client colcw builds."""
        return RedisCodebases(self.redis)

    @cached_property
    def callback_keys(self) -> SigningKeys:
        """ConnectWise's callback signing keys, fetched once and cached for this process."""
        return SigningKeys()

    @property
    def options(self) -> RunOptions:
        q = self.config.queue
        return RunOptions(concurrency=self.config.concurrency, record_retries=tuple(q.record_retry_intervals),
                          attempt_intervals=tuple(q.retry_intervals), unreachable_after=q.unreachable_after,
                          create_settle_seconds=self.config.create_settle_seconds)

    # --- ConnectWise ------------------------------------------------------------------------

    def rate_limiter(self, session: Session) -> RedisRateLimiter:
        """The tenant-wide ConnectWise rate limit (``COLCW_RATE_LIMIT_PER_MINUTE``) and cap on requests in flight
        (``COLCW_CW_MAX_IN_FLIGHT``), shared through Redis by every web process, worker and command talking to the
        configured tenant."""
        return self._rate_limiter(read_settings(session))

    def _rate_limiter(self, settings: Settings) -> RedisRateLimiter:
        # A slot a process died holding lapses once no request of its could still be out (its read timeout twice).
        return RedisRateLimiter(self.redis, self.config.rate_limit_per_minute,
                                key=tenant_key(settings.site_url, settings.company_id),
                                max_in_flight=self.config.cw_max_in_flight,
                                slot_lease_seconds=max(60.0, 2 * self.config.cw_read_timeout))

    def client(self, session: Session, *, settings: Settings | None = None, **overrides: Any) -> ConnectWiseClient:
        """A client for the stored connection under the shared rate limit (raises ``NotConfigured``); the
        settings (``settings``: as the caller just read them) serve both."""
        overrides.setdefault("read_timeout", self.config.cw_read_timeout)
        overrides.setdefault("backoff_base", self.config.cw_backoff_seconds)
        # A run's workers and the reads an export sends ahead share these: ConnectWise asks for few at once.
        overrides.setdefault("max_in_flight", self.config.concurrency)
        overrides.setdefault("codebases", self.codebases)
        overrides.setdefault("connections", self.connections)
        settings = settings if settings is not None else read_settings(session)
        return build_client(session, self.box, settings=settings, rate_limiter=self._rate_limiter(settings),
                            **overrides)

    def interactive_client(self, session: Session, **overrides: Any) -> ConnectWiseClient:
        """A client that gives up quickly: a person is waiting on the page (``overrides``: e.g. a shorter
        ``read_timeout``)."""
        for name, value in (("max_attempts", 2), ("max_retry_seconds", 5.0), ("connect_timeout", 3.0)):
            overrides.setdefault(name, value)
        return self.client(session, **overrides)

    # --- the host and the jobs --------------------------------------------------------------

    def host(self, session: Session) -> UnitOfWork:
        """A unit of work of the host's service API on ``session``; its events fire through the host's plugins."""
        return UnitOfWork(session, self.hooks)

    def execute(self, session: Session, run_id: int, *, queued: bool = False, person_waiting: bool = False,
                **kwargs: Any) -> SyncRun:
        """Run ``run_id`` in this process (see :func:`~.jobs.runs.execute_run`): to its end, or, for a
        queued run (``queued``), one attempt that may leave it waiting for its next. With
        ``person_waiting`` (a page answers when it ends) records are not tried again after a pause."""
        # A queued run sleeps no long Retry-After in its worker (the client's, its passes'): its attempt ends, and RQ
        # queues the next one for when ConnectWise asked, so the worker runs other runs meanwhile (QA: 90 s twice).
        make = kwargs.get("make_client") or (functools.partial(self.client, max_hold_seconds=QUEUED_HOLD_SECONDS)
                                             if queued else self.client)
        made: list[ConnectWiseClient] = [kwargs["client"]] if kwargs.get("client") is not None else []

        def make_client(*args: Any, **kw: Any) -> ConnectWiseClient:
            made.append(make(*args, **kw))
            return made[-1]

        kwargs["make_client"] = make_client
        kwargs.setdefault("queue", self.queue)  # (for the follow-up work a run queues: SyncContext.queue)
        options = dataclasses.replace(self.options, can_wait=queued,
                                      record_retries=() if person_waiting else self.options.record_retries,
                                      hold_worker_seconds=QUEUED_HOLD_SECONDS if queued else None)
        try:
            return execute_run(session, self.kinds, run_id, host=self.host, options=options, **kwargs)
        finally:
            if made:
                self._keep_cw_clock(made[0])

    def _keep_cw_clock(self, client: ConnectWiseClient) -> None:
        """Keep what a run's client measured of ConnectWise's clock, for the jobs page and ``colcw clocks``
        (:class:`~.jobs.clocks.ConnectWiseWatch`: at most every five minutes a process, never at the run's cost)."""
        clock = getattr(client, "server_clock", None)
        if clock is not None:
            self.cw_clock_watch.keep(self.redis, tenant_from(client.settings), clock.bounds)

    def execute_handed_over(self, session: Session, run_id: int, *, on_wait: Callable[[], None]) -> SyncRun:
        """Run ``run_id`` in this process for a rep whose page waits on it only until ConnectWise makes it wait
        (``on_wait``: a server error, a 429 or a dropped connection the client pauses to try again, a pause between two
        passes, another export's lock): the page then hands it over, as it does a slow answer, and the attempt goes on
        as a queued run's does (:meth:`execute` with ``queued``: its passes, a Retry-After longer than
        :data:`QUEUED_HOLD_SECONDS` not slept out here). A run left waiting for its next attempt gets it queued in RQ
        for its next try, as :func:`~.jobs.queue.perform` does, so it finishes by itself, with the rest of the rep's
        page left to follow it (Redis failing: the scheduler queues it once its try is due, ``requeue_lost``)."""
        run = self.execute(session, run_id, queued=True, on_wait=on_wait)
        if run is not None and run.status == RunStatus.WAITING:
            try:
                enqueue_existing(session, self.queue, run)
            except (RedisError, QueueBusy):
                session.rollback()
                log.warning("run %s waits; its next attempt was not queued (the scheduler queues it)", run_id,
                            exc_info=True)
        return run

    def submit(self, session: Session, kind: str, params: dict, **kwargs: Any) -> Submitted:
        """Record a run and queue it (see :func:`~.jobs.queue.submit`): the run is ``.run``."""
        return submit(session, self.queue, self.kinds, kind, params, **kwargs)
