"""Schedules: "Schedule this job" — every N minutes, daily, weekly on a weekday, monthly on a day — and
their next run.

A schedule is a wall-clock time in an IANA time zone. Its next run is computed in that zone and
stored in UTC (``Schedule.next_run_at``), so it keeps to the local time across daylight-saving
changes:

* **Spring forward** (the local time does not exist that day, e.g. 02:30 in America/New_York on
  the second Sunday of March): the job runs at the same *elapsed* time, i.e. shifted forward by
  the length of the gap — 03:30 local (07:30 UTC). This is what ``zoneinfo`` gives with
  ``fold=0`` (the offset in force before the change), and it keeps the job on that day.
* **Fall back** (the local time happens twice, e.g. 01:30 on the first Sunday of November): the
  job runs once, at the first occurrence (daylight time). A 02:30 job is unambiguous that day
  and runs once at 02:30 standard time.
* **Monthly on day 29, 30 or 31**: in a shorter month the job runs on the month's last day.
* **Every N minutes** (the live updates' safety net): N minutes after it last fired; time zones
  do not matter to it.

Adding, changing, enabling, disabling or deleting a schedule records who did it and what (a
:class:`~colcw_plugin.models.ConfigChange` of area "schedules", shown with the other configuration changes on the
Connection page): the page names the signed-in admin, the command line "command line (USER)".

No Flask here: the Synchronization Jobs page and the scheduler call these with a session.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from host_stub.models import utcnow

from ...errors import FieldErrors
from ...models import ConfigChange, Schedule
from ...models.runs import SCHEDULE_NAME_INDEX
from .kinds import KindRegistry

FREQUENCIES = {"daily": "Daily", "weekly": "Weekly", "monthly": "Monthly", "every": "Every N minutes"}
MAX_EVERY_MINUTES = 1440
# The timing fields each frequency reads (the time zone goes with any): what a schedule keeps of the others is None.
FIELDS_READ = {"daily": ("time",), "weekly": ("time", "weekday"), "monthly": ("time", "day_of_month"),
               "every": ("every_minutes",)}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
UTC = dt.UTC


@dataclass(frozen=True)
class Timing:
    """When a schedule runs: frequency, local time, IANA zone, and the weekday / day of month."""

    frequency: str
    time_of_day: dt.time
    timezone: str
    weekday: int | None = None
    day_of_month: int | None = None
    every_minutes: int | None = None

    @classmethod
    def of(cls, schedule: Schedule) -> Timing:
        h, m = (int(x) for x in schedule.time_of_day.split(":"))
        return cls(schedule.frequency, dt.time(h, m), schedule.timezone, schedule.weekday, schedule.day_of_month,
                   schedule.every_minutes)

    @classmethod
    def every(cls, minutes: int, timezone: str = "UTC") -> Timing:
        return cls("every", dt.time(0, 0), timezone, every_minutes=minutes)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@functools.cache
def timezones() -> tuple[str, ...]:
    """The IANA zone names offered in the forms (sorted)."""
    return tuple(sorted(z for z in available_timezones() if "/" in z or z == "UTC"))


@functools.cache
def _known_zones() -> frozenset[str]:
    """Every zone name the system's tz database holds: read once per process (``available_timezones`` walks the
    database's directory on every call, about 4 ms, and the progress bar asks once a second)."""
    return frozenset(available_timezones())


def is_timezone(name: str) -> bool:
    if not name or name not in _known_zones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def parse_timing(form: dict) -> Timing:
    """Validate the schedule fields of a form (frequency, time, timezone, weekday, day_of_month)."""
    errors: dict[str, str] = {}
    frequency = (form.get("frequency") or "").strip()
    if frequency not in FREQUENCIES:
        errors["frequency"] = "Choose how often the job runs: daily, weekly, monthly or every N minutes."
    m = TIME_RE.match((form.get("time") or "").strip() or ("00:00" if frequency == "every" else ""))
    if not m:
        errors["time"] = "Enter the time as HH:MM on a 24-hour clock, for example 02:30."
    every = None
    if frequency == "every":
        try:
            every = int(form.get("every_minutes", ""))
            if not 1 <= every <= MAX_EVERY_MINUTES:
                raise ValueError
        except ValueError:
            errors["every_minutes"] = f"Enter the minutes between runs, 1 to {MAX_EVERY_MINUTES}."
    zone = (form.get("timezone") or "").strip()
    if not is_timezone(zone):
        errors["timezone"] = "Choose a time zone from the list (an IANA name such as America/New_York)."
    weekday = day = None
    if frequency == "weekly":
        try:
            weekday = int(form.get("weekday", ""))
            if not 0 <= weekday <= 6:
                raise ValueError
        except ValueError:
            errors["weekday"] = "Choose the day of the week the job runs on."
    if frequency == "monthly":
        try:
            day = int(form.get("day_of_month", ""))
            if not 1 <= day <= 31:
                raise ValueError
        except ValueError:
            errors["day_of_month"] = "Enter the day of the month, 1 to 31 (shorter months use their last day)."
    if errors:
        raise FieldErrors(errors)
    return Timing(frequency, dt.time(int(m.group(1)), int(m.group(2))), zone, weekday, day, every)


