"""engine/timefmt.py: times typed by people read in a zone, times shown with their offset (as data)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.config import load
from engine.timefmt import (
    format_clock,
    format_iso,
    format_time,
    local_instant,
    machine_zone_name,
    parse_clock,
    parse_time,
    zone,
)

HCM = zone("Asia/Ho_Chi_Minh")
PARIS = zone("Europe/Paris")
UTC_ZONE = zone("UTC")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("2026-12-06 07:00", HCM, utc(2026, 12, 6, 0, 0)),  # naive: the zone's 07:00
        ("2026-12-06T07:00:00", HCM, utc(2026, 12, 6, 0, 0)),
        ("2026-12-06", HCM, utc(2026, 12, 5, 17, 0)),  # a date alone: its local midnight
        ("2026-12-06T07:00+07:00", UTC_ZONE, utc(2026, 12, 6, 0, 0)),  # an explicit offset wins
        ("2026-12-06T07:00Z", HCM, utc(2026, 12, 6, 7, 0)),
        ("2026-12-06 07:00:00 +07", UTC_ZONE, utc(2026, 12, 6, 0, 0)),  # as format_time prints it
        ("2026-12-06 07:00", PARIS, utc(2026, 12, 6, 6, 0)),  # winter: +01
        ("2026-07-06 07:00", PARIS, utc(2026, 7, 6, 5, 0)),  # summer: +02
        # DST rule: a skipped local time moves forward by the gap, a repeated one is its first instant
        ("2026-03-29 02:30", PARIS, utc(2026, 3, 29, 1, 30)),  # = 03:30 +02
        ("2026-10-25 02:30", PARIS, utc(2026, 10, 25, 0, 30)),  # the first 02:30 (+02), not +01
    ],
)
def test_a_typed_time_is_read_in_the_zone_unless_it_has_an_offset(
    text: str, tz: ZoneInfo, expected: float
) -> None:
    assert parse_time(text, tz) == expected


def test_durations_count_from_now_either_way() -> None:
    assert parse_time("10m", HCM, now=1000.0) == 1600.0
    assert parse_time("2h", HCM, sign=-1, now=10000.0) == 2800.0


@pytest.mark.parametrize("text", ["tomorrow", "2026-13-01 07:00", "07:00 sáng", ""])
def test_a_bad_time_is_a_value_error_naming_the_field(text: str) -> None:
    with pytest.raises(ValueError, match=r"^--at: not a time"):
        parse_time(text, HCM, field="--at")


@pytest.mark.parametrize(
    ("t", "tz", "shown", "iso"),
    [
        (utc(2026, 12, 6, 0, 0), HCM, "2026-12-06 07:00:00 +07", "2026-12-06T07:00:00.000+07:00"),
        (utc(2026, 7, 6, 5, 0), PARIS, "2026-07-06 07:00:00 +02", "2026-07-06T07:00:00.000+02:00"),
        (
            utc(2026, 12, 6, 0, 0),
            zone("Asia/Kolkata"),
            "2026-12-06 05:30:00 +05:30",
            "2026-12-06T05:30:00.000+05:30",
        ),
        (utc(2026, 12, 6, 0, 0), UTC_ZONE, "2026-12-06 00:00:00 +00", "2026-12-06T00:00:00.000+00:00"),
    ],
)
def test_every_time_shown_carries_its_offset(t: float, tz: ZoneInfo, shown: str, iso: str) -> None:
    assert format_time(t, tz) == shown
    assert format_iso(t, tz) == iso
    assert parse_time(shown, UTC_ZONE) == t  # what is printed reads back as the same instant
    assert format_clock(t, tz) == shown.split(" ", 1)[1]


def test_local_instant_of_a_day_and_time() -> None:
    assert local_instant(date(2026, 12, 6), time(7, 0), HCM) == utc(2026, 12, 6, 0, 0)
    assert local_instant(date(2026, 3, 29), time(2, 30), PARIS) == local_instant(
        date(2026, 3, 29), time(3, 30), PARIS
    )


def test_times_of_day_are_hh_mm() -> None:
    assert parse_clock("06:00") == time(6, 0) and parse_clock("17:30:15") == time(17, 30, 15)
    for bad in ("6:00", "24:00", "17h", "06:60"):
        with pytest.raises(ValueError, match=r"^times: not a time of day"):
            parse_clock(bad)


def test_the_machine_zone_comes_from_tz_then_etc_localtime_then_utc(tmp_path: Path) -> None:
    assert machine_zone_name({"TZ": "Asia/Ho_Chi_Minh"}) == "Asia/Ho_Chi_Minh"
    assert machine_zone_name({"TZ": ":/usr/share/zoneinfo/Asia/Ho_Chi_Minh"}) == "Asia/Ho_Chi_Minh"
    link = tmp_path / "localtime"
    link.symlink_to("/usr/share/zoneinfo/Asia/Bangkok")
    assert machine_zone_name({}, link) == "Asia/Bangkok"
    assert machine_zone_name({"TZ": "ICT-7"}, tmp_path / "none") == "UTC"  # a POSIX rule has no name


def test_config_time_zone_defaults_to_the_machine_and_a_bad_name_names_the_key() -> None:
    assert load(env={"TZ": "Asia/Ho_Chi_Minh"}).time_zone == "Asia/Ho_Chi_Minh"
    assert load(env={"LOA_TIME_ZONE": "Europe/Paris", "TZ": "Asia/Ho_Chi_Minh"}).zone == PARIS
    with pytest.raises(ValueError, match=r"^config time_zone: unknown time zone 'Asia/Hanoi'"):
        load(env={"LOA_TIME_ZONE": "Asia/Hanoi"})
