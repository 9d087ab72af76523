"""``scenarios.kit.BankingCalendar``: banking days as data (UCP 600 arts. 14(b), 29),
against a day-by-day count."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.kit import BankingCalendar

HOLIDAYS = ("2025-01-01", "2025-04-18", "2025-04-21", "2025-12-25", "2025-12-27")
DAYS = st.dates(date(2024, 12, 1), date(2026, 2, 1))


def _slow(calendar: BankingCalendar, start: date, end: date) -> int:
    days = (end - start).days
    return sum(calendar.is_banking_day(start + timedelta(days=k)) for k in range(1, days + 1))


@settings(max_examples=40)
@given(start=DAYS, end=DAYS, weekend=st.frozensets(st.integers(0, 6), max_size=3))
def test_between_counts_banking_days(start: date, end: date, weekend: frozenset[int]) -> None:
    calendar = BankingCalendar.of(weekend, HOLIDAYS)
    assert calendar.between(start, end) == _slow(calendar, start, end)


@settings(max_examples=40)
@given(start=DAYS, n=st.integers(0, 40))
def test_add_lands_on_the_nth_banking_day(start: date, n: int) -> None:
    calendar = BankingCalendar.of(holidays=HOLIDAYS)
    day = calendar.add(start, n)
    assert calendar.is_banking_day(day)
    assert calendar.between(calendar.add(start, 0), day) == n


def test_examples_and_bounds() -> None:
    calendar = BankingCalendar.of(holidays=["2025-04-18", "2025-04-21"])  # Easter
    assert calendar.add(date(2025, 4, 17), 1) == date(2025, 4, 22)  # Thursday → Tuesday
    assert calendar.add(date(2025, 4, 19), 0) == date(2025, 4, 22)  # a Saturday rolls on
    assert calendar.between(date(2025, 4, 17), date(2025, 4, 22)) == 1
    with pytest.raises(ValueError, match="banking day a week"):
        BankingCalendar.of(range(7)).add(date(2025, 1, 1), 1)
    with pytest.raises(ValueError, match="0 to 3660"):
        calendar.add(date(2025, 1, 1), 10**9)
