"""Running a sync: the run record, and the call into the kind's service.

A run is a ``colcw_sync_runs`` row created *before* anything executes (or is queued), so
every run is visible whatever happens next. :func:`execute_run` loads it, builds the
ConnectWise client, calls the kind's service and closes the run with its status. The RQ job,
the rep's inline actions, the command line and tests all go through it. No Flask here: the
caller passes the kinds, how to build a client and how to open a host unit of work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from host_stub.gateway import UnitOfWork

from ...cw import ConnectWiseClient, ConnectWiseError
from ...models import RunStatus, SyncRun, actor_label
from ...setup.connection import NotConfigured, read_settings
from ...setup.secrets import SecretError
from .kinds import KindRegistry, RunOptions, SyncContext
from .recorder import RunRecorder, describe_recorder

log = logging.getLogger(__name__)


def create_run(session: Session, kinds: KindRegistry, kind: str, params: dict, *, trigger: str = "manual",
               actor: dict | None = None, schedule_id: int | None = None, retry_of_id: int | None = None) -> SyncRun:
    """Create the run record (status queued). Params hold ids and options only, never secrets."""
    if kind not in kinds:
        raise ValueError(f"Unknown job type {kind!r}.")
    run = SyncRun(kind=kind, params=dict(params), description=kinds.describe(session, kind, params),
                  trigger=trigger, requested_by=actor_label(actor), requested_by_id=(actor or {}).get("id"),
                  schedule_id=schedule_id, retry_of_id=retry_of_id, status=RunStatus.QUEUED, counts={})
    session.add(run)
    session.flush()
    return run


def run_actor(run: SyncRun) -> dict:
    """Who a run acts for: the user who asked for it, or the system (a schedule, an event)."""
    return {"id": run.requested_by_id, "email": run.requested_by, "role": "rep" if run.requested_by_id else "system"}


def execute_run(session: Session, kinds: KindRegistry, run_id: int, *,
                make_client: Callable[[Session], ConnectWiseClient], client: ConnectWiseClient | None = None,
                host: Callable[[Session], UnitOfWork] = UnitOfWork, options: RunOptions = RunOptions(),
                reraise_transient: bool = False) -> SyncRun:
    """Run a queued (or interrupted, to resume) run to its end and return it, refreshed.

    ``make_client(session)`` builds the client for the stored connection unless ``client`` is
    given. Transient ConnectWise failures that escape the service (the whole tenant unreachable,
    say) are re-raised when ``reraise_transient`` so the queue can retry the run; every other
    failure closes the run as failed with a message saying what to do.
    """
    run = session.get(SyncRun, run_id)
    if run is None:
        raise LookupError(f"sync run {run_id} does not exist")
    job = kinds[run.kind]
    recorder = RunRecorder(session.get_bind(), run_id)
    recorder.start()
    own_client = client is None
    message, status = "", None
    try:
        if own_client:
            client = make_client(session)
        ctx = SyncContext(session=session, client=client, recorder=recorder, settings=read_settings(session),
                          actor=run_actor(run), run_id=run_id, params=dict(run.params or {}), options=options,
                          host=host)
        message = job.run(ctx) or ""
    except (NotConfigured, SecretError) as e:
        session.rollback()
        message, status = str(e), RunStatus.FAILED
    except ConnectWiseError as e:
        session.rollback()
        if e.transient and reraise_transient:
            recorder.finish(status=RunStatus.QUEUED, message=f"Will retry: {e}",
                            api_requests=client.stats.total if client else 0)
            raise
        message, status = f"ConnectWise: {e}", RunStatus.FAILED
    except Exception as e:
        session.rollback()
        log.exception("sync run %s crashed", run_id)
        recorder.finish(status=RunStatus.FAILED, message=f"Unexpected error: {type(e).__name__}: {e}",
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
