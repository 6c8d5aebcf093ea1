"""Running a sync: the run record, and the call into the kind's service.

A run is a ``colcw_sync_runs`` row created *before* anything executes (or is queued), so
every run is visible whatever happens next. :func:`execute_run` loads it, builds the
ConnectWise client, calls the kind's service and closes the run with its status. The RQ job,
the rep's inline actions, the command line and tests all go through it. No Flask here: the
caller passes the kinds, how to build a client and how to open a host unit of work. One run
is not kept: a service whose run's first attempt changed and found nothing says so
(:class:`~.kinds.NothingToRecord`) and the row goes (:func:`_forget`).

A run an admin asks to stop while it runs (status ``cancelling``) stops where its service checks for that
(:meth:`~.recorder.RunRecorder.stop_if_requested`: between records or pages), between two passes, during a pause
between passes or between two tries of a request, or instead of waiting for its next attempt; it is then closed
as cancelled, the records it did not reach "not attempted", and the attempt ends normally (its RQ job is not
retried, and nothing queues it again).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, delete, exists, select, true
from sqlalchemy.orm import Session, scoped_session

from host_stub.gateway import UnitOfWork
from host_stub.models import utcnow

from ...cw import ConnectWiseClient, ConnectWiseError
from ...cw.errors import NetworkError, RateLimited
from ...models import RunStatus, Settings, SyncItem, SyncRun, actor_label, late_cancel_note, stop_requested_by
from ...setup import pages
from ...setup.connection import NotConfigured, read_settings
from ...setup.secrets import SecretError
from ...text import COLCW_HELD_BACK, COLCW_HELD_BACK_FIX, plural
from .database import unavailable, unavailable_error
from .kinds import (
    ENTITY_WORDS,
    NAMED_IN_RETRY,
    KindRegistry,
    NothingToRecord,
    RunOptions,
    SyncContext,
    and_list,
    record_nouns,
    retry_description,
    selected_nouns,
)
from .recorder import (
    LoginRefused,
    RunCancelled,
    RunGone,
    RunRecorder,
    RunStopped,
    Superseded,
    Unreachable,
    close_cancelled,
    describe_recorder,
    with_note,
)
from .waits import ColcwWait

if TYPE_CHECKING:
    from .queue import JobQueue

log = logging.getLogger(__name__)
UNCHANGED = "unchanged"  # a record's outcome that changed nothing: a run holding only these may go (_forget)


def create_run(session: Session, kinds: KindRegistry, kind: str, params: dict, *, trigger: str = "manual",
               actor: dict | None = None, schedule_id: int | None = None, retry_of_id: int | None = None) -> SyncRun:
    """Create the run record (status queued). Params hold ids and options only, never secrets."""
    if kind not in kinds:
        raise ValueError(f"Unknown job type {kind!r}.")
    description = retry_description(kinds.describe(session, kind, params), retry_of_id)
    run = SyncRun(kind=kind, params=dict(params), description=description,
                  trigger=trigger, requested_by=actor_label(actor), requested_by_id=(actor or {}).get("id"),
                  schedule_id=schedule_id, retry_of_id=retry_of_id, status=RunStatus.QUEUED, counts={})
    session.add(run)
    session.flush()
    return run


# The run and the settings row read_settings reads (the first; none yet: its defaults are made apart).
_RUN_AND_SETTINGS = (select(SyncRun, Settings).outerjoin(Settings, true()).where(SyncRun.id == bindparam("run_id"))
                     .order_by(Settings.id).limit(1).execution_options(populate_existing=True))


def run_actor(run: SyncRun) -> dict:
    """Who a run acts for: the user who asked for it, or the system (a schedule, an event)."""
    return {"id": run.requested_by_id, "email": run.requested_by, "role": "rep" if run.requested_by_id else "system"}


def execute_run(session: Session, kinds: KindRegistry, run_id: int, *,
                make_client: Callable[..., ConnectWiseClient], client: ConnectWiseClient | None = None,
                host: Callable[[Session], UnitOfWork] = UnitOfWork, options: RunOptions = RunOptions(),
                sleep: Callable[[float], None] = time.sleep, queue: JobQueue | None = None,
                on_wait: Callable[[], None] | None = None) -> SyncRun:
    """Run one attempt of a queued (waiting, or interrupted) run and return it, refreshed (see :func:`_attempt`).
    An attempt a later one took over (:class:`~.recorder.Superseded`: its worker was thought dead) stops at once
    and writes nothing more; the run is returned as its owner left it. ``queue``: the job queue a service may queue
    follow-up work on (:attr:`SyncContext.queue`). ``on_wait``: called (from the attempt's threads) each time the run
    starts to wait for ConnectWise, not for a lock (:attr:`~.recorder.RunRecorder.on_wait`)."""
    # The thread's session itself, not a scoped proxy of it (a web request's or a worker's db.session): every call of
    # the attempt's on it (its statements, commits, flushes, connections; some fifty in a one-document export) went
    # through the proxy's registry and Flask's app context, about six Python calls each. The same session: what the
    # attempt leaves in it (the run as written) is the caller's as before.
    if isinstance(session, scoped_session):
        session = session()
    try:
        return _attempt(session, kinds, run_id, make_client=make_client, client=client, host=host, options=options,
                        sleep=sleep, queue=queue, on_wait=on_wait)
    except Superseded as e:
        session.rollback()
        why = "its run was deleted by a reset" if isinstance(e, RunGone) else "its worker was taken for dead"
        log.warning("sync run %s: %s (%s); this attempt writes nothing more", run_id, e, why)
        session.expire_all()
        return session.get(SyncRun, run_id)


def _attempt(session: Session, kinds: KindRegistry, run_id: int, *,
             make_client: Callable[..., ConnectWiseClient], client: ConnectWiseClient | None,
             host: Callable[[Session], UnitOfWork], options: RunOptions,
             sleep: Callable[[float], None], queue: JobQueue | None = None,
             on_wait: Callable[[], None] | None = None) -> SyncRun:
    """Run one attempt of a queued (waiting, or interrupted) run and return it, refreshed.

    ``make_client(session, settings=...)`` builds the client for the stored connection (the settings
    read with the run) unless ``client`` is given. Records that fail transiently are tried again in further passes after
    ``options.record_retries``; what still fails then — or the whole run when ConnectWise is
    unreachable, or when colcw's database refused or dropped a connection (:mod:`.database`) — waits: with
    ``options.can_wait`` the run ends this attempt ``waiting`` with its reason and next try (the queue re-enqueues
    it then), until ``options.attempt_intervals`` are spent; after that, and for a run in the foreground, what is
    left ends "not attempted" with why.
    Every other failure closes the run as failed with a message saying what to do.
    """
    refused: Exception | None = None
    try:
        run, settings, job, recorder, cancelled = _begin(session, kinds, run_id, options, on_wait)
    except Exception as e:
        if not unavailable(e):
            raise
        # colcw's database refused or dropped a connection as the attempt began (reading the run, or writing its start
        # on the recorder's own connection, a second one: the one PostgreSQL refuses when all its connections are
        # taken). Raised from here, it would leave the run running with its job failed, and the scheduler would take
        # its worker for dead at its next tick, spending one of its automatic resumes each time and blaming the
        # worker. So the attempt begins again, from the run as it is (nothing of the failed start was written) and on
        # one connection at a time, does no work, and waits as a whole (below). Refused again, the error is raised:
        # the scheduler's resume is then the last resort.
        session.rollback()
        refused = e
        run, settings, job, recorder, cancelled = _begin(session, kinds, run_id, options, on_wait, alone=True)
    if cancelled:
        return _as_cancelled(session, recorder, run_id, job)
    as_queued = SyncRun(id=run.id, kind=run.kind, params=dict(run.params or {}), rq_job_id=run.rq_job_id)
    attempt = (run.attempts or 0) + 1
    own_client = client is None
    message, status, waiting, whole_run = "", None, None, False
    cancelled = False
    stopped: RunStopped | None = None
    ctx: SyncContext | None = None
    nothing: NothingToRecord | None = None
    try:
        if refused is not None:
            raise refused  # (the attempt waits, below: its start, begun again, is written)
        if own_client:
            client = make_client(session, settings=settings)
        if hasattr(client, "notify_retry_waits"):
            client.notify_retry_waits(recorder.note_retry_wait)
        recorder.requests_sent = lambda: client.stats.total
        recorder.login_refused = lambda: getattr(client, "login_refused", None)
        ctx = SyncContext(session=session, client=client, recorder=recorder, settings=settings, actor=run_actor(run),
                          run_id=run_id, params=dict(run.params or {}), options=options, host=host, queue=queue,
                          kinds=kinds)
        waiting = _passes(ctx, job, recorder, options, sleep)
        message = ctx.message
    except NothingToRecord as e:
        session.rollback()
        nothing = e
    except RunStopped as e:  # at a boundary the service chose: what it did before is committed and recorded
        session.rollback()
        stopped = e
        message = ctx.message if ctx is not None else ""  # what its last whole pass said, if it made one
    except Unreachable as e:
        session.rollback()
        waiting, whole_run = e.error, True
    except (NotConfigured, SecretError) as e:
        session.rollback()
        message, status = str(e), RunStatus.FAILED
    except RunCancelled:  # before its start was written (a kind that selects in the host writes it with its total)
        session.rollback()
        cancelled = True
    except ConnectWiseError as e:
        session.rollback()
        if e.transient:
            waiting, whole_run = e, True
        else:
            message, status = f"ConnectWise: {e}", RunStatus.FAILED
    except Superseded:
        raise  # (execute_run: this attempt writes nothing more)
    except Exception as e:
        session.rollback()
        if not unavailable(e):
            log.exception("sync run %s crashed", run_id)
            recorder.finish(status=RunStatus.FAILED, message=f"Unexpected error: {type(e).__name__}: {e}",
                            api_requests=client.stats.total if client else 0)
            raise
        # colcw's database refused or dropped a connection (the run's session's, a worker thread's, the recorder's):
        # nothing about its records. The run waits as a whole for its next attempt, which resumes it where its
        # results say, as after a worker's death (in the foreground: not done, saying so). Still refused when this
        # attempt writes that, the attempt ends with the error, the run left running: the scheduler takes its worker
        # for dead and resumes it (recovery.detect_interrupted).
        recorder.rollback()
        waiting, whole_run = unavailable_error(e), True  # (the driver's words: not the statement and its parameters)
        log.warning("sync run %s waits: %s (%s)", run_id, waiting.why_not_done, waiting.message)
    finally:
        if client is not None and hasattr(client, "notify_retry_waits"):
            client.notify_retry_waits(None)
        if own_client and client is not None:
            client.close()
    if cancelled:
        return _as_cancelled(session, recorder, run_id, job)
    requests = client.stats.total if client else 0
    refused = getattr(client, "login_refused", None) if client is not None else None
    if isinstance(stopped, LoginRefused) or (refused is not None and not isinstance(stopped, RunStopped)):
        # ConnectWise refused the login: the run fails as a whole, however the service ended (it stopped at its next
        # record, raised the refusal, or had reached every record), not one failure per record.
        return close_login_refused(session, job, recorder, run_id, refused or stopped.error, requests)
    if nothing is not None:
        forgotten = _forget(session, recorder, as_queued, str(nothing))
        if forgotten is not None:
            return forgotten
        message = str(nothing)  # kept after all (see _forget): it closes as any run does, saying so
    if stopped is None and waiting is not None:
        try:
            recorder.stop_if_requested()  # a run asked to stop neither waits for another attempt nor gives up
            closed = _wait_or_give_up(session, job, recorder, options, waiting, attempt, requests,
                                      whole_run=whole_run)
        except LoginRefused as e:  # (the refusal came with the last record: still the run's failure as a whole)
            return close_login_refused(session, job, recorder, run_id, e.error, requests)
        except RunStopped as e:  # asked to stop: it does not wait for another attempt
            stopped = e
        else:
            if closed is None:
                return _as_written(session, recorder, run_id)
            message, status = closed
    if stopped is not None:
        return _stop(session, job, recorder, run_id, stopped.request, requests, message=message)
    recorder.finish(status=status, message=_closing_message(message, recorder, _named(session, job, recorder)),
                    api_requests=requests, late_cancel=True)
    return _as_written(session, recorder, run_id)


def _begin(session: Session, kinds: KindRegistry, run_id: int, options: RunOptions,
           on_wait: Callable[[], None] | None, *, alone: bool = False) -> tuple[SyncRun, Settings, object, RunRecorder,
                                                                               bool]:
    """Read the run as it is now (whatever the session held of it) with the connection settings, in one statement,
    and start its attempt in a recorder that starts from that row: (run, settings, its kind, the recorder, whether it
    was cancelled before it started). ``alone``: the session's read ends (the run and settings kept apart from it)
    before the recorder writes, so the attempt holds one connection at a time (after the database refused one).
    The database refusing the start: the recorder is closed and the error raised."""
    found = session.execute(_RUN_AND_SETTINGS, {"run_id": run_id}).first()
    if found is None:
        raise LookupError(f"sync run {run_id} does not exist")
    run, settings = found
    if settings is None:  # none stored yet: their defaults (the client then says it is not configured)
        settings = read_settings(session)
    if alone:
        for row in (run, settings):
            if row in session:
                session.expunge(row)
        session.rollback()
    job = kinds[run.kind]
    recorder = RunRecorder(session.get_bind(), run_id, unreachable_after=options.unreachable_after, run=run)
    recorder.on_wait = on_wait
    try:
        recorder.start(with_total=job.selects_in_host and not alone, nouns=_selected_nouns(job, recorder))
    except RunCancelled:
        return run, settings, job, recorder, True
    except BaseException:
        recorder.close()
        raise
    return run, settings, job, recorder, False


LOGIN_REFUSED = "ConnectWise refused colcw's login"
LOGIN_FIX = (f"Correct the API keys (or the integrator login) on the Connection page ({pages.CONNECTION.name}) and "
             "save them: colcw checks them as Test Connection does. Then Retry on the run's page.")


def close_login_refused(session: Session, job, recorder: RunRecorder, run_id: int, error: ConnectWiseError,
                        requests: int) -> SyncRun:
    """Close a run whose login ConnectWise refused (401: keys wrong or revoked) as failed as a whole: one message
    naming the fix, the records it did not reach "not attempted" (Retry runs them with the failed ones: those under
    way when the refusal came keep their failure). The client sent nothing after the first refusal (see
    :mod:`colcw_plugin.cw.transport`)."""
    n = recorder.close_unattempted(LOGIN_REFUSED, LOGIN_FIX, _labels(session, job, recorder))
    left = f" {plural(n, *_selected_nouns(job, recorder))} not attempted." if n else ""
    message = f"{LOGIN_REFUSED} ({short_error(error)}): the run stopped.{left} {LOGIN_FIX}"
    recorder.finish(status=RunStatus.FAILED, message=message, api_requests=requests)
    log.warning("sync run %s stopped: %s", run_id, short_error(error))
    return _as_written(session, recorder, run_id)


def _selected_nouns(job, recorder: RunRecorder) -> tuple[str, str]:
    """What the records the run selected are, as its kind names them (:func:`.kinds.selected_nouns`)."""
    return selected_nouns(job, recorder.selection)


def _waiting_nouns(job, recorder: RunRecorder | None) -> tuple[str, str]:
    """What the records waiting for ConnectWise are: those the run selected, else the one kind of record waiting (an
    import of every company selects none by id: "3 companies waiting", not "3 records"), else "record"."""
    if recorder is None:
        return record_nouns(job, None)
    entity = recorder.selection.get("entity")
    if not entity:
        waiting = {d.entity for d in recorder.deferred.values()}
        entity = waiting.pop() if len(waiting) == 1 else None
    return record_nouns(job, entity)


def _forget(session: Session, recorder: RunRecorder, run: SyncRun, why: str) -> SyncRun | None:
    """Delete the run of a service that found nothing to do (:class:`~.kinds.NothingToRecord`), in one statement
    that holds only while the run is as this attempt started it: its first attempt, running (not asked to stop
    meanwhile, not taken over by another worker), with no result recorded but "unchanged" ones (they go with it).
    Whichever process looks at it next (the jobs pages, the scheduler's checks, another callback) finds no row. ``run``: as it was queued (detached). The
    run, marked succeeded and ``forgotten`` (not in the database); None when the statement did not hold (the run is
    then closed as any other)."""
    recorder.close()
    gone = session.execute(delete(SyncRun).where(
        SyncRun.id == run.id, SyncRun.attempts == 1, SyncRun.status == RunStatus.RUNNING,
        SyncRun.rq_job_id.is_not_distinct_from(run.rq_job_id),
        ~exists().where(SyncItem.run_id == SyncRun.id, SyncItem.action != UNCHANGED))
        .execution_options(synchronize_session=False))
    session.commit()
    if gone.rowcount != 1:
        return None
    log.info("sync run %s (%s) not kept: %s", run.id, run.kind, why)
    session.expire_all()
    run.status, run.message, run.counts = RunStatus.SUCCEEDED, why, {}
    run.forgotten = True
    return run


def _closing_message(message: str, recorder: RunRecorder, named: str = "") -> str:
    """A run's last message: the kind's own, the records it touched when it names them (:func:`_named`), with the
    run's counts ("counted 6 items (6 created)")."""
    summary = describe_recorder(recorder)
    if message and not recorder.counts:  # a run stopped before any record: "(nothing to do)" would belie it
        summary = ""
    if named:
        message = f"{message} {named}".strip()
    return (f"{message} ({summary})" if message and summary else message or summary).strip()



def _named(session: Session, job, recorder: RunRecorder) -> str:
    """The records a run of a kind that names them (``JobKind.names_records``) touched, when there are a few (up to
    NAMED_IN_RETRY, unchanged ones left out): "Customer Acme Ltd (ACME1)." — a live update's row in the history
    then says whose link broke, not "1 record changed in ConnectWise. (customers: 1 skipped)" alone."""
    touched = sum(n for action, n in recorder.counts.items() if action != UNCHANGED)
    if not job.names_records or not 0 < touched <= NAMED_IN_RETRY:
        return ""
    try:
        recorder.flush()  # its results are all written: read them back (apart from the run's session)
        with session.get_bind().connect() as conn:
            rows = conn.execute(select(SyncItem.entity, SyncItem.label)
                                .where(SyncItem.run_id == recorder.run_id, SyncItem.action != UNCHANGED)
                                .order_by(SyncItem.id).limit(NAMED_IN_RETRY + 1)).all()
    except Superseded:
        raise
    except Exception:  # noqa: BLE001 - names are a nicety; the run must close anyway
        log.warning("could not name the records of run %s", recorder.run_id, exc_info=True)
        return ""
    names = list(dict.fromkeys(f"{ENTITY_WORDS.get(entity, entity)} {label}" for entity, label in rows if label))
    if not names or len(names) > NAMED_IN_RETRY:
        return ""
    text = and_list(names)
    return f"{text[0].upper()}{text[1:]}."


def _as_cancelled(session: Session, recorder: RunRecorder, run_id: int, job) -> SyncRun:
    """The run as the admin who cancelled it before this attempt started left it (nothing written by the attempt);
    one asked to stop meanwhile (claimed from the queue, then asked before its start was written) is closed as
    cancelled now, from the run as it is in the database (the attempt's own recorder dropped what its start
    would have)."""
    recorder.close()
    session.expire_all()
    run = session.get(SyncRun, run_id)
    if run is None or run.status != RunStatus.CANCELLING:
        return run
    return _stop(session, job, RunRecorder(session.get_bind(), run_id), run_id, run.message, 0,
                 was=RunStatus.QUEUED if run.started_at is None else RunStatus.RUNNING)


def _stop(session: Session, job, recorder: RunRecorder, run_id: int, request: str, requests: int, *,
          was: str = RunStatus.RUNNING, message: str = "") -> SyncRun:
    """Close a run an admin asked to stop while it ran: cancelled, saying who and how far it got; the selected
    records it did not reach end "not attempted" (named, when the kind can name them). A run that had already
    given every record it selected its outcome when it stopped was not stopped by the request: it closes with
    its own status and ``message`` (the kind's, as its normal end would say it), saying the cancel came after
    its last record (as when it finishes while asked to stop)."""
    who = stop_requested_by(request)
    if recorder.reached_all():
        log.info("sync run %s: asked to stop by %s after its last record; finishing it", run_id, who)
        recorder.finish(message=with_note(_closing_message(message, recorder), late_cancel_note(who)),
                        api_requests=requests)
        return _as_written(session, recorder, run_id)
    log.info("sync run %s stopped: cancelled by %s", run_id, who)
    close_cancelled(recorder, who, was=was, labels=_labels(session, job, recorder), api_requests=requests,
                    nouns=_selected_nouns(job, recorder))
    return _as_written(session, recorder, run_id)


def _labels(session: Session, job, recorder: RunRecorder) -> dict[int, str]:
    """Names of the selected records the run did not reach, when its kind can say them."""
    return recorder.unreached_labels(session, job.record_labels)


def _as_written(session: Session, recorder: RunRecorder, run_id: int) -> SyncRun:
    """The run as the recorder's last write left it, in ``session`` (which forgets what it held: the
    attempt changed it). That write returned the row, so it is not read again."""
    session.expire_all()
    if recorder.row is None:
        return session.get(SyncRun, run_id)
    return session.merge(recorder.row, load=False)


def _passes(ctx: SyncContext, job, recorder: RunRecorder, options: RunOptions,
            sleep: Callable[[float], None]) -> ConnectWiseError | None:
    """Run the kind's service, then again for the records that failed transiently, after each of
    ``options.record_retries``. The error of what still waits, or None when nothing does."""
    noted = False
    for delay in (*options.record_retries, None):
        recorder.stop_if_requested()  # before a pass (the first one's is cheap: the start just read the status)
        ctx.message = job.run(ctx) or ""
        ctx.session.commit()
        if not recorder.deferred:
            if noted:
                recorder.note_wait("")
            return None
        if delay is None:
            break
        n = len(recorder.deferred)
        held = retry_after_left(recorder)
        if options.can_wait and options.hold_worker_seconds is not None and held > max(float(delay),
                                                                                       options.hold_worker_seconds):
            break  # not slept in the worker: the run waits for its next attempt, queued for then (_wait_or_give_up)
        delay = max(float(delay), held)  # never before ConnectWise's Retry-After
        until = utcnow() + dt.timedelta(seconds=delay)
        recorder.note_wait(f"{plural(n, *_waiting_nouns(job, recorder))} waiting for ConnectWise "
                           f"({short_error(_last(recorder))}); "
                           f"trying {'it' if n == 1 else 'them'} again", until)
        noted = True
        recorder.streak = 0
        _pause(delay, sleep, recorder)
    return _last(recorder)


PAUSE_STEP = 1.0  # seconds between two looks for an admin's request to stop while a run pauses


def _pause(seconds: float, sleep: Callable[[float], None], recorder: RunRecorder) -> None:
    """Sleep ``seconds`` between two passes, cut short when an admin asks the run to stop (the next pass's check
    then stops it)."""
    left = seconds
    while left > 0:
        step = min(PAUSE_STEP, left)
        sleep(step)
        left -= step
        if left > 0 and recorder.stop_requested():
            return


SETTLE_MARGIN_SECONDS = 1.0  # after colcw's own wait ends by itself, before the attempt that finds it ended


def settle_left(recorder: RunRecorder, error: ConnectWiseError | None = None) -> float:
    """Seconds until the longest of colcw's own waits among the records waiting (and ``error``) ends by itself (an
    earlier attempt's create taken for lost: :meth:`~..quotes.intents.CreateStillLanding.settle_left`); 0 when none
    ends at a known time."""
    return max((e.settle_left() for e in _waiting(recorder, error) if hasattr(e, "settle_left")), default=0.0)


def retry_after_left(recorder: RunRecorder, error: ConnectWiseError | None = None) -> float:
    """Seconds left of the longest Retry-After ConnectWise gave the records waiting (and ``error``): it asks for no
    request before, whatever colcw's own intervals say."""
    return max((e.wait_left() for e in _waiting(recorder, error) if hasattr(e, "wait_left")), default=0.0)


def _waiting(recorder: RunRecorder, error: ConnectWiseError | None) -> list[ConnectWiseError]:
    """The errors of the records waiting, and ``error``."""
    return [d.error for d in recorder.deferred.values()] + ([error] if error is not None else [])


def _last(recorder: RunRecorder) -> ConnectWiseError:
    return list(recorder.deferred.values())[-1].error


def short_error(error: ConnectWiseError) -> str:
    """What ConnectWise answered, in a few words: "HTTP 503 The service is unavailable"."""
    if isinstance(error, RateLimited):
        return "rate-limited by ConnectWise" + (f" for {error.retry_after:.0f} s" if error.retry_after else "")
    head = f"HTTP {error.status} " if error.status else ""
    # (inside brackets, before a colon: without ConnectWise's closing full stop)
    return (head + (error.message or type(error).__name__)).strip().rstrip(".")


def wait_reason(error: ConnectWiseError, recorder: RunRecorder, *, whole_run: bool, job=None) -> str:
    """Why a run waits, for a person: what waits (as the run's kind, ``job``, names it: "3 quotes / orders") and what
    ConnectWise did."""
    if whole_run:
        if isinstance(error, ColcwWait):  # colcw's own wait (its database, a record held): ConnectWise answered
            return f"{error.why_not_done} ({short_error(error)}): the run waits as a whole"
        if isinstance(error, RateLimited):
            return f"ConnectWise is rate-limiting colcw ({short_error(error)}): the run waits as a whole"
        # An error ConnectWise answered with (HTTP 500, 503) is no "cannot be reached": it answered.
        trouble = "keeps failing" if error.status else "cannot be reached"
        return f"ConnectWise {trouble} ({short_error(error)}): the run waits as a whole"
    n = len(recorder.unfinished()) or len(recorder.deferred)
    return f"{plural(n, *_waiting_nouns(job, recorder))} waiting for ConnectWise ({short_error(error)})"


def _wait_or_give_up(session: Session, job, recorder: RunRecorder, options: RunOptions, error: ConnectWiseError,
                     attempt: int, requests: int, *, whole_run: bool) -> tuple[str, str | None] | None:
    """After this attempt something waits for ConnectWise: schedule the next attempt (None), or give up
    on it and return the run's closing (message, status)."""
    reason = wait_reason(error, recorder, whole_run=whole_run, job=job)
    intervals = list(options.attempt_intervals)
    if options.can_wait and attempt <= len(intervals):
        now = utcnow()
        # Never before ConnectWise's Retry-After (a 429's "for 120 s" with a 30 s interval): the next try waits it out.
        delay = max(float(intervals[attempt - 1]), retry_after_left(recorder, error))
        give_up = now + dt.timedelta(seconds=delay + sum(float(x) for x in intervals[attempt:]))
        recorder.wait(reason=reason, next_try_at=now + dt.timedelta(seconds=delay), give_up_at=give_up,
                      api_requests=requests)
        log.info("sync run %s waits: %s", recorder.run_id, reason)
        return None
    settling = settle_left(recorder, error)
    if options.can_wait and settling > 0:
        # Its attempts spent, what waits is colcw's own wait that ends by itself at a known time (an earlier create
        # taken for lost): one more attempt then, which creates it, rather than giving it up "not done" for a person
        # to retry (the attempts went to ConnectWise's failures before, or to intervals shorter than the wait).
        at = utcnow() + dt.timedelta(seconds=settling + SETTLE_MARGIN_SECONDS)
        recorder.wait(reason=reason, next_try_at=at, give_up_at=at, api_requests=requests)
        log.info("sync run %s waits until %s, when colcw's own wait ends: %s", recorder.run_id, at, reason)
        return None
    # A wait colcw imposed itself (another export or import holding the record; in the foreground, an earlier create
    # ConnectWise may still carry out) is no failure, and nothing ConnectWise answered: said as such
    # (text.COLCW_HELD_BACK), with the reason the record waited.
    own = isinstance(error, ColcwWait)
    if own:
        why = f"stopped waiting after {attempt} attempts ({error.why_not_done})" if options.can_wait \
            else error.why_not_done
        fix = COLCW_HELD_BACK_FIX
    elif options.can_wait:
        why = f"stopped after repeated transient failures ({attempt} attempts)"
        fix = "Retry on the run's page re-runs them once ConnectWise answers again."
    else:  # in the foreground (a person waits on the page, or the command line): no later attempt
        why = error.why_not_done
        fix = "Try again in a few minutes, once ConnectWise answers again."
    n = recorder.close_unattempted(why, fix, _labels(session, job, recorder))
    if not recorder.counts:
        return f"Not done: {why}. {COLCW_HELD_BACK if own else 'ConnectWise'}: {error.detail} {fix}", RunStatus.FAILED
    what = f"{plural(n, *_selected_nouns(job, recorder))} not done: " if n else ""
    if not own and not options.can_wait:  # the reason already says who answered what: the detail in brackets
        return f"{what}{why} ({short_error(error)})", None
    # A network error is no answer: what happened is said as such ("connection dropped"), not as ConnectWise's.
    met = COLCW_HELD_BACK if own else "the last try met" if isinstance(error, NetworkError) else "ConnectWise answered"
    return f"{what}{why}; {met}: {short_error(error)}", None
