"""Calendar dates for contracts, derived from block time only.

Contracts store business dates (issue, maturity, expiry) as ISO ``YYYY-MM-DD`` text and
read "today" as the UTC calendar day of ``ctx.block_time``. Nothing here reads a clock.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

__all__ = ["MS_PER_DAY", "add_months", "add_years", "day_of", "days_between", "parse_date"]

MS_PER_DAY = 86_400_000
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
