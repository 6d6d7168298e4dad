"""Calendar recurrence, pure: when a schedule's occurrences fall (docs/SCHEDULES.md).

A Recurrence is local wall times of day on chosen weekdays in one IANA zone, between optional first and
last local dates, minus exception dates (holidays). :func:`occurrences` turns it into UTC instants in a
window, as data. A DST zone's skipped and repeated local times follow engine/timefmt.py's one rule: a
skipped time moves forward by the gap, a repeated one is its first instant; so each listed local time
occurs exactly once every listed day, and two local times that land on one instant count once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from datetime import time as clock_time
from typing import Any

from engine.timefmt import local, local_instant, parse_clock, parse_date, zone

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
MAX_TIMES = 48
MAX_EXCEPTIONS = 1000


@dataclass(frozen=True)
class Recurrence:
    time_zone: str
    times: tuple[clock_time, ...]
    weekdays: frozenset[int] = frozenset()  # date.weekday() numbers, 0 = Monday; empty: every day
    first_date: date | None = None
    last_date: date | None = None
    exceptions: frozenset[date] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Occurrence:
    at: float  # epoch seconds (UTC)
    day: date  # the local date it belongs to
    local_time: clock_time  # as listed in the recurrence


def parse_weekdays(text: str, field_name: str = "weekdays") -> frozenset[int]:
    """``mon-fri``, ``mon,wed,fri``, ``sat-sun``, ``all`` (or empty): date.weekday() numbers."""
    text = text.strip().lower()
    if text in ("", "all", "daily"):
        return frozenset()
    days: set[int] = set()
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        try:
            a = WEEKDAYS.index(first[:3])
            b = WEEKDAYS.index(last[:3]) if last else a
        except ValueError:
            raise ValueError(f"{field_name}: {part.strip()!r} is not a weekday or range (mon..sun)") from None
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])  # fri-mon wraps
    return frozenset(days)


def build(
    time_zone: str,
    times: list[str] | tuple[str, ...],
    weekdays: frozenset[int] = frozenset(),
    first_date: str = "",
    last_date: str = "",
    exception_dates: list[str] | tuple[str, ...] = (),
    prefix: str = "recurrence.",
) -> Recurrence:
    """A checked Recurrence from its text fields; ValueError naming the field (``prefix`` + name)."""
    zone(time_zone, f"{prefix}time_zone")
    if not times:
        raise ValueError(f"{prefix}times: at least one local time of day (HH:MM)")
    if len(times) > MAX_TIMES:
        raise ValueError(f"{prefix}times: at most {MAX_TIMES}")
    parsed = tuple(sorted({parse_clock(t, f"{prefix}times[{i}]") for i, t in enumerate(times)}))
    if any(not 0 <= d <= 6 for d in weekdays):
        raise ValueError(f"{prefix}weekdays: not a weekday")
    first = parse_date(first_date, f"{prefix}first_date") if first_date else None
    last = parse_date(last_date, f"{prefix}last_date") if last_date else None
    if first and last and last < first:
        raise ValueError(f"{prefix}last_date: {last} is before first_date {first}")
    if len(exception_dates) > MAX_EXCEPTIONS:
        raise ValueError(f"{prefix}exception_dates: at most {MAX_EXCEPTIONS}")
    exceptions = frozenset(
        parse_date(d, f"{prefix}exception_dates[{i}]") for i, d in enumerate(exception_dates)
    )
    return Recurrence(time_zone, parsed, frozenset(weekdays), first, last, exceptions)


def occurs_on(rec: Recurrence, day: date) -> bool:
    if (rec.first_date and day < rec.first_date) or (rec.last_date and day > rec.last_date):
        return False
    if rec.weekdays and day.weekday() not in rec.weekdays:
        return False
    return day not in rec.exceptions


def occurrences(rec: Recurrence, after: float, until: float) -> list[Occurrence]:
    """The occurrences with ``after < at <= until``, in time order."""
    tz = zone(rec.time_zone)
    day = local(after, tz).date() - timedelta(days=1)  # a skipped time may move into the next day
    last_day = local(until, tz).date() + timedelta(days=1)
    found: dict[float, Occurrence] = {}
    while day <= last_day:
        if occurs_on(rec, day):
            for t in rec.times:
                at = local_instant(day, t, tz)
                if after < at <= until and at not in found:
                    found[at] = Occurrence(at, day, t)
        day += timedelta(days=1)
    return [found[k] for k in sorted(found)]


def next_occurrence(rec: Recurrence, after: float, horizon_days: int = 400) -> Occurrence | None:
    """The first occurrence after ``after`` within ``horizon_days`` (None: none left, e.g. past last_date)."""
    step = 7 * 86400.0
    start = after
    while start < after + horizon_days * 86400.0:
        found = occurrences(rec, start, start + step)
        if found:
            return found[0]
        if rec.last_date and local(start, zone(rec.time_zone)).date() > rec.last_date:
            return None
        start += step
    return None


def to_dict(rec: Recurrence) -> dict[str, Any]:
    return {
        "time_zone": rec.time_zone,
        "times": [t.isoformat() for t in rec.times],
        "weekdays": sorted(rec.weekdays),
        "first_date": rec.first_date.isoformat() if rec.first_date else "",
        "last_date": rec.last_date.isoformat() if rec.last_date else "",
        "exception_dates": sorted(d.isoformat() for d in rec.exceptions),
    }


def from_dict(data: dict[str, Any]) -> Recurrence:
    return build(
        str(data["time_zone"]),
        list(data["times"]),
        frozenset(int(d) for d in data["weekdays"]),
        str(data["first_date"]),
        str(data["last_date"]),
        list(data["exception_dates"]),
    )
