"""Running a sync: the registry of job kinds, the run record, and the call into the service.

A run is a ``colcw_sync_runs`` row created *before* anything executes (or is queued), so
every run is visible whatever happens next. :func:`execute_run` loads it, builds the
ConnectWise client from the stored connection, calls the kind's service function and closes
the run with its status. The RQ job (``sync.jobs``), the command line and tests all go
through it. No Flask here.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ...cw import ConnectWiseClient, ConnectWiseError
from ...models import Settings, SyncRun
from ...setup.connection import NotConfigured, build_client, get_settings
from ...setup.secrets import SecretBox, SecretError
from .recorder import RunRecorder, describe_recorder

log = logging.getLogger(__name__)


@dataclass
class SyncContext:
    """What a sync service gets: the business session, the client, the recorder, who asked."""

    session: Session
    client: ConnectWiseClient
    recorder: RunRecorder
    settings: Settings
    actor: dict | None
    run_id: int
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class JobKind:
    name: str
    label: str
    run: Callable[[SyncContext], str | None]  # returns a summary message (optional)
    describe: Callable[[dict], str]


KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    KINDS[kind.name] = kind
    return kind


def kinds() -> dict[str, JobKind]:
    """All job kinds (importing the services registers them).

    ``COLCW_EXTRA_JOB_MODULES`` (comma-separated module names, tests only) are imported too, so
    a worker subprocess knows the test job kinds.
    """
    from ..quotes import kinds as quotes  # noqa: F401

    for name in filter(None, (m.strip() for m in os.environ.get("COLCW_EXTRA_JOB_MODULES", "").split(","))):
        importlib.import_module(name)
    return KINDS


def create_run(session: Session, kind: str, params: dict, *, trigger: str = "manual", actor: dict | None = None,
               schedule_id: int | None = None, retry_of_id: int | None = None) -> SyncRun:
    """Create the run record (status queued). Params hold ids and options only, never secrets."""
    job = kinds()[kind]
    run = SyncRun(kind=kind, params=dict(params), description=job.describe(params), trigger=trigger,
                  requested_by=(actor or {}).get("email") or (actor or {}).get("name") or "system",
                  requested_by_id=(actor or {}).get("id"), schedule_id=schedule_id, retry_of_id=retry_of_id,
                  status="queued", counts={})
    session.add(run)
    session.flush()
    return run


def execute_run(session: Session, box: SecretBox, run_id: int, *, client: ConnectWiseClient | None = None,
                reraise_transient: bool = False, rate_limiter=None) -> SyncRun:
    """Run a queued (or interrupted, to resume) run to its end and return it, refreshed.

    Transient ConnectWise failures that escape the service (the whole tenant unreachable, say)
    are re-raised when ``reraise_transient`` so the queue can retry the run; every other
    failure closes the run as failed with a message saying what to do.
    """
    run = session.get(SyncRun, run_id)
    if run is None:
        raise LookupError(f"sync run {run_id} does not exist")
    job = kinds()[run.kind]
    actor = {"id": run.requested_by_id, "email": run.requested_by, "role": "rep" if run.requested_by_id else "system"}
    recorder = RunRecorder(session.get_bind(), run_id)
    recorder.start()
    own_client = client is None
    message, status = "", None
    try:
        if own_client:
            client = build_client(session, box, rate_limiter=rate_limiter)
        ctx = SyncContext(session=session, client=client, recorder=recorder, settings=get_settings(session),
                          actor=actor, run_id=run_id, params=dict(run.params or {}))
        message = job.run(ctx) or ""
    except (NotConfigured, SecretError) as e:
        session.rollback()
        message, status = str(e), "failed"
    except ConnectWiseError as e:
        session.rollback()
        if e.transient and reraise_transient:
            recorder.finish(status="queued", message=f"Will retry: {e}",
                            api_requests=client.stats.total if client else 0)
            raise
        message, status = f"ConnectWise: {e}", "failed"
    except Exception as e:
        session.rollback()
        log.exception("sync run %s crashed", run_id)
        recorder.finish(status="failed", message=f"Unexpected error: {type(e).__name__}: {e}",
                        api_requests=client.stats.total if client else 0)
        raise
    finally:
        if own_client and client is not None:
            client.close()
    summary = describe_recorder(recorder)
    recorder.finish(status=status, message=(f"{message} ({summary})" if message else summary).strip(),
                    api_requests=client.stats.total if client else 0)
    session.expire_all()
    return session.get(SyncRun, run_id)
