"""Job kinds: what each kind of synchronisation is, in one place, and the registry of them.

A kind (customer export, customer import, quote export, and the ones to come) registers once
with everything the generic jobs code needs to know about it: its label, how it describes its
params, how the Synchronization Jobs form and the command line choose it and turn their input
into params, what Retry re-runs, and the service that executes it. The jobs engine, the history
page and the schedules only ever call these, so none of them branches on a kind's name.

The registry is built by the composition root (``colcw_plugin.extension``), which asks each
feature to register its kinds; tests build their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from host_stub.gateway import UnitOfWork

from ...cw import ConnectWiseClient
from ...errors import FieldErrors
from ...models import Settings, SyncItem, SyncRun
from ...models.runs import plural_of
from .recorder import RunRecorder

if TYPE_CHECKING:
    from .queue import JobQueue

# A retry of this many records or fewer names them in its description ("Export customers ACME1 and BETA2 to
# ConnectWise (retry of #12)"); more are counted.
NAMED_IN_RETRY = 3


def and_list(names: Sequence[str]) -> str:
    """"A", "A and B", "A, B and C"."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def retry_description(description: str, retry_of_id: int | None) -> str:
    """A retry run's description saying which run it retries: a kind's "… (retry)" becomes "… (retry of #12)", and
    one that does not say it is a retry (its run's whole pass again) gets "(retry of #12)" after it."""
    if not retry_of_id:
        return description
    if description.endswith(" (retry)"):
        return f"{description[:-len(' (retry)')]} (retry of #{retry_of_id})"
    return f"{description} (retry of #{retry_of_id})"


class NothingToRecord(Exception):
    """Raised by a kind's service when its run changed and found nothing that a person scanning the history needs to
    see (a live-update run queued for callbacks an earlier run already took, or whose records all read back
    unchanged): the run is then not kept (:func:`~.runs.execute_run` deletes its row, its first attempt's, while it
    holds no result but "unchanged" ones, which go with it). ``str()`` is what the worker's log says of it."""


@dataclass(frozen=True)
class RunOptions:
    """How a run may work: documents exported side by side (``COLCW_CONCURRENCY``); how long it keeps
    trying records that failed transiently: passes within an attempt after ``record_retries`` seconds
    (``COLCW_RECORD_RETRY_INTERVALS``), then, when ``can_wait`` (a queued run), later attempts after
    ``attempt_intervals`` seconds (``COLCW_RETRY_INTERVALS``); ``unreachable_after`` records failing in a
    row make the whole run wait (``COLCW_UNREACHABLE_AFTER``); a create an earlier attempt left unaccounted for is
    waited for ``create_settle_seconds`` at most (``COLCW_CREATE_SETTLE_SECONDS``)."""

    concurrency: int = 1
    record_retries: tuple[float, ...] = (2.0, 10.0)
    attempt_intervals: tuple[float, ...] = (30.0, 120.0, 600.0)
    unreachable_after: int = 3
    can_wait: bool = False
    # A run that can wait pauses between passes in its worker at most this long for a Retry-After (None: however
    # long): a longer one ends the attempt, and the run waits for its next one in RQ (scheduled for then), leaving
    # its worker to other runs (jobs.runs._passes).
    hold_worker_seconds: float | None = None
    # How long after an earlier attempt sent a create ConnectWise may still carry it out, when that attempt never saw
    # it end (it froze or died with the POST in flight): a later one that does not find what it made waits so long,
    # then takes it for lost and creates the record itself (``COLCW_CREATE_SETTLE_SECONDS``; quotes/intents.py).
    create_settle_seconds: float = 180.0


@dataclass
class SyncContext:
    """What a kind's service gets: the business session, the client, the recorder, who asked.

    ``host`` opens a unit of work of the host's service API on a session (the run's, or a worker
    thread's own): host writes go through it and its events fire after its commit.
    """

    session: Session
    client: ConnectWiseClient
    recorder: RunRecorder
    settings: Settings
    actor: dict | None
    run_id: int
    params: dict = field(default_factory=dict)
    options: RunOptions = field(default_factory=RunOptions)
    host: Callable[[Session], UnitOfWork] = UnitOfWork
    message: str = ""  # what the service's last pass returned
    # The job queue and the kinds, for a service that queues follow-up work (passed down from the composition root:
    # sync/runtime.py); None where the run has no queue (a test calling execute_run alone): nothing is queued then.
    queue: JobQueue | None = None
    kinds: KindRegistry | None = None


