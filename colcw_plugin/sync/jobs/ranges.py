"""Date ranges of the job forms and the command line: Today, Last 7, Last 15, Last 30, custom."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

PRESETS = {"today": 0, "last7": 7, "last15": 15, "last30": 30}
PRESET_LABELS = {"today": "Today", "last7": "Last 7 days", "last15": "Last 15 days", "last30": "Last 30 days",
                 "custom": "Custom"}


@dataclass(frozen=True)
class DateRange:
    start: dt.datetime  # inclusive, naive UTC
    end: dt.datetime  # exclusive, naive UTC


def resolve(preset: str, start: str | None = None, end: str | None = None, *,
            now: dt.datetime | None = None) -> DateRange:
    """A preset (``today``, ``last7``, ``last15``, ``last30``) or ``custom`` with ISO dates (end inclusive).

    Presets count whole days back from today (UTC): ``last7`` is today and the six days before.
    Raises ValueError with a message for the form.
    """
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    today = dt.datetime.combine(now.date(), dt.time())
    if preset in PRESETS:
        days = PRESETS[preset]
        return DateRange(today - dt.timedelta(days=max(days - 1, 0)), today + dt.timedelta(days=1))
    if preset == "custom":
        try:
            s = dt.date.fromisoformat(start or "")
            e = dt.date.fromisoformat(end or "")
        except ValueError:
            raise ValueError("Enter the custom start and end dates as YYYY-MM-DD.") from None
        if e < s:
            raise ValueError("The end date must not be before the start date.")
        return DateRange(dt.datetime.combine(s, dt.time()), dt.datetime.combine(e + dt.timedelta(days=1), dt.time()))
    raise ValueError(f"Unknown range {preset!r}: use today, last7, last15, last30 or custom.")


def parse_cli(text: str, *, now: dt.datetime | None = None) -> DateRange:
    """``today``, ``last7`` ... or ``YYYY-MM-DD..YYYY-MM-DD`` (command line)."""
    if ".." in text:
        start, end = text.split("..", 1)
        return resolve("custom", start, end, now=now)
    return resolve(text, now=now)
