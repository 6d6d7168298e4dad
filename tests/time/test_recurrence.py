"""engine/jobs/recurrence.py as data: weekdays, exceptions, date bounds, month and year ends, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from engine.jobs.recurrence import (
    Occurrence,
    build,
    from_dict,
    next_occurrence,
    occurrences,
    parse_weekdays,
    to_dict,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def shown(found: list[Occurrence]) -> list[str]:
    return [datetime.fromtimestamp(o.at, UTC).strftime("%Y-%m-%d %H:%M") for o in found]


def test_every_day_at_06_local_in_vietnam_is_23_utc_the_day_before() -> None:
    rec = build("Asia/Ho_Chi_Minh", ["06:00"])
    got = occurrences(rec, utc(2026, 12, 31, 0, 0), utc(2027, 1, 3, 0, 0))
    # month and year ends cross cleanly; each occurrence belongs to its local day
    assert shown(got) == ["2026-12-31 23:00", "2027-01-01 23:00", "2027-01-02 23:00"]
    assert [o.day for o in got] == [date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)]


def test_weekdays_and_holidays() -> None:
    rec = build(
        "Asia/Ho_Chi_Minh", ["17:00", "06:00"], parse_weekdays("mon-fri"), exception_dates=["2026-12-07"]
    )
    # Mon 7 Dec 2026 is a holiday; Sat 12 and Sun 13 are not weekdays
    got = occurrences(rec, utc(2026, 12, 6, 0, 0), utc(2026, 12, 13, 12, 0))
    assert [(o.day.isoformat(), o.local_time.isoformat()[:5]) for o in got] == [
        (f"2026-12-{d:02d}", t) for d in (8, 9, 10, 11) for t in ("06:00", "17:00")
    ]


def test_first_and_last_dates_bound_it_inclusively() -> None:
    rec = build("UTC", ["12:00"], first_date="2027-02-27", last_date="2027-03-01")
    got = occurrences(rec, utc(2027, 1, 1), utc(2027, 4, 1))
    assert shown(got) == ["2027-02-27 12:00", "2027-02-28 12:00", "2027-03-01 12:00"]
    assert next_occurrence(rec, utc(2027, 3, 2)) is None


def test_leap_day() -> None:
    rec = build("UTC", ["00:00"], first_date="2028-02-28", last_date="2028-03-01")
    assert len(occurrences(rec, utc(2028, 1, 1), utc(2028, 4, 1))) == 3  # 2028 is a leap year


def test_a_skipped_local_time_airs_once_after_the_gap_and_a_repeated_one_once_at_its_first_instant() -> None:
    rec = build("Europe/Paris", ["02:30"])
    spring = occurrences(rec, utc(2026, 3, 28, 0), utc(2026, 3, 31, 0))
    assert shown(spring) == ["2026-03-28 01:30", "2026-03-29 01:30", "2026-03-30 00:30"]  # 29th: 03:30 +02
    autumn = occurrences(rec, utc(2026, 10, 24, 0), utc(2026, 10, 27, 0))
    assert shown(autumn) == ["2026-10-24 00:30", "2026-10-25 00:30", "2026-10-26 01:30"]  # 25th: first 02:30


def test_two_local_times_on_one_instant_count_once() -> None:
    rec = build("Europe/Paris", ["02:30", "03:30"])  # on the spring night 02:30 becomes 03:30
    assert len(occurrences(rec, utc(2026, 3, 29, 0), utc(2026, 3, 29, 12))) == 1


def test_a_window_is_half_open_so_consecutive_windows_never_repeat_one() -> None:
    rec = build("Asia/Ho_Chi_Minh", ["06:00", "06:00:30"])
    t = utc(2026, 12, 5, 23, 0)
    assert occurrences(rec, t - 60, t) and not occurrences(rec, t, t + 10)


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("sat,sun", {5, 6}),
        ("fri-mon", {4, 5, 6, 0}),
        ("", set()),
        ("all", set()),
    ],
)
def test_weekday_text(text: str, days: set[int]) -> None:
    assert parse_weekdays(text) == frozenset(days)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time_zone": "Mars/Olympus", "times": ["06:00"]}, "recurrence.time_zone: unknown time zone"),
        ({"time_zone": "UTC", "times": []}, "recurrence.times: at least one"),
        ({"time_zone": "UTC", "times": ["06:00", "25:00"]}, "recurrence.times[1]: not a time of day"),
        ({"time_zone": "UTC", "times": ["06:00"], "exception_dates": ["30/4"]},
         "recurrence.exception_dates[0]"),
        ({"time_zone": "UTC", "times": ["06:00"], "first_date": "2027-01-02", "last_date": "2027-01-01"},
         "recurrence.last_date: 2027-01-01 is before"),
    ],
)  # fmt: skip
def test_bad_fields_are_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        build(**kwargs)
    assert str(caught.value).startswith(message)


def test_it_round_trips_through_its_stored_form() -> None:
    rec = build("Asia/Ho_Chi_Minh", ["17:00"], parse_weekdays("mon-fri"), "2026-01-01", "", ["2026-09-02"])
    assert from_dict(to_dict(rec)) == rec
    with pytest.raises(ValueError, match="weekdays: 'funday'"):
        parse_weekdays("funday")
