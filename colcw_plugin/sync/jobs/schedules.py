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
import difflib
import functools
import json
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import or_, select, text
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


# --- time zones: the one definition of the zones the forms offer and accept ---------------------------

# What the forms offer and accept: the tz database's region zones ("Area/City": they follow the place's daylight
# saving) and UTC. Not the legacy names without a region ("EST", "MST", "EST5EDT", "CET", "GB"…) nor the fixed
# offsets under Etc/ ("Etc/GMT+5"): several keep one offset all year, so an admin meaning New York with "EST" would
# get runs an hour off in summer. A zone saved before stays valid (:func:`is_timezone`) and keeps working; the
# pages show it with :func:`zone_refusal`'s note, to change it.
NOT_REGIONS = ("Etc/",)
_CITY_FOR = {  # a legacy name → the city zone (and what it is) to choose instead
    "EST": "America/New_York (Eastern Time)", "EST5EDT": "America/New_York (Eastern Time)",
    "CST6CDT": "America/Chicago (Central Time)", "MST7MDT": "America/Denver (Mountain Time)",
    "MST": "America/Denver (Mountain Time), America/Phoenix (Arizona, which keeps standard time)",
    "PST8PDT": "America/Los_Angeles (Pacific Time)", "HST": "Pacific/Honolulu (Hawaii)",
    "Navajo": "America/Denver (Mountain Time)", "CET": "Europe/Paris (Central European Time)",
    "MET": "Europe/Paris (Central European Time)", "EET": "Europe/Athens (Eastern European Time)",
    "WET": "Europe/Lisbon (Western European Time)", "GB": "Europe/London", "GB-Eire": "Europe/London",
    "Eire": "Europe/Dublin", "Portugal": "Europe/Lisbon", "Poland": "Europe/Warsaw", "Turkey": "Europe/Istanbul",
    "W-SU": "Europe/Moscow", "Iceland": "Atlantic/Reykjavik", "Egypt": "Africa/Cairo", "Libya": "Africa/Tripoli",
    "Israel": "Asia/Jerusalem", "Iran": "Asia/Tehran", "Japan": "Asia/Tokyo", "PRC": "Asia/Shanghai",
    "ROC": "Asia/Taipei", "ROK": "Asia/Seoul", "Hongkong": "Asia/Hong_Kong", "Singapore": "Asia/Singapore",
    "NZ": "Pacific/Auckland", "NZ-CHAT": "Pacific/Chatham", "Kwajalein": "Pacific/Kwajalein",
    "Jamaica": "America/Jamaica", "Cuba": "America/Havana",
}
_UTC_NAMES = {"GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich", "UCT", "Universal", "Zulu", "Etc/UTC", "Etc/UCT",
              "Etc/GMT", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0", "Etc/Greenwich", "Etc/Universal", "Etc/Zulu"}
UNKNOWN_ZONE = "Choose a time zone from the list (an IANA name such as America/New_York)."


@functools.cache
def _known_zones() -> frozenset[str]:
    """Every zone name the system's tz database holds: read once per process (``available_timezones`` walks the
    database's directory on every call, about 4 ms, and the progress bar asks once a second)."""
    return frozenset(available_timezones())


def _offered(name: str) -> bool:
    return name == "UTC" or ("/" in name and not name.startswith(NOT_REGIONS))


@functools.cache
def timezones() -> tuple[str, ...]:
    """The zones the forms offer and accept (sorted): region zones, and UTC."""
    return tuple(sorted(z for z in _known_zones() if _offered(z)))


@functools.cache
def _zones_by_folded_name() -> dict[str, str]:
    """Each zone of the tz database by its name in lower case (no two of its names differ only in case)."""
    return {z.lower(): z for z in _known_zones()}


def canonical_zone(name: str) -> str:
    """``name`` (surrounding spaces left out) as the tz database spells it, whatever its case: "america/new_york" →
    "America/New_York", "utc" → "UTC"; ``name`` itself when no zone has that name in any case. What may be chosen is
    then :func:`zone_refusal`'s to say."""
    name = (name or "").strip()
    if name in _known_zones():
        return name
    return _zones_by_folded_name().get(name.lower(), name)


def _fold(name: str) -> str:
    """A zone name as it is compared with what someone typed: lower case, spaces and hyphens as underscores."""
    return re.sub(r"[\s-]+", "_", name.strip().lower())


def close_zones(name: str, limit: int = 3) -> list[str]:
    """The zones the forms offer whose names are closest to ``name`` (a typo, a city alone, spaces for underscores:
    "america/new york", "New York", "Amerika/Chicago"), closest first; none when nothing is close."""
    typed = _fold(name)
    if not typed:
        return []
    offered = timezones()
    by_full = {_fold(z): z for z in offered}
    by_city: dict[str, list[str]] = {}
    for z in offered:
        by_city.setdefault(_fold(z.rsplit("/", 1)[-1]), []).append(z)
    city = typed.rsplit("/", 1)[-1]
    found = [*by_city.get(city, ()),
             *(by_full[m] for m in difflib.get_close_matches(typed, list(by_full), limit, 0.8)),
             *(z for m in difflib.get_close_matches(city, list(by_city), limit, 0.8) for z in by_city[m])]
    return list(dict.fromkeys(found))[:limit]


def did_you_mean(name: str) -> str:
    """" The closest name: America/New_York." (or two or three names) for a name that is no zone; "" when none is
    close."""
    close = close_zones(name)
    if not close:
        return ""
    if len(close) == 1:
        return f" The closest name: {close[0]}."
    return f" The closest names: {', '.join(close[:-1])} and {close[-1]}."


def is_timezone(name: str) -> bool:
    """Whether ``name`` is a zone of the tz database (any: a schedule or a person's choice saved with a legacy name
    keeps working). What may be chosen now is narrower: :func:`zone_refusal`."""
    if not name or name not in _known_zones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _keeps_one_offset(name: str) -> bool:
    """Whether the zone has the same offset in January and July (no daylight saving)."""
    zone, year = ZoneInfo(name), utcnow().year
    return dt.datetime(year, 1, 15, 12, tzinfo=zone).utcoffset() == dt.datetime(year, 7, 15, 12, tzinfo=zone).utcoffset()


def zone_refusal(name: str) -> str:
    """Why ``name`` may not be chosen as a schedule's or a person's time zone, and which to choose ("" when it may):
    not a zone at all, or a legacy name or fixed offset (:data:`NOT_REGIONS`), e.g. "EST has no daylight saving:
    choose America/New_York (Eastern Time) or another city zone."."""
    if is_timezone(name) and _offered(name):
        return ""
    if not is_timezone(name):
        return UNKNOWN_ZONE + did_you_mean(name)
    if name in _UTC_NAMES:
        return f"{name} is another name for UTC: choose UTC."
    city = _CITY_FOR.get(name)
    if city:
        if _keeps_one_offset(name) and not _keeps_one_offset(city.split(" ", 1)[0]):  # EST, MST: the summer differs
            return f"{name} has no daylight saving: choose {city} or another city zone."
        return f"{name} is a legacy zone name, not a city's: choose {city} or another city zone."
    if name.startswith(NOT_REGIONS):
        return (f"{name} is a fixed offset with no daylight saving: choose the city zone of the place you mean "
                "(e.g. America/New_York), or UTC.")
    return f"{name} is not a city's zone: choose the city zone of the place you mean (e.g. America/New_York), or UTC."


def legacy_zone_note(name: str) -> str:
    """For a zone saved before legacy names were refused (it still works, and the pages say to change it): its
    :func:`zone_refusal`; "" for a zone that may be chosen, or a name that is no zone at all."""
    return zone_refusal(name) if is_timezone(name) else ""


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
    zone = canonical_zone(form.get("timezone") or "")  # "america/new_york" is America/New_York, saved so spelled
    if refused := zone_refusal(zone):
        errors["timezone"] = refused
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


# --- schedules that would always meet -------------------------------------------------------------------

# How far ahead two timings are compared: a little over a year, so every weekday, month length and daylight-saving
# change of both zones is seen.
COMPARED_DAYS = 400
TIMING_KEY = "schedule_timing"  # FieldErrors' key for a timing refused as another schedule's (no field of its own)


def _firings(timing: Timing, start: dt.datetime) -> frozenset[dt.datetime]:
    """Every run of ``timing`` (a daily, weekly or monthly one) in the :data:`COMPARED_DAYS` after ``start``."""
    out, at, end = set(), start, start + dt.timedelta(days=COMPARED_DAYS)
    while (at := next_run_after(timing, at)) <= end:
        out.add(at)
    return frozenset(out)


def meets(a: Timing, b: Timing, *, now: dt.datetime | None = None) -> tuple[bool, bool]:
    """(whether every run of ``a`` falls on the same minute as a run of ``b``, and the other way round). Same-job
    schedules that meet so would each time queue the job twice at once: one of the two is skipped every time.
    "Every N minutes" schedules meet only one of the same N (whichever zone: it does not apply to them). Times are
    compared as instants, so 02:30 America/New_York and 02:30 US/Eastern meet; 07:30 UTC and 02:30 New York, an
    hour apart in summer, do not."""
    if "every" in (a.frequency, b.frequency):
        same = a.frequency == b.frequency and a.every_minutes == b.every_minutes
        return same, same
    start = (now or utcnow()).replace(second=0, microsecond=0)
    fa, fb = _firings(a, start), _firings(b, start)
    return fa <= fb, fb <= fa


def _params_key(params: dict | None) -> str:
    """What makes two jobs' parameters the same (as the queue's ``canonical_params``: the work it will not queue
    twice)."""
    return json.dumps(params or {}, sort_keys=True, separators=(",", ":"), default=str)


def meeting(session: Session, kind: str, params: dict, timing: Timing, *, other_than: int | None = None,
            now: dt.datetime | None = None) -> tuple[Schedule, bool, bool] | None:
    """The first enabled schedule (other than ``other_than``) of the same job and parameters whose runs and
    ``timing``'s would always meet (:func:`meets`), with the two answers of :func:`meets` (``timing``'s first);
    None when there is none."""
    wanted = _params_key(params)
    with session.no_autoflush:
        rows = session.execute(select(Schedule).where(Schedule.kind == kind, Schedule.enabled.is_(True))
                               .order_by(Schedule.id)).scalars().all()
    for other in rows:
        if other.id == other_than or _params_key(other.params) != wanted:
            continue
        mine_in_its, its_in_mine = meets(timing, Timing.of(other), now=now)
        if mine_in_its or its_in_mine:
            return other, mine_in_its, its_in_mine
    return None


def meeting_message(other: Schedule, mine_in_its: bool, its_in_mine: bool) -> str:
    """Why a schedule that would always meet ``other`` is refused (or not enabled), naming ``other`` and what to do."""
    called = f"Schedule #{other.id} “{other.name}” ({describe(other)})"
    if mine_in_its and its_in_mine:
        what = "already runs this job with the same settings at the same times"
    elif mine_in_its:
        what = "already runs this job with the same settings at every time this schedule would"
    else:
        what = "runs this job with the same settings, and this schedule would run at every time it does"
    return (f"{called} {what}: both would queue it at the same minute and one of them would be skipped each time, "
            f"never running. Edit schedule #{other.id} instead, or choose a different time (or days) for this one.")


SCHEDULE_WRITES_LOCK = 0x636F6C6377  # PostgreSQL advisory lock key ("colcw"): one schedule check-and-save at a time


def lock_schedule_writes(session: Session) -> None:
    """Hold off any other process's schedule check-and-save (add, edit, enable) until this transaction ends, so that
    two admins saving schedules that would always meet at the same moment cannot both pass :func:`meeting` before
    either is saved: the second waits for the first's commit, then finds it and is refused with the same message.
    (Whether two timings meet is computed over a year of runs in their zones, not a rule a unique index can hold.)
    PostgreSQL: a transaction-level advisory lock. SQLite: a write that changes nothing, which takes the database's
    write lock (one writer at a time) before the check reads."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEDULE_WRITES_LOCK})
    elif dialect == "sqlite":
        session.execute(text("UPDATE colcw_schedules SET id = id WHERE 0 = 1"))


def _refuse_meeting(session: Session, kind: str, params: dict, timing: Timing, *, other_than: int | None,
                    now: dt.datetime | None) -> None:
    found = meeting(session, kind, params, timing, other_than=other_than, now=now)
    if found is not None:
        raise FieldErrors({TIMING_KEY: meeting_message(*found)})


def clashes(schedules: list[Schedule], *, now: dt.datetime | None = None) -> dict[int, str]:
    """The enabled schedules that would always meet an earlier enabled one of the same job and settings (saved before
    such schedules were refused, or by two admins at once before the saves took turns), each with what its row says:
    which schedule it meets and what to do. The earlier one of each pair runs; the later one is skipped every time."""
    groups: dict[tuple[str, str], list[Schedule]] = {}
    for s in sorted((s for s in schedules if s.enabled), key=lambda s: s.id):
        groups.setdefault((s.kind, _params_key(s.params)), []).append(s)
    out: dict[int, str] = {}
    for same in groups.values():
        for i, later in enumerate(same[1:], start=1):
            for earlier in same[:i]:
                if earlier.id in out:
                    continue  # (skipped itself: the one it meets is the earlier one's)
                if any(meets(Timing.of(later), Timing.of(earlier), now=now)):
                    out[later.id] = (
                        f"Meets schedule #{earlier.id} “{earlier.name}” ({describe(earlier)}): both queue this job "
                        "with the same settings at the same minute, and this one is skipped each time. Delete or "
                        f"disable one of the two, or edit this one to another time (or days).")
                    break
    return out


# --- schedules that meet some of the time -----------------------------------------------------------------------

SHARED_SPANS_SHOWN = 6  # stretches of shared runs a warning names; the rest are counted


@dataclass(frozen=True)
class SharedRuns:
    """The runs two timings share (the same minute) over the compared year, when they share some but not all of
    either's: each stretch of consecutive runs of the sparser one that the other shares, as (first, last) naive UTC."""

    spans: tuple[tuple[dt.datetime, dt.datetime], ...]
    count: int  # shared runs in the compared year
    from_next: bool  # the first stretch starts with the sparser one's next run
    to_end: bool  # the last stretch lasts to the end of the compared year (and so, for a yearly cause, on)
    cadence: str = ""  # which days of a stretch, when the sparser one is not daily: "on Mondays", "on day 15"

    def days(self, zone_name: str) -> str:
        """When they meet, as days of ``zone_name``: "until 2027-03-13 and from 2027-11-07 on", "on 2027-05-15,
        2028-01-15 …"."""
        zone = ZoneInfo(zone_name)

        def day(at: dt.datetime) -> str:
            return at.replace(tzinfo=UTC).astimezone(zone).date().isoformat()

        said = []
        for i, (first, last) in enumerate(self.spans[:SHARED_SPANS_SHOWN]):
            opens, ends = i == 0 and self.from_next, i == len(self.spans) - 1 and self.to_end
            if day(first) == day(last):
                said.append(f"from {day(first)} on" if ends else f"on {day(first)}")
            elif opens:
                said.append(f"until {day(last)}")
            elif ends:
                said.append(f"from {day(first)} on")
            else:
                said.append(f"from {day(first)} to {day(last)}")
        more = len(self.spans) - SHARED_SPANS_SHOWN
        if more > 0:
            said.append(f"{more} more time{'s' if more != 1 else ''}")
        out = said[0] if len(said) == 1 else f"{', '.join(said[:-1])} and {said[-1]}"
        stretches = any(first != last for first, last in self.spans)
        return f"{out} ({self.cadence})" if self.cadence and stretches else out


def shared_runs(a: Timing, b: Timing, *, now: dt.datetime | None = None, firings: tuple | None = None
                ) -> SharedRuns | None:
    """The runs ``a`` and ``b`` share when they meet some of the time but not every time (:func:`meets` says those):
    e.g. 02:00 America/New_York and 07:00 UTC, the same instant in winter only, or a weekly and a monthly run at one
    minute. None when they never meet, or one's runs all fall on the other's. ``firings``: both timings' runs, when
    the caller has them (:func:`_firings` from the same start)."""
    if "every" in (a.frequency, b.frequency):
        return None  # (an interval's runs follow its last run, not the clock: they meet every time or by chance)
    if firings is None:
        start = (now or utcnow()).replace(second=0, microsecond=0)
        firings = (_firings(a, start), _firings(b, start))
    fa, fb = firings
    shared = fa & fb
    if not shared or fa <= fb or fb <= fa:
        return None
    sparser = sorted(fa if len(fa) <= len(fb) else fb)
    spans: list[tuple[dt.datetime, dt.datetime]] = []
    current: tuple[dt.datetime, dt.datetime] | None = None
    for at in sparser:
        if at in shared:
            current = (current[0] if current else at, at)
        elif current:
            spans.append(current)
            current = None
    if current:
        spans.append(current)
    days = a if len(fa) <= len(fb) else b
    cadence = (f"on {WEEKDAYS[days.weekday or 0]}s" if days.frequency == "weekly" else
               f"on day {days.day_of_month} of the month" if days.frequency == "monthly" else "")
    return SharedRuns(tuple(spans), len(shared), spans[0][0] == sparser[0], spans[-1][1] == sparser[-1], cadence)


def shared_runs_message(other: Schedule, shared: SharedRuns, zone_name: str, *, saved: bool) -> str:
    """The warning about a schedule that meets ``other`` (same job and settings) some of the time: when (days of
    ``zone_name``), and that one of the two is skipped each of those times. ``saved``: said as the schedule is saved
    (otherwise as its row on Scheduled jobs says it)."""
    called = f"schedule #{other.id} “{other.name}” ({describe(other)})"
    runs = f"{shared.count} run{'s' if shared.count != 1 else ''} in the coming year"
    meets_it = (f"This schedule meets {called} some of the time" if saved else f"Sometimes meets {called}")
    return (f"{meets_it}: both queue this job with the same settings at the same minute {shared.days(zone_name)} "
            f"(days in {zone_name}; {runs}), and one of the two is skipped each of those times. "
            + ("It was saved; to" if saved else "To") + " have both run every time, move one of them to another time "
            "(or days).")


def meeting_sometimes(session: Session, schedule: Schedule, *, now: dt.datetime | None = None
                      ) -> list[tuple[Schedule, SharedRuns]]:
    """The other enabled schedules of ``schedule``'s job and settings that it (enabled) meets some of the time, each
    with the runs they share (:func:`shared_runs`); none for a disabled schedule."""
    if not schedule.enabled:
        return []
    wanted, mine = _params_key(schedule.params), Timing.of(schedule)
    rows = session.execute(select(Schedule).where(Schedule.kind == schedule.kind, Schedule.enabled.is_(True),
                                                  Schedule.id != schedule.id).order_by(Schedule.id)).scalars()
    out = []
    for other in rows:
        if _params_key(other.params) == wanted and (found := shared_runs(mine, Timing.of(other), now=now)):
            out.append((other, found))
    return out


def meets_sometimes_warnings(session: Session, schedule: Schedule, zone_name: str, *, now: dt.datetime | None = None
                             ) -> list[str]:
    """What saving or enabling ``schedule`` warns of (it is saved all the same): for each other enabled schedule of its
    job and settings that it meets some of the time (:func:`meeting_sometimes`), when (days of ``zone_name``: the
    page's zone, UTC on the command line) and what to do. The page's flash and ``colcw schedules add / edit /
    enable`` say these."""
    return [shared_runs_message(other, shared, zone_name, saved=True)
            for other, shared in meeting_sometimes(session, schedule, now=now)]


def sometimes_clashes(schedules: list[Schedule], zone_name: str, *, now: dt.datetime | None = None,
                      skip: frozenset[int] | set[int] = frozenset()) -> dict[int, list[str]]:
    """The enabled schedules that meet an earlier enabled one of the same job and settings some of the time (not
    every time: :func:`clashes` flags those), each with what its row says for each such schedule: when they meet (days
    of ``zone_name``) and what to do. Schedules in ``skip`` (flagged by :func:`clashes`) are left out. Each timing's
    year of runs is computed once."""
    start = (now or utcnow()).replace(second=0, microsecond=0)
    groups: dict[tuple[str, str], list[Schedule]] = {}
    for s in sorted((s for s in schedules if s.enabled and s.frequency != "every"), key=lambda s: s.id):
        groups.setdefault((s.kind, _params_key(s.params)), []).append(s)
    out: dict[int, list[str]] = {}
    for same in groups.values():
        if len(same) < 2:
            continue
        runs = {s.id: _firings(Timing.of(s), start) for s in same}
        for i, later in enumerate(same[1:], start=1):
            if later.id in skip:
                continue
            for earlier in same[:i]:
                found = shared_runs(Timing.of(later), Timing.of(earlier), firings=(runs[later.id], runs[earlier.id]))
                if found:
                    out.setdefault(later.id, []).append(shared_runs_message(earlier, found, zone_name, saved=False))
    return out


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
    lock_schedule_writes(session)

    def add() -> None:
        _apply(session, schedule, name, timing)
        _refuse_meeting(session, kind, params, timing, other_than=None, now=now)
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
    if schedule.enabled:
        lock_schedule_writes(session)

    def change() -> None:
        _apply(session, schedule, name, timing)
        if schedule.enabled:
            _refuse_meeting(session, schedule.kind, schedule.params or {}, timing, other_than=schedule.id, now=now)
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
    schedule.paused_by_live_switch = False  # (the live updates' switch marks the ones it disables after this)
    schedule.next_run_at = next_run_after(Timing.of(schedule), now or utcnow()) if enabled else None
    session.flush()


def enabling_refused(session: Session, schedule: Schedule, *, now: dt.datetime | None = None) -> str:
    """Why ``schedule`` (disabled) may not be enabled: another enabled schedule of the same job and settings whose runs
    would always meet its own (:func:`meeting_message`); "" when it may. Holds :func:`lock_schedule_writes` until the
    caller's transaction ends: enable it in that transaction."""
    lock_schedule_writes(session)
    found = meeting(session, schedule.kind, schedule.params or {}, Timing.of(schedule), other_than=schedule.id,
                    now=now)
    return meeting_message(*found) if found else ""


def last_recorded(session: Session, schedule_id: int, *verbs: str) -> ConfigChange | None:
    """The latest audit record of one of ``verbs`` ("Deleted", "Enabled", "Disabled"…) done to schedule
    ``schedule_id`` (who did it, and when); None when none is kept."""
    said = [ConfigChange.summary.startswith(f"{verb} schedule #{schedule_id} “", autoescape=True) for verb in verbs]
    return session.execute(select(ConfigChange).where(ConfigChange.area == AUDIT_AREA, or_(*said))
                           .order_by(ConfigChange.id.desc()).limit(1)).scalar()


def held(session: Session, schedule_id: int) -> Schedule | None:
    """Schedule ``schedule_id`` as committed now (None: deleted), held until the caller's transaction ends: any
    other process's check-and-save of schedules waits (:func:`lock_schedule_writes`), and so does a change of this
    row (PostgreSQL: ``FOR UPDATE``). A change decided on what it holds (enable a schedule shown disabled) is then
    decided on what is, not on what a page showed."""
    lock_schedule_writes(session)
    return session.get(Schedule, schedule_id, with_for_update=True, populate_existing=True)


def list_schedules(session: Session) -> list[Schedule]:
    return list(session.execute(select(Schedule).order_by(Schedule.kind, Schedule.name, Schedule.id)).scalars())