# --- next run ------------------------------------------------------------------------------------


def local_instant(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant (naive) of wall-clock ``at`` on ``day`` in ``zone`` (see the module doc for DST)."""
    local = dt.datetime.combine(day, at).replace(tzinfo=zone, fold=0)
    return local.astimezone(UTC).replace(tzinfo=None)


def runs_on(timing: Timing, day: dt.date) -> bool:
    if timing.frequency == "every":
        return True
    if timing.frequency == "daily":
        return True
    if timing.frequency == "weekly":
        return day.weekday() == timing.weekday
    last = calendar.monthrange(day.year, day.month)[1]
    return day.day == min(timing.day_of_month or 1, last)


def next_run_after(timing: Timing, after: dt.datetime) -> dt.datetime:
    """The first run strictly after ``after`` (naive UTC), as naive UTC."""
    if timing.frequency == "every":
        return after.replace(second=0, microsecond=0) + dt.timedelta(minutes=timing.every_minutes or 15)
    zone = timing.zone
    day = after.replace(tzinfo=UTC).astimezone(zone).date() - dt.timedelta(days=1)
    for _ in range(400):  # a monthly schedule finds its day within 32 days; this is a safety bound
        if runs_on(timing, day):
            at = local_instant(day, timing.time_of_day, zone)
            if at > after:
                return at
        day += dt.timedelta(days=1)
    raise RuntimeError(f"no run found for {timing} after {after}")  # unreachable for valid timings


def describe(schedule: Schedule) -> str:
    """"Daily at 02:30 (America/New_York)", "Every 15 minutes" and the like."""
    if schedule.frequency == "every":
        n = schedule.every_minutes or 15
        return f"Every {n} minute{'s' if n != 1 else ''}"
    when = f"at {schedule.time_of_day} ({schedule.timezone})"
    if schedule.frequency == "weekly" and schedule.weekday is not None:
        return f"Weekly on {WEEKDAYS[schedule.weekday]} {when}"
    if schedule.frequency == "monthly":
        day = schedule.day_of_month or 1
        tail = " (or the month's last day)" if day > 28 else ""
        return f"Monthly on day {day}{tail} {when}"
    return f"Daily {when}"


def job_description(session: Session | None, kinds: KindRegistry, kind: str, params: dict) -> str:
    """What a schedule's job does each time it fires (its kind says how, e.g. an incremental import's
    "since" moves with every import, so it is named rather than shown as today's value)."""
    return kinds.describe(session, kind, params or {}, scheduled=True)


def in_zone(value: dt.datetime | None, zone_name: str) -> dt.datetime | None:
    """A naive-UTC datetime shown in ``zone_name`` (aware)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC).astimezone(ZoneInfo(zone_name))


# --- schedules as records ------------------------------------------------------------------------


NAME_MAX = 100  # Schedule.name


def _name_key(name: str) -> str:
    """What makes two names the same name: case and surrounding spaces do not count."""
    return name.strip().lower()


def named(session: Session, name: str, *, other_than: int | None = None) -> Schedule | None:
    """The schedule (other than the one with id ``other_than``) already called ``name``, whatever its case and
    surrounding spaces; None when the name is free."""
    key = _name_key(name)
    with session.no_autoflush:
        rows = session.execute(select(Schedule).order_by(Schedule.id)).scalars()
        return next((s for s in rows if s.id != other_than and _name_key(s.name) == key), None)


def name_taken_message(name: str, other: Schedule | None) -> str:
    """Why ``name`` is refused: which schedule has it, and what to do."""
    if other is None:  # (the index refused it, and the other schedule went again before it could be named)
        return (f"Another schedule is already named “{name.strip()}”: schedule names must differ (whatever their "
                "case). Choose a different name.")
    return (f"Schedule #{other.id} “{other.name}” ({describe(other)}) already has this name: schedule names must "
            "differ (whatever their case). Choose a different name, or rename or delete that schedule first.")


def free_name(session: Session, name: str) -> str:
    """``name``, or with " (2)", " (3)"… after it when a schedule already has it (the live updates' switch names the
    safety net's schedules this way, whatever an admin has called theirs)."""
    taken = {_name_key(n) for n in session.execute(select(Schedule.name)).scalars()}
    out, n = name, 2
    while _name_key(out) in taken:
        out, n = f"{name[:NAME_MAX - 6]} ({n})", n + 1
    return out


def _apply(session: Session, schedule: Schedule, name: str, timing: Timing) -> None:
    name = name.strip()
    if not name:
        raise FieldErrors({"schedule_name": "Name the schedule so you can find it in the list and the history."})
    if len(name) > NAME_MAX:  # (the form's maxlength stops a browser; a script or an old page gets told)
        raise FieldErrors({"schedule_name": f"A schedule's name has at most {NAME_MAX} characters ({len(name)} "
                                            "given): shorten it."})
    other = named(session, name, other_than=schedule.id)
    if other is not None:
        raise FieldErrors({"schedule_name": name_taken_message(name, other)})
    schedule.name = name
    schedule.frequency = timing.frequency
    schedule.time_of_day = timing.time_of_day.strftime("%H:%M")
    schedule.timezone = timing.timezone
    reads = FIELDS_READ.get(timing.frequency, ())
    schedule.weekday = timing.weekday if "weekday" in reads else None
    schedule.day_of_month = timing.day_of_month if "day_of_month" in reads else None
    schedule.every_minutes = timing.every_minutes if "every_minutes" in reads else None


def _saved_named(session: Session, schedule: Schedule, change) -> None:
    """Make ``change`` (it names ``schedule``) and flush it in a savepoint: another process may have saved a schedule
    of the same name since the check (two admins at once), and the name's unique index refuses the second — said
    with the same message as the check's, naming the schedule that has it; the caller's transaction stays usable."""
    name = schedule.name
    try:
        with session.begin_nested():
            change()
            name = schedule.name
            session.flush()
    except IntegrityError as e:
        if SCHEDULE_NAME_INDEX not in str(e.orig):
            raise
        raise FieldErrors({"schedule_name": name_taken_message(name, named(session, name, other_than=schedule.id))}
                          ) from None


AUDIT_AREA = "schedules"  # ConfigChange.area of what is done to schedules


def _audit(session: Session, actor: str, summary: str) -> None:
    session.add(ConfigChange(actor=actor, area=AUDIT_AREA, summary=summary[:4000]))


def _called(schedule: Schedule) -> str:
    """"schedule #3 “Nightly import”", as the audit names one."""
    return f"schedule #{schedule.id} “{schedule.name}”"


def create_schedule(session: Session, *, name: str, kind: str, params: dict, timing: Timing, actor: str,
                    now: dt.datetime | None = None, audited: bool = True) -> Schedule:
    """Add an enabled schedule with its first run computed (flushed, not committed), ``actor`` recorded as who made
    it (and, unless not ``audited``: a change of the caller's own records it, in the audit). A name another schedule
    has (whatever its case) is refused (:class:`FieldErrors`)."""
    schedule = Schedule(kind=kind, params=dict(params), enabled=True, created_by=actor)

    def add() -> None:
        _apply(session, schedule, name, timing)
        schedule.next_run_at = next_run_after(timing, now or utcnow())
        session.add(schedule)

    _saved_named(session, schedule, add)
    if audited:
        _audit(session, actor, f"Added {_called(schedule)}: {describe(schedule)}")
    return schedule


def update_schedule(session: Session, schedule: Schedule, *, name: str, timing: Timing, actor: str,
                    now: dt.datetime | None = None) -> Schedule:
    """Change a schedule's name and timing; its next run is recomputed from now. What changed is recorded as
    ``actor``'s (nothing, when nothing did). A name another schedule has (whatever its case) is refused
    (:class:`FieldErrors`)."""
    before = (schedule.name, describe(schedule))

    def change() -> None:
        _apply(session, schedule, name, timing)
        if schedule.enabled:
            schedule.next_run_at = next_run_after(timing, now or utcnow())

    _saved_named(session, schedule, change)
    changes = [f"{what} {old} → {new}" for what, old, new in (
        ("name", f"“{before[0]}”", f"“{schedule.name}”"), ("timing", before[1], describe(schedule))) if old != new]
    if changes:
        _audit(session, actor, f"Changed schedule #{schedule.id} “{before[0]}”: " + "; ".join(changes))
    return schedule


def remove_schedule(session: Session, schedule: Schedule, *, actor: str) -> None:
    """Delete a schedule (its past runs stay in the history), recorded as ``actor``'s (flushed, not committed)."""
    _audit(session, actor, f"Deleted {_called(schedule)} ({describe(schedule)}, "
                           f"{'enabled' if schedule.enabled else 'disabled'}); its past runs stay in the history")
    session.delete(schedule)
    session.flush()


def set_enabled(session: Session, schedule: Schedule, enabled: bool, *, actor: str,
                now: dt.datetime | None = None, audited: bool = True) -> None:
    """Enable (next run from now: periods missed while disabled are not caught up) or disable; a change recorded as
    ``actor``'s (unless not ``audited``: a change of the caller's own records it)."""
    if audited and schedule.enabled != enabled:
        _audit(session, actor, f"{'Enabled' if enabled else 'Disabled'} {_called(schedule)}")
    schedule.enabled = enabled
    schedule.next_run_at = next_run_after(Timing.of(schedule), now or utcnow()) if enabled else None
    session.flush()


def list_schedules(session: Session) -> list[Schedule]:
    return list(session.execute(select(Schedule).order_by(Schedule.kind, Schedule.name, Schedule.id)).scalars())
