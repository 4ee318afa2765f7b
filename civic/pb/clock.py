"""Time for the budget process: the city's calendar (Europe/Warsaw) and working days.

Every function of civic.pb that depends on the date takes ``now`` (an aware datetime); None
means the real clock. Tests pass their own ``now`` (a controllable clock) or set an edition's
schedule relative to today.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

WARSAW = ZoneInfo("Europe/Warsaw")


def utcnow() -> datetime:
    return datetime.now(UTC)


def today(now: datetime | None = None) -> date:
    """The date in Kraków (a phase that ends on 9 March is open until midnight in Warsaw)."""
    return (now or utcnow()).astimezone(WARSAW).date()


def easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ll = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ll) // 451
    month, day = divmod(h + ll - 7 * m + 114, 31)
    return date(year, month, day + 1)


def polish_holidays(year: int) -> set[date]:
    """Statutory public holidays in Poland (ustawa o dniach wolnych od pracy), incl. 24 Dec
    from 2025."""
    e = easter(year)
    days = {
        date(year, 1, 1),
        date(year, 1, 6),
        e,
        e + timedelta(days=1),
        date(year, 5, 1),
        date(year, 5, 3),
        e + timedelta(days=49),  # Pentecost (a Sunday)
        e + timedelta(days=60),  # Corpus Christi
        date(year, 8, 15),
        date(year, 11, 1),
        date(year, 11, 11),
        date(year, 12, 25),
        date(year, 12, 26),
    }
    if year >= 2025:
        days.add(date(year, 12, 24))
    return days


def is_working_day(d: date) -> bool:
    return d.weekday() < 5 and d not in polish_holidays(d.year)


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after ``start`` (a correction window of 5 working days from a
    Friday notice ends on the next Friday)."""
    d = start
    left = n
    while left > 0:
        d += timedelta(days=1)
        if is_working_day(d):
            left -= 1
    return d
