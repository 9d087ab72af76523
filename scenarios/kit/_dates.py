"""Calendar dates for contracts, derived from block time only.

Contracts store business dates (issue, maturity, expiry) as ISO ``YYYY-MM-DD`` text and
read "today" as the UTC calendar day of ``ctx.block_time``. Nothing here reads a clock.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = [
    "MS_PER_DAY",
    "BankingCalendar",
    "add_months",
    "add_years",
    "day_of",
    "days_between",
    "parse_date",
]

MS_PER_DAY = 86_400_000
# Ten years of banking days: the most a step may ask the calendar to count forward.
_MAX_BANKING_DAYS = 3660
_EPOCH = date(1970, 1, 1)


def day_of(ms: int) -> date:
    """The UTC calendar day containing the instant ``ms`` (milliseconds since epoch)."""
    return _EPOCH + timedelta(days=ms // MS_PER_DAY)


def parse_date(text: str) -> date:
    """An ISO date already validated by a schema (``Date``)."""
    return date.fromisoformat(text)


def add_months(day: date, months: int) -> date:
    """The same day of the month ``months`` later, clamped to that month's last day.

    31 August + 6 months is 28 (or 29) February: a term "of six months" never runs
    into the month after.
    """
    year, month0 = divmod(day.year * 12 + (day.month - 1) + months, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February becomes 28 February."""
    return add_months(day, 12 * years)


def days_between(start: date, end: date) -> int:
    """Whole calendar days from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    return (end - start).days


@dataclass(frozen=True, slots=True)
class BankingCalendar:
    """Banking days as data the parties agree: weekend days (Monday is 0) and holidays.

    A letter of credit counts its presentation period and its examination time in
    banking days at the place of presentation (UCP 600 arts. 14(b), 29); the calendar
    is a rule parameter on the object, not a table in code, so each credit carries the
    one its banks agreed.
    """

    weekend: frozenset[int] = frozenset({5, 6})
    holidays: frozenset[str] = frozenset()

    @classmethod
    def of(cls, weekend: Iterable[int] = (5, 6), holidays: Iterable[str] = ()) -> BankingCalendar:
        return cls(frozenset(weekend), frozenset(holidays))

    def is_banking_day(self, day: date) -> bool:
        return day.weekday() not in self.weekend and day.isoformat() not in self.holidays

    def add(self, day: date, n: int) -> date:
        """The ``n``-th banking day after ``day`` (0 ≤ ``n`` ≤ 3660; 0 is ``day`` itself,
        or the next banking day when ``day`` is not one — UCP 600 art. 29(a))."""
        if len(self.weekend) >= 7:
            raise ValueError("a calendar needs at least one banking day a week")
        if not 0 <= n <= _MAX_BANKING_DAYS:
            raise ValueError(f"count 0 to {_MAX_BANKING_DAYS} banking days")
        while not self.is_banking_day(day):
            day += timedelta(days=1)
        for _ in range(n):
            day += timedelta(days=1)
            while not self.is_banking_day(day):
                day += timedelta(days=1)
        return day

    def between(self, start: date, end: date) -> int:
        """Banking days after ``start`` up to and including ``end`` (0 when ``end`` is
        not after ``start``)."""
        if end <= start:
            return 0
        weeks, rest = divmod((end - start).days, 7)
        count = weeks * (7 - len(self.weekend))
        day = start + timedelta(weeks=weeks)
        for _ in range(rest):
            day += timedelta(days=1)
            count += day.weekday() not in self.weekend
        return count - sum(
            1
            for h in self.holidays
            if start < date.fromisoformat(h) <= end
            and date.fromisoformat(h).weekday() not in self.weekend
        )
