"""Times for people: the one place a time is read from a person or written for one.

The wire and the store keep UTC (epoch seconds, proto Timestamps). People live in a zone: a commune in
Vietnam means 07:00 at UTC+7. So a time a person types without an offset is read in a zone (the
server's, from config ``time_zone``; the CLI asks the server), an explicit offset (``+07:00``, ``Z``) is
honoured, and every time shown carries its offset (``2026-12-06 07:00:00 +07``), so it can never be
misread as another zone's.

Local times that a DST zone skips or repeats have one rule here, used by parsing and by schedules
(engine/jobs/recurrence.py): a nonexistent local time (02:30 on a spring-forward night) is moved forward
by the gap (it happens at 03:30 new time, the instant 02:30 old time would have been); a repeated one
(02:30 on a fall-back night) is its first instant. That is Python's ``fold=0``, and what cron-like
schedulers commonly do: a daily bulletin still airs once on those nights, never twice, never not at all.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import zoneinfo
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "UTC"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# "2026-12-06 07:00:00 +07" (what format_time prints) is read back: the space before the offset goes
_SPACED_OFFSET = re.compile(r"^(.*\d)\s+([+-]\d{2}(?::?\d{2})?|Z)$")


def zone(name: str, field: str = "time_zone") -> ZoneInfo:
    """The IANA zone ``name``; ValueError naming ``field`` when there is no such zone."""
    if not name or name != name.strip():
        raise ValueError(f"{field}: {name!r} is not a time zone (an IANA name such as Asia/Ho_Chi_Minh)")
    try:
        return ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"{field}: unknown time zone {name!r} (an IANA name such as Asia/Ho_Chi_Minh or UTC)"
        ) from None


def machine_zone_name(env: dict[str, str] | None = None, localtime: Path = Path("/etc/localtime")) -> str:
    """The machine's zone as an IANA name: TZ, else where /etc/localtime points, else /etc/timezone,
    else UTC. A name that zoneinfo does not know is skipped (a POSIX TZ rule like "ICT-7" has no name)."""
    env = dict(os.environ) if env is None else env
    candidates: list[str] = []
    tz = env.get("TZ", "").strip().lstrip(":")
    if tz:
        candidates.append(tz.split("zoneinfo/", 1)[1] if "zoneinfo/" in tz else tz)
    try:
        target = os.path.realpath(localtime)
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    with contextlib.suppress(OSError):
        candidates.append((localtime.parent / "timezone").read_text().strip())
    for name in candidates:
        try:
            zone(name)
        except ValueError:
            continue
        return name
    return DEFAULT_ZONE


def offset_label(moment: datetime) -> str:
    """``+07``, ``-03:30``, ``+00``: the offset of an aware datetime, short when it is whole hours."""
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}" + (f":{rest:02d}" if rest else "")


def local(t: float, tz: ZoneInfo) -> datetime:
    """The instant ``t`` (epoch seconds) as an aware datetime in ``tz``."""
    return datetime.fromtimestamp(t, UTC).astimezone(tz)


def format_time(t: float | None, tz: ZoneInfo, *, ms: bool = False, empty: str = "-") -> str:
    """``2026-12-06 07:00:00 +07`` (``ms``: ``07:00:00.250``); ``empty`` for None."""
    if t is None:
        return empty
    moment = local(t, tz)
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    if ms:
        text += f".{moment.microsecond // 1000:03d}"
    return f"{text} {offset_label(moment)}"


def format_utc(t: float | None, empty: str = "-") -> str:
    """``2026-12-06T00:00:00Z``: for records that are about instants, not a place's day (key validity,
    token expiry), UTC marked as such."""
    return empty if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_zone(env: dict[str, str] | None = None) -> ZoneInfo:
    """The zone of a command without a server to ask: LOA_TIME_ZONE, else the machine's."""
    env = dict(os.environ) if env is None else env
    return zone(env.get("LOA_TIME_ZONE") or machine_zone_name(env), "LOA_TIME_ZONE")


def format_clock(t: float, tz: ZoneInfo) -> str:
    """``07:00:00 +07``: a time of day with its offset, for progress lines."""
    moment = local(t, tz)
    return f"{moment:%H:%M:%S} {offset_label(moment)}"


def format_iso(t: float | None, tz: ZoneInfo) -> str:
    """ISO 8601 with milliseconds and the offset (``2026-12-06T07:00:00.000+07:00``); "" for None."""
    if t is None:
        return ""
    return local(t, tz).isoformat(timespec="milliseconds")


def local_instant(day: date, at: clock_time, tz: ZoneInfo) -> float:
    """Epoch seconds of the local wall time ``day at`` in ``tz``, by the module's rule for skipped and
    repeated local times (a skipped one moves forward by the gap; a repeated one is its first instant)."""
    # fold=0 takes the offset in force before a transition: for a repeated time that is its first
    # instant, and a skipped one read with the old offset lands after the gap, moved forward by it
    return datetime.combine(day, at.replace(tzinfo=None, fold=0)).replace(tzinfo=tz).timestamp()


def parse_time(
    text: str, tz: ZoneInfo, *, sign: int = 1, now: float | None = None, field: str = "time"
) -> float:
    """A time a person typed, as epoch seconds.

    ISO 8601 (``2026-12-06 07:00``, ``2026-12-06T07:00:00+07:00``, ``...Z``, a date alone meaning its
    midnight), read in ``tz`` when it has no offset; also ``2026-12-06 07:00:00 +07`` as format_time
    prints it; or a duration (``30s``, ``10m``, ``2h``, ``7d``) counted from ``now`` by ``sign`` (+1: from
    now on, -1: ago, also written ``24h ago``). ValueError naming ``field`` otherwise.
    """
    text = text.strip()
    if sign < 0 and text.lower().endswith(" ago"):  # "24h ago", as people write a bound in the past
        text = text[:-4].rstrip()
    number = text[:-1].lstrip("+")
    if text and text[-1] in _UNITS and number.replace(".", "", 1).isdigit():
        return (time.time() if now is None else now) + sign * float(number) * _UNITS[text[-1]]
    spaced = _SPACED_OFFSET.match(text)
    if spaced:
        text = spaced.group(1) + spaced.group(2)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{field}: not a time: {text!r} (e.g. 2026-12-06 07:00, 2026-12-06T07:00+07:00, or 10m, 2h, 7d)"
        ) from None
    if moment.tzinfo is None:
        return local_instant(moment.date(), moment.time(), tz)
    return moment.timestamp()


def parse_date(text: str, field: str = "date") -> date:
    """``2026-12-06``; ValueError naming ``field``."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{field}: not a date: {text!r} (YYYY-MM-DD)") from None


def parse_clock(text: str, field: str = "times") -> clock_time:
    """``HH:MM`` or ``HH:MM:SS`` (24 h); ValueError naming ``field``."""
    parts = text.strip().split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() and len(p) == 2 for p in parts):
        raise ValueError(f"{field}: not a time of day: {text!r} (HH:MM, 24-hour)")
    try:
        numbers = [int(p) for p in parts]
        return clock_time(numbers[0], numbers[1], numbers[2] if len(numbers) == 3 else 0)
    except ValueError:
        raise ValueError(f"{field}: not a time of day: {text!r} (HH:MM, 24-hour)") from None