@dataclass(frozen=True)
class JobKind:
    """One kind of synchronisation job (see the module doc).

    * ``run(ctx)`` executes a run and may return a summary message.
    * ``describe(session, params, scheduled=False)`` is the run's readable description (``session``
      may be None: then records are named by id); ``scheduled`` describes what a schedule does
      each time it fires, when that differs from one run (a moving "since").
    * ``form_job`` / ``form_source`` are the values of the jobs form's ``job`` and ``source``
      choices that select this kind, ``form_template`` the page's form section that offers it;
      ``parse_form(session, form)`` turns the form into params.
    * ``parse_cli(session, options)`` does the same for the ``flask colcw sync`` options.
    * ``retry(session, run, failed)`` gives the params of a run that redoes the failed and not
      attempted records of ``run`` (None when nothing can be redone); ``retry_nouns`` names what it
      counts; ``record_labels(session, ids)`` names selected records the run never reached.
    """

    name: str
    label: str
    run: Callable[[SyncContext], str | None]
    describe: Callable[..., str]
    form_job: str = ""
    form_job_label: str = ""
    form_source: str = ""
    form_source_prompt: str = ""
    form_template: str = ""  # the jobs page's form section that offers it
    range_fields: Mapping[str, str] = field(default_factory=dict)  # the dates its range form can select on
    parse_form: Callable[[Session, Mapping[str, str]], dict] | None = None
    parse_cli: Callable[[Session, Mapping[str, object]], dict] | None = None
    retry: Callable[[Session, SyncRun, Sequence[SyncItem]], dict | None] | None = None
    retry_nouns: tuple[str, str] = ("record", "records")
    # The kinds of record its retry redoes each of, by entity, with their nouns: the Retry button counts the failed
    # and not attempted records by kind ("Retry the 17 failed customers and 1 failed contact") when they are all
    # of these; else (none given, or another kind's) it counts what ``retry`` lists, in ``retry_nouns``.
    retry_entities: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # Names of selected records by id, for those a run never reached ("not attempted").
    record_labels: Callable[[Session, list[int]], dict[int, str]] | None = None
    # Its run selects its records in the host database and says how many (``recorder.set_total``) before any
    # request to ConnectWise: the run's start ("running") is then written with its total, one statement for two.
    selects_in_host: bool = False
    # Its service may end a run that found nothing to do with NothingToRecord: that run is not kept, and a page that
    # showed it gives its row back to the kind's last run kept.
    drops_empty_runs: bool = False
    # Its runs' descriptions name no record (what ConnectWise announced): a run that touched up to NAMED_IN_RETRY
    # records names them in its closing message, as the history row shows it ("Customer Acme Ltd (ACME1)").
    names_records: bool = False
    # Whether a run of these params works on one record a person asked for and waits to see (a rep's export of one
    # document, of one customer; the import of one company): colcw's worker runs such a run in its own process, not in
    # a work horse forked for it, so it starts on the worker's database and ConnectWise connections and with its
    # statements compiled (jobs.queue.ColcwWorker). A forked job starts with neither: the export of a one-line quote
    # took about 0.2 s there against 0.05 s in the worker's process, plus a TLS handshake per connection against a
    # real tenant.
    one_record: Callable[[Mapping], bool] | None = None
    # Its runs are short and a page waits on them (live updates: a quote's page shows ConnectWise's Won within
    # seconds): they go on the live queue, which every worker takes first and a worker of its own may serve alone
    # (jobs.queue, ``colcw worker --queues live``), as a run of one record (``one_record``) does.
    urgent: bool = False

    def retry_label(self, params: Mapping) -> str:
        """The Retry button's text for ``params`` of :attr:`retry`: "Retry the 3 failed customers"."""
        return self.retry_text(params)

    def retry_text(self, params: Mapping, what: str = "failed", records: int | None = None) -> str:
        """"Retry the 3 failed customers" (the ids ``params`` lists); a retry that names none (its run's whole pass
        again) counts the run's ``records`` ("Retry the 1,303 failed records")."""
        ids = next((v for v in params.values() if isinstance(v, list)), None)
        one, many = self.retry_nouns
        if ids is None:
            if records is None:
                return f"Retry the {what} {many}"
            one, many = "record", "records"
        count = len(ids) if ids is not None else records
        return f"Retry the {count:,} {what} {one if count == 1 else many}"


# What a kind of record is called in a run's messages ("customer Acme Ltd (ACME1)"; "3 quotes / orders waiting for
# ConnectWise") when the run's kind does not say (``JobKind.retry_entities``).
ENTITY_WORDS = {"customer": "customer", "contact": "contact", "document": "quote / order"}
RECORD_NOUNS = ("record", "records")


