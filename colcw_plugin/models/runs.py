"""Synchronisation runs, their per-record results, the run statuses and schedules."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    column,
    false,
    func,
    literal,
    select,
    table,
    text,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from host_stub.extensions import db
from host_stub.models import utcnow


class RunStatus(enum.StrEnum):
    """Where a run is: the one list of run statuses every page, job and query uses."""

    QUEUED = "queued"
    RUNNING = "running"
    # Running, and an admin asked it to stop: its worker stops at the next safe boundary (between records or
    # pages) and closes it as cancelled; the request (who, when) is the run's message until then.
    CANCELLING = "cancelling"
    WAITING = "waiting"  # between attempts: records (or the whole run) wait for ConnectWise
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return RUN_STATUS_LABELS[self]


RUN_STATUS_LABELS = {RunStatus.QUEUED: "Queued", RunStatus.RUNNING: "Running", RunStatus.CANCELLING: "Stopping",
                     RunStatus.WAITING: "Waiting to retry", RunStatus.SUCCEEDED: "Succeeded",
                     RunStatus.PARTIAL: "Partly failed", RunStatus.FAILED: "Failed",
                     RunStatus.INTERRUPTED: "Interrupted", RunStatus.CANCELLED: "Cancelled"}
# A worker will or does work on it (a stopping run's worker still finishes the record it is on).
ACTIVE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.CANCELLING, RunStatus.WAITING)
# A run's age (seconds since it was requested) under which its pages ask for it again after so many milliseconds,
# between their polls of every second (SyncRun.look_again_ms).
QUICK_LOOKS = ((2.0, 200), (5.0, 500))
FINAL_RUN_STATUSES = (RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED, RunStatus.INTERRUPTED,
                      RunStatus.CANCELLED)
ENDED_RUN_STATUSES = (RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED, RunStatus.INTERRUPTED,
                      RunStatus.CANCELLED)  # can retry
# Cancel takes it: a queued, waiting or interrupted run is cancelled at once, a running one is asked to stop.
CANCELLABLE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING, RunStatus.INTERRUPTED)


def actor_label(actor: Mapping[str, Any] | None) -> str:
    """How run records and export states name who acted: the e-mail, else the name, else "system"."""
    actor = actor or {}
    return actor.get("email") or actor.get("name") or "system"


# A running run's message while it stops (status cancelling): who asked. The worker that stops it, or the scheduler
# closing it when that worker died, names who cancelled it from here: the request travels in the run's row, whichever
# machine reads it. When they asked is the row's stop_requested_at, which pages show in their own time zone (a
# message written before that column baked the time in, in UTC: read as it is).
_STOP_REQUEST = re.compile(r"^Cancel requested by (?P<who>.*?)(?P<at> at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC)?: "
                           r"the run stops ")
STOP_TIME_FORMAT = "%Y-%m-%d %H:%M:%S %Z"  # when an admin asked a run to stop, in a page's (or UTC's) zone
WAIT_TIME_FORMAT = "%H:%M:%S %Z"  # when a waiting run tries again, in a page's (or UTC's) zone
STORED_TIME_FORMAT = "%Y-%m-%d %H:%M %Z"  # a stored text's time to the minute, in a page's (or UTC's) zone
GIVE_UP_TIME_FORMAT = "%H:%M %Z"  # when what still fails of a waiting run is left as not attempted
# What a rep's page says of an export of one record that runs with nothing to wait for but ConnectWise's answer
# (:attr:`SyncRun.slow_answer`): the customer's page and its flash, the quote / order export page.
SLOW_TO_ANSWER = "ConnectWise is slow to answer"


def in_zone(value: dt.datetime, zone: str, fmt: str) -> str:
    """A naive-UTC time written in ``zone`` (an IANA name; UTC when it names none) with ``fmt``."""
    try:
        tz = ZoneInfo(zone)
    except (ValueError, ZoneInfoNotFoundError):
        tz = dt.UTC
    return value.replace(tzinfo=dt.UTC).astimezone(tz).strftime(fmt)


# Texts colcw stores (a run's message and description, a schedule's last outcome, what the command line prints)
# write their times in UTC, saying so: stored_time writes them. Pages show each such time in their own zone
# (times_in, which SyncRun.message_in and the others use): they find it by its form "YYYY-MM-DD HH:MM[:SS] UTC",
# in texts written before as in new ones, and keep its precision (seconds when it has them).
_STORED_TIME = re.compile(r"\b(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d(?P<seconds>:\d\d)?) UTC\b")


def stored_time(at: dt.datetime, *, seconds: bool = False) -> str:
    """``2026-07-01 18:30 UTC`` (``18:30:05 UTC`` with ``seconds``): a naive-UTC time as a stored text says it, for
    pages to show in their zone (:func:`times_in`)."""
    return f"{at:%Y-%m-%d %H:%M:%S} UTC" if seconds else f"{at:%Y-%m-%d %H:%M} UTC"


def times_in(text: str | None, zone: str) -> str:
    """``text`` as a page shows it: each time written by :func:`stored_time` in ``zone`` (an IANA name: the page's),
    with its abbreviation ("2026-07-01 14:30 EDT"); the same text in UTC."""
    def shown(m: re.Match) -> str:
        fmt = STOP_TIME_FORMAT if m.group("seconds") else STORED_TIME_FORMAT
        try:
            at = dt.datetime.strptime(m.group("at"), fmt.removesuffix(" %Z"))
        except ValueError:  # no such time ("2026-13-01 25:00 UTC" quoted from elsewhere): as it is
            return m.group(0)
        return in_zone(at, zone, fmt)
    return _STORED_TIME.sub(shown, text or "")


def last_heartbeat(at: dt.datetime) -> str:
    """``last heartbeat 2026-07-01 18:30:05 UTC``: when a run's worker was last heard of (naive UTC ``at``), as its
    message says it (pages show it in their zone: :meth:`SyncRun.message_in`). The scheduler writes it when it marks
    a run whose worker died interrupted (or closes one asked to stop)."""
    return f"last heartbeat {stored_time(at, seconds=True)}"


def stop_request_message(who: str) -> str:
    """The message of a running run an admin asked to stop (see :data:`RunStatus.CANCELLING`); when they asked is
    :attr:`SyncRun.stop_requested_at`."""
    return f"Cancel requested by {who}: the run stops as soon as the record it is working on is saved."


def stop_requested_by(message: str | None) -> str:
    """Who asked a run to stop, from its message as :func:`stop_request_message` wrote it."""
    found = _STOP_REQUEST.match(message or "")
    return found.group("who") if found else "an admin"


# What a run says of the selected records it left without an outcome: in its message ("12 not done") and on the line
# of each one it tried ("tried, not done: …", sync.jobs.recorder's close_unattempted): one wording. The line of one it
# never started says only why, its outcome "not attempted" being shown beside it (a badge, the CSV's action column).
NOT_DONE = "not done"


def cancelled_message(who: str, was: str, done: int, total: int | None, *, listed: bool = True,
                      nouns: tuple[str, str] = ("record", "records")) -> str:
    """A cancelled run's message: "Cancelled by admin@… while running (1,234 of 40,000 customers done; 38,766 not
    done)."; "Cancelled by admin@… before it started." for a run no attempt of which started. ``done``: the
    records it reached (with an outcome of their own: :attr:`SyncRun.reached`), ``was``: its status then (a run
    never started says "queued"), ``listed``: whether the run selected its records by id (those it did not reach
    end "not attempted", for Retry; without a selection none can be listed, and the message says so), ``nouns``:
    what its records are, in the singular and the plural, as its kind names them (``sync.jobs.kinds.selected_nouns``:
    "quote / order", "customer", "company"; "record" unless given)."""
    one, many = nouns
    if was == RunStatus.QUEUED and not done:
        return f"Cancelled by {who} before it started."
    if not total:
        return f"Cancelled by {who} while {was} ({done:,} {one if done == 1 else many} done)."
    left = f"; {total - done:,} {NOT_DONE}" if total > done else ""
    if total > done and not listed:  # no selection of ids: nothing can be recorded "not attempted" for Retry
        left = (f"; the {total - done:,} {NOT_DONE} are not listed: Run the whole job again reaches them — "
                f"{many} it already did come back unchanged, at little cost")
    return f"Cancelled by {who} while {was} ({done:,} of {total:,} {many} done{left})."


def late_cancel_note(who: str) -> str:
    """Said after the message of a run that an admin asked to stop once every record it selected had its outcome:
    it ends with its own status, saying so."""
    return f"An admin's cancel ({who}) came after its last record."


# The schedules' table as SyncRun.schedule_name reads it (Schedule is declared below).
_SCHEDULES = table("colcw_schedules", column("id", Integer), column("name", String))


class SyncRun(db.Model):
    """One run of a synchronisation job (created before it is enqueued)."""

    __tablename__ = "colcw_sync_runs"
    # A run's id is shown ("run #12"), polled by open pages and carried by its RQ job: on SQLite, AUTOINCREMENT
    # keeps a Reset (which deletes every run) from handing the same ids out again (PostgreSQL's sequences never do).
    # A run's page asks for its retry: the few runs that retry another are indexed, not the others.
    __table_args__ = (Index("ix_colcw_sync_runs_retry_of", "retry_of_id", postgresql_where=text("retry_of_id IS NOT NULL"),
                            sqlite_where=text("retry_of_id IS NOT NULL")),
                      {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)  # customer_import | customer_export | quote_export
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    description: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default=RunStatus.QUEUED, index=True)  # a RunStatus
    trigger: Mapped[str] = mapped_column(String(20), default="manual")  # manual | schedule | event | cli | retry
    requested_by: Mapped[str] = mapped_column(String(200), default="")
    requested_by_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    schedule_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    retry_of_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rq_job_id: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    # ``started_at`` by ConnectWise's clock, as its answers told it (colcw_plugin/cw/server_clock.py), written when an
    # import ends: the next import of the changed companies asks for what changed since then (less an overlap).
    cw_started_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)  # totals by action, all records
    entity_counts: Mapped[dict] = mapped_column(JSON, default=dict)  # {entity: {action: n}}
    api_requests: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    # Convergence: how many attempts the run made, what it selected (so records it never reached
    # end "not attempted"), and while it waits, why and until when (shown on every page of the run).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    interruptions: Mapped[int] = mapped_column(Integer, default=0)  # times its worker died under it
    selection: Mapped[dict] = mapped_column(JSON, default=dict)  # {"entity", "key": host|cw, "ids": [...]}
    waiting_reason: Mapped[str] = mapped_column(Text, default="")
    next_try_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    give_up_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    # When an admin asked it to stop (naive UTC; who asked is in its message: stop_request_message).
    stop_requested_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    # The name its schedule has now (None: no schedule, or it was deleted): ``requested_by`` keeps the name the
    # schedule had when it fired. Read when asked (the history's queries read it with their runs: one statement).
    schedule_name: Mapped[str | None] = column_property(
        select(_SCHEDULES.c.name).where(_SCHEDULES.c.id == schedule_id).scalar_subquery(), deferred=True)

    @property
    def requested_by_text(self) -> str:
        """Who requested the run, as the pages and the command line say it: a scheduled run its schedule by the name
        the schedule has now ("schedule: Quotes at dawn", not the name it fired under), once; with " (since
        deleted)" after the name it fired under once the schedule is gone; anyone else as recorded."""
        if self.trigger != "schedule" or not self.schedule_id:
            return self.requested_by
        if self.schedule_name is None:
            return f"{self.requested_by} (since deleted)"
        return f"schedule: {self.schedule_name}"

    @property
    def wait_text(self) -> str:
        """:meth:`wait_text_in` UTC: what the command line and the status JSON say."""
        return self.wait_text_in("UTC")

    def wait_text_in(self, zone: str) -> str:
        """Why an active run waits and when it tries again ("" when it does not wait), its times in ``zone`` (an
        IANA name: the page's, as its other times): the run page, the rep's export page, the lists' run panel and
        the history list show it while it waits. A waiting run says its next try (``next_try_at``) and when what
        still fails is given up; a running one pausing between two passes of its records has a reason ending in
        "trying them again" (:meth:`.recorder.RunRecorder.note_wait`), and ``next_try_at`` says until when."""
        if self.status not in ACTIVE_RUN_STATUSES or not self.waiting_reason:
            return ""
        text = self.waiting_reason
        if self.next_try_at is not None and self.status == RunStatus.WAITING:
            text += f"; next try at {in_zone(self.next_try_at, zone, WAIT_TIME_FORMAT)}"
            if self.give_up_at is not None:
                text += (f" (what still fails at {in_zone(self.give_up_at, zone, GIVE_UP_TIME_FORMAT)} is left as not "
                         "attempted, for Retry)")
        elif self.next_try_at is not None:
            text += f" at {in_zone(self.next_try_at, zone, WAIT_TIME_FORMAT)}"
        return text + "."

    def message_in(self, zone: str) -> str:
        """The run's message as a page shows it: the times colcw writes into it in UTC (when its worker was last
        heard of: :func:`last_heartbeat`; when a scheduled run was due; since when an import reads) in ``zone``, the
        page's (:func:`times_in`)."""
        return times_in(self.message, zone)

    def description_in(self, zone: str) -> str:
        """The run's description as a page shows it: a time in it ("… since 2026-07-01 18:00 UTC") in ``zone``."""
        return times_in(self.description, zone)

    @property
    def has_ended(self) -> bool:
        """Whether the run has ended for good (a final status), so a page showing it stops following it. Not a run
        interrupted for a moment while the scheduler resumes it (:func:`~colcw_plugin.sync.jobs.recovery.
        detect_interrupted` marks it interrupted without ending it, ``finished_at`` unset, then queues it again): a page
        that looked at it then stopped at "Interrupted" while the run went on to succeed."""
        return self.status in FINAL_RUN_STATUSES and not (self.status == RunStatus.INTERRUPTED
                                                          and self.finished_at is None)

    @property
    def look_again_ms(self) -> int | None:
        """How soon a page showing the run asks for it again, sooner than its every-second poll (None: only that):
        a run started moments ago is looked at again within a fifth of a second, then every half second up to five
        seconds after it was requested. A rep's export of one document takes a fraction of a second; polled every
        second only, its outcome showed 1.6 s after the click or more. An ended run is not asked for again."""
        if self.has_ended or self.created_at is None:
            return None
        age = (utcnow() - self.created_at).total_seconds()
        return next((ms for younger_than, ms in QUICK_LOOKS if age < younger_than), None)

    @property
    def status_label(self) -> str:
        """The run's status as every page names it (the history's filter too): "Partly failed", not "partial"."""
        return RUN_STATUS_LABELS.get(self.status, self.status)

    @property
    def can_cancel(self) -> bool:
        """Whether the pages offer Cancel for the run (:data:`CANCELLABLE_RUN_STATUSES`)."""
        return self.status in CANCELLABLE_RUN_STATUSES

    @property
    def active(self) -> bool:
        """Whether a worker will or does work on the run (:data:`ACTIVE_RUN_STATUSES`, or being resumed: it has not
        ended, :attr:`has_ended`): pages showing it keep it current."""
        return not self.has_ended

    def stopping_text(self, zone: str = "UTC") -> str:
        """What a stopping run's pages say (status cancelling), in one sentence: who asked and when (in ``zone``, an
        IANA name: the page's, as its other times), and what happens next."""
        found = _STOP_REQUEST.match(self.message or "")
        if found is None:
            asked = "An admin asked it to stop"
        else:
            asked = f"Cancel requested by {found.group('who')}"
            if self.stop_requested_at is not None:
                asked += f" at {in_zone(self.stop_requested_at, zone, STOP_TIME_FORMAT)}"
            elif found.group("at"):
                asked += found.group("at")
        return (f"{asked}: the run ends as cancelled once the record it is working on is saved (if its worker has "
                "stopped, the scheduler closes it within a few minutes).")

    @property
    def reached(self) -> int:
        """Records the run reached: those with an outcome of their own (``done`` counts those it closed "not
        attempted" too, so that it says what a later attempt need not redo; the run's pages show this)."""
        return max(0, (self.done or 0) - int((self.counts or {}).get("not_attempted", 0)))

    @property
    def finishing(self) -> bool:
        """A running run that reached every record it selected (each has its outcome) and has not closed yet: it is
        writing its last results and closing. Its progress bar says "Finishing — 40 / 40 (100 %)" (:attr:`percent`,
        :attr:`progress_label`), not "Running — 40 / 40 (99 %)"."""
        return self.status == RunStatus.RUNNING and bool(self.total) and self.reached >= self.total

    @property
    def slow_answer(self) -> str:
        """:data:`SLOW_TO_ANSWER` for a running run of one record (its total 1, or not counted yet) that notes no wait
        (no ``waiting_reason``: no pause between two tries, no lock it waits for) and is not :attr:`finishing`: all it
        can be waiting for is ConnectWise's answer. "" otherwise. One definition for the pages a rep's click leads to:
        a customer's export ("running: ConnectWise is slow to answer") and a quote's or order's export page (below its
        "Running… 0 of 1", which said nothing of it for 30 s of a hanging ConnectWise)."""
        if self.status != RunStatus.RUNNING or self.waiting_reason or (self.total or 0) > 1 or self.finishing:
            return ""
        return SLOW_TO_ANSWER

    @property
    def progress_label(self) -> str:
        """The state word of the run's progress bar: :attr:`status_label`, "Finishing" for a :attr:`finishing`
        run."""
        return "Finishing" if self.finishing else self.status_label

    @property
    def percent(self) -> int:
        """How far the run's progress bar goes, and the percent its status JSON says (one definition: the JSON
        worked it out from ``done``, which counts records closed "not attempted", so a cancelled run's said 100 while
        its bar showed how far it got): the records it reached, of its total. 100 once the run has closed, or once it
        is :attr:`finishing` (every record done: the bar said 99 until it closed, and its state word now says it is
        finishing); at most 99 before, whatever its counts say (a waiting or stopping run). A succeeded run's is full,
        and so is any ended run's without a total (it had nothing to count), but a cancelled one's."""
        if self.status == RunStatus.SUCCEEDED or self.finishing:
            return 100
        if self.total:
            reached = min(100, 100 * self.reached // self.total)
            return reached if self.status in FINAL_RUN_STATUSES else min(99, reached)
        if self.status in (RunStatus.FAILED, RunStatus.INTERRUPTED) and not self.reached:
            return 0  # it failed before reading anything: no bar full of nothing
        return 100 if self.status in FINAL_RUN_STATUSES and self.status != RunStatus.CANCELLED else 0

    @property
    def count_text(self) -> str:
        """The records it reached, as the progress bar and the history say it: "35 / 364"; "35 / ?" while its total
        is not known yet; an ended run's without a total is its count alone ("1,303 records"), never "/ ?"."""
        if self.total:
            return f"{self.reached:,} / {self.total:,}"
        if self.status not in FINAL_RUN_STATUSES:
            return f"{self.reached:,} / ?"
        return f"{self.reached:,} record{'' if self.reached == 1 else 's'}"

    @property
    def recorded(self) -> int:
        """Outcomes the run recorded so far, of every kind of record (those tallied without a result of their own
        too): it grows with each batch of results written, and moves when an attempt drops the "not attempted"
        ones of the attempt before, so a run's page fetches its status log again when it differs from the count
        the log was shown with (:func:`~colcw_plugin.views.runs.run_progress`)."""
        return sum(int(n) for n in (self.counts or {}).values())

    @property
    def records_summary(self) -> str:
        """What the run did, per kind of record: "customers: 6 created, 20 updated; contacts: 62 unchanged"."""
        return summarize_counts(self.entity_counts or {}, self.counts or {})

    @property
    def records_text(self) -> str:
        """The counts for a page: "none yet" only while the run may still record some. A running run that is not
        pausing also says it is at work on records beyond those (a record takes its time — a company and its
        contacts, a slow ConnectWise — and "none yet" read as if nothing were under way): "none finished yet —
        working on the first of 40", "customers: 3 created — working on the rest"."""
        return self._records(short=False)

    @property
    def records_short(self) -> str:
        """:attr:`records_text` for a compact table (the last runs on "Run or schedule a job"), whose Result cell
        says the run is running: the same counts without what it is at work on ("none finished yet", "customers: 3
        created")."""
        return self._records(short=True)

    def _records(self, *, short: bool) -> str:
        working = not short and self.status == RunStatus.RUNNING and not self.waiting_reason
        if self.counts:
            more = working and (not self.total or self.reached < self.total)
            return self.records_summary + (" — working on the rest" if more else "")
        if self.status in (RunStatus.RUNNING, RunStatus.CANCELLING):
            if not working:
                return "none finished yet"
            return f"none finished yet — working on the first of {self.total:,}" if self.total else \
                "none finished yet — working on the first"
        return "none yet" if self.status in ACTIVE_RUN_STATUSES else "none"

    items: Mapped[list[SyncItem]] = relationship(back_populates="run", cascade="all, delete-orphan",
                                                 order_by="SyncItem.id", passive_deletes=True)


RECORD_ACTIONS = ("created", "updated", "unchanged", "skipped", "failed", "not_attempted")
ACTION_LABELS = {"not_attempted": "not attempted"}
ENTITY_PLURALS = {"customer": "customers", "contact": "contacts", "document": "quotes / orders", "line": "lines"}


def plural_of(noun: str) -> str:
    """A kind of record's plural when :data:`ENTITY_PLURALS` has none: "companies", "categories", "addresses",
    "matches", "pairs" (not "companys"); "quote / order" takes it on each noun ("quotes / orders")."""
    if " / " in noun:
        return " / ".join(plural_of(part) for part in noun.split(" / "))
    if noun in ENTITY_PLURALS:
        return ENTITY_PLURALS[noun]
    lower = noun.lower()
    if len(lower) > 1 and lower.endswith("y") and lower[-2] not in "aeiou":
        return noun[:-1] + "ies"
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def summarize_counts(entity_counts: dict, counts: dict) -> str:
    """Counts by action, per kind of record, each kind named ("customers: 1 created"), whether the run recorded one
    kind or several: a retry of one failed customer (no contacts) says what it counted as the run it retries does,
    as the command line does. Without ``entity_counts``, or with one kind the pages have no name for (a test's), the
    counts alone ("3 created")."""

    def actions(c: dict) -> str:
        return ", ".join(f"{c[a]} {ACTION_LABELS.get(a, a)}" for a in RECORD_ACTIONS if c.get(a))

    if len(entity_counts) > 1 or any(e in ENTITY_PLURALS for e in entity_counts):
        order = list(ENTITY_PLURALS)
        kinds = sorted(entity_counts, key=lambda e: order.index(e) if e in order else len(order))
        named = "; ".join(f"{plural_of(e)}: {actions(entity_counts[e])}" for e in kinds
                          if actions(entity_counts[e]))
        if named:
            return named
    return actions(counts) or "nothing to do"


REDO_ACTIONS = ("failed", "not_attempted")  # the results Retry re-runs
REDO_SQL = "(" + ", ".join(f"'{a}'" for a in REDO_ACTIONS) + ")"  # the same, as the partial index on them says it


def constant(value: str):
    """``value`` written into the statement, not sent beside it: a partial index (:class:`SyncItem`'s on the results
    Retry re-runs, on the exports) serves a statement only where the planner sees the value its condition names, and
    the plan PostgreSQL keeps for a statement prepared on a connection (psycopg prepares one at its sixth run) is made
    without its parameters' values."""
    return literal(value, String, literal_execute=True)


def action_in(*actions: str):
    """``SyncItem.action`` among ``actions``, the values in the statement (:func:`constant`)."""
    return SyncItem.action.in_([constant(a) for a in actions])


class SyncItem(db.Model):
    """The outcome for one record in a run."""

    __tablename__ = "colcw_sync_items"
    __table_args__ = (Index("ix_colcw_sync_items_entity_at", "entity", "at"),
                      # a record's latest result (the list pages' status column, the record's page)
                      Index("ix_colcw_sync_items_entity_host", "entity", "host_id", "id"),
                      # a run's log, a page at a time in the order recorded (and the runs' cascade on delete)
                      Index("ix_colcw_sync_items_run_log", "run_id", "id"),
                      # a run's failed and not attempted results (its Retry, its log's filter), not the others
                      Index("ix_colcw_sync_items_run_redo", "run_id", "id",
                            postgresql_where=text(f"action IN {REDO_SQL}"), sqlite_where=text(f"action IN {REDO_SQL}")),
                      # what was exported lately (the Connection page's synced items), not what was imported
                      Index("ix_colcw_sync_items_exports", "entity", "at", "id", postgresql_include=["host_id", "action"],
                            postgresql_where=text("direction = 'export'"), sqlite_where=text("direction = 'export'")))
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("colcw_sync_runs.id", ondelete="CASCADE"), nullable=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    entity: Mapped[str] = mapped_column(String(20))  # customer | contact | document | line
    direction: Mapped[str] = mapped_column(String(10))  # export | import
    host_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cw_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    label: Mapped[str] = mapped_column(String(300), default="")
    action: Mapped[str] = mapped_column(String(20))  # created | updated | unchanged | skipped | failed | not_attempted
    message: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[str] = mapped_column(Text, default="")

    run: Mapped[SyncRun | None] = relationship(back_populates="items")


class Schedule(db.Model):
    """A synchronisation job run on a timetable ("Schedule this job" on the Synchronization Jobs page).

    ``next_run_at`` (naive UTC) is also the scheduler's claim: a scheduler fires a due schedule
    only if its compare-and-set ``UPDATE ... WHERE next_run_at = :due`` changes the row, so a
    period fires exactly once however many schedulers run (see ``sync/scheduler.py``).
    """

    __tablename__ = "colcw_schedules"
    # Its id is in the Edit / Pause / Delete addresses of open pages: never reused after a Reset (as runs).
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30), index=True)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    frequency: Mapped[str] = mapped_column(String(10))  # every | daily | weekly | monthly
    every_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)  # every: the interval
    time_of_day: Mapped[str] = mapped_column(String(5))  # "HH:MM", wall-clock time in ``timezone``
    timezone: Mapped[str] = mapped_column(String(64))  # IANA name
    weekday: Mapped[int | None] = mapped_column(Integer, nullable=True)  # weekly: 0 Monday .. 6 Sunday
    day_of_month: Mapped[int | None] = mapped_column(Integer, nullable=True)  # monthly: 1..31 (or the last day)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Disabled by switching Live updates off (a safety-net schedule): switching them on enables it again (colcw_0010).
    paused_by_live_switch: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    next_run_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True, index=True)
    last_due_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_fired_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_outcome: Mapped[str] = mapped_column(String(300), default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    def outcome_in(self, zone: str) -> str:
        """What its last due period did, as a page shows it: the time it was due in ``zone`` (:func:`times_in`)."""
        return times_in(self.last_outcome, zone)

    def note_in(self, zone: str) -> str:
        """:meth:`outcome_in`, unless it only says that the last run started (its run's own result says more: a
        page shows that instead); a skipped due time after it, for one, is said."""
        return "" if self.last_outcome == started_outcome(self.last_run_id) else self.outcome_in(zone)


# One schedule per name, whatever its case (names are stored trimmed): the list, the history and the command line
# tell schedules apart by their names. The index, not only the form's check, keeps two admins saving the same name at
# once in two processes from both succeeding (colcw_0006; the refusal: sync/jobs/schedules.py).
SCHEDULE_NAME_INDEX = "uq_colcw_schedules_name_lower"
Index(SCHEDULE_NAME_INDEX, func.lower(Schedule.name), unique=True)


def started_outcome(run_id: int | None) -> str:
    """A schedule's ``last_outcome`` once its due period started run ``run_id``."""
    return f"Started run #{run_id}."
