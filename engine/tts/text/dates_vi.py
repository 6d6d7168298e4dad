"""Vietnamese readings of dates and clock times: "ngày mùng hai tháng chín năm hai nghìn...", "sáu giờ
mười lăm phút". Pure functions from numbers to words; the rules decide what in the text is a date."""

from __future__ import annotations

from .numbers_vi import Dialect, cardinal

_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def valid_date(day: int, month: int, year: int | None = None) -> bool:
    if not (1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]):
        return False
    leap = year is None or (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0))
    return not (month == 2 and day == 29 and not leap)


def day(n: int, d: Dialect, first_days: bool = True) -> str:
    """Day of month: "mùng hai" for 1..10 where natural, else the cardinal."""
    if first_days and n <= 10:
        return f"{d.first_days} {cardinal(n, d)}"
    return cardinal(n, d)


def month(n: int, d: Dialect) -> str:
    """Month after "tháng": April is "tư"."""
    return "tư" if n == 4 else cardinal(n, d)


def date(
    dd: int | None, mm: int, yyyy: int | None, d: Dialect, say_day: bool = True, first_days: bool = True
) -> str:
    words = []
    if dd is not None:
        words += (["ngày"] if say_day else []) + [day(dd, d, first_days)]
    words += ["tháng", month(mm, d)]
    if yyyy is not None:
        words += ["năm", cardinal(yyyy, d)]
    return " ".join(words)


def clock(hours: int, minutes: int | None, d: Dialect) -> str:
    text = f"{cardinal(hours, d)} giờ"
    if minutes:
        text += f" {cardinal(minutes, d)} phút"
    return text