def record_nouns(job: JobKind | None, entity: str | None) -> tuple[str, str]:
    """What the records of ``entity`` a run of ``job`` works on are, as the kind names them (its Retry button and
    counts: ``JobKind.retry_entities`` — "company" for an import's customers), else as :data:`ENTITY_WORDS` does
    ("quote / order"), in the singular and the plural; "record" without an entity. The one wording of every message
    that counts a run's records: what it did not reach, what waits for ConnectWise, what was not done, how far a
    cancelled run got."""
    if not entity:
        return RECORD_NOUNS
    if job is not None and entity in job.retry_entities:
        return tuple(job.retry_entities[entity])
    one = ENTITY_WORDS.get(entity, entity)
    return one, plural_of(one)


def selected_nouns(job: JobKind | None, selection: Mapping | None) -> tuple[str, str]:
    """:func:`record_nouns` of the records a run selected (its ``selection``: ``SyncRun.selection``,
    ``RunRecorder.selection``); "record" when it selected none by id."""
    return record_nouns(job, (selection or {}).get("entity"))


def done_of(done: int, total: int | None, nouns: tuple[str, str] = RECORD_NOUNS) -> str:
    """How far a run got, its records named by ``nouns`` (:func:`selected_nouns`): "2 of 4 companies", "0 of 1
    customer"; "3 quotes / orders" when its total is not known (none, or 0: not counted yet)."""
    one, many = nouns
    if not total:
        return f"{done:,} {one if done == 1 else many}"
    return f"{done:,} of {total:,} {one if total == 1 else many}"


class KindRegistry:
    """The job kinds an app knows, by name."""

    def __init__(self, kinds: Sequence[JobKind] = ()):
        self._kinds: dict[str, JobKind] = {}
        for kind in kinds:
            self.register(kind)

    def register(self, kind: JobKind) -> JobKind:
        if kind.name in self._kinds and self._kinds[kind.name] is not kind:
            raise ValueError(f"job kind {kind.name!r} is registered twice")
        self._kinds[kind.name] = kind
        return kind

    def __getitem__(self, name: str) -> JobKind:
        return self._kinds[name]

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def __iter__(self) -> Iterator[JobKind]:
        return iter(self._kinds.values())

    def get(self, name: str) -> JobKind | None:
        return self._kinds.get(name)

    def one_record(self, name: str, params: Mapping) -> bool:
        """Whether a run of kind ``name`` with ``params`` works on one record a person waits for
        (:attr:`JobKind.one_record`)."""
        kind = self._kinds.get(name)
        return bool(kind is not None and kind.one_record is not None and kind.one_record(params or {}))

    def urgent(self, name: str, params: Mapping) -> bool:
        """Whether a run of kind ``name`` with ``params`` goes on the live queue: a kind whose runs are all short and
        awaited (:attr:`JobKind.urgent`: live updates), or a run of one record a person waits for (a rep's export of
        one document or customer, the Won of a converted order, the import of one company)."""
        kind = self._kinds.get(name)
        return bool(kind is not None and (kind.urgent or self.one_record(name, params)))

    def label(self, name: str) -> str:
        kind = self._kinds.get(name)
        return kind.label if kind else name

    def describe(self, session: Session | None, name: str, params: Mapping, *, scheduled: bool = False) -> str:
        kind = self._kinds.get(name)
        return kind.describe(session, dict(params or {}), scheduled=scheduled) if kind else name

    def on_form(self) -> list[JobKind]:
        """The kinds the Synchronization Jobs form offers, in registration order."""
        return [k for k in self._kinds.values() if k.parse_form is not None]

    def forms(self) -> list[JobKind]:
        """One kind per form section of the jobs page (kinds sharing a section share its template)."""
        sections: dict[str, JobKind] = {}
        for kind in self.on_form():
            if kind.form_template:
                sections.setdefault(kind.form_template, kind)
        return list(sections.values())

    def from_form(self, session: Session, form: Mapping[str, str]) -> tuple[JobKind, dict]:
        """The kind a submitted jobs form chose and its params (:class:`FieldErrors` saying what to choose)."""
        offered = self.on_form()
        chosen = [k for k in offered if k.form_job == form.get("job")]
        if not chosen:
            labels = list(dict.fromkeys(k.form_job_label for k in offered))
            raise FieldErrors({"job": f"Choose a job type: {' or '.join(labels)}."})
        sourced = [k for k in chosen if k.form_source]
        if sourced:
            chosen = [k for k in sourced if k.form_source == form.get("source")]
            if not chosen:
                raise FieldErrors({"source": sourced[0].form_source_prompt})
        kind = chosen[0]
        assert kind.parse_form is not None
        return kind, kind.parse_form(session, form)
