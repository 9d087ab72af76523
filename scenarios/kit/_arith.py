"""Exact amount arithmetic: day counts, accrual and pro-rata allocation, in integers.

Everything a contract computes on amounts is an integer of minor units, and every
division is explicit and rounded once, so every replica on every platform reaches the
same figure. Rates are exact fractions (:class:`Rate`: 4.35 % is ``Rate(435, 10_000)``,
or ``Rate.ppm(43_500)``), never floats.

- :func:`day_count` — the day-count fraction of a period as ``(days, basis)``, per the
  2006 ISDA Definitions §4.16: (d) Actual/365 (Fixed), (e) Actual/360 and
  (f) 30/360 (Bond Basis): D1 = 31 becomes 30; D2 = 31 becomes 30 when D1 (after that)
  is 30; then ``360·ΔY + 30·ΔM + ΔD``.
- :func:`accrue` — ``principal × rate × days / basis``, rounded half up to the minor
  unit, once.
- :func:`allocate` — ``amount`` split by integer weights with the largest-remainder
  method (Hamilton): each part is the floor of its exact quota, and the units left
  over go one each to the largest fractional remainders (ties to the earlier weight).
  The parts sum to exactly ``amount`` and each is within one unit of its quota.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum

from ledger import ContractError, Value

__all__ = ["DayCount", "Rate", "accrue", "allocate", "day_count", "round_half_up"]

# Bounds every product below 2^190; a Python int does not overflow, but a hostile body
# must not make a replica multiply arbitrarily large numbers.
_MAX_AMOUNT = 10**18
_MAX_WEIGHTS = 256


class DayCount(Enum):
    ACT_360 = "ACT/360"
    ACT_365F = "ACT/365F"
    THIRTY_360 = "30/360"


@dataclass(frozen=True, slots=True)
class Rate:
    """An annual rate as an exact fraction ``num / den``."""

    num: int
    den: int

    def __post_init__(self) -> None:
        if not (_nat(self.num) and _nat(self.den) and self.den >= 1):
            raise ContractError("a rate is a fraction of non-negative integers")
        if self.num > _MAX_AMOUNT or self.den > _MAX_AMOUNT:
            raise ContractError("a rate's terms are at most 10^18")

    @classmethod
    def ppm(cls, parts: int) -> Rate:
        """Parts per million a year: 43 500 is 4.35 %."""
        return cls(parts, 1_000_000)

    @classmethod
    def bps(cls, points: int) -> Rate:
        """Basis points a year: 435 is 4.35 %."""
        return cls(points, 10_000)

    def to_row(self) -> list[Value]:
        return [self.num, self.den]


def _nat(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def round_half_up(num: int, den: int) -> int:
    """``num / den`` to the nearest integer, halves up (both non-negative)."""
    return (2 * num + den) // (2 * den)


def day_count(convention: DayCount, start: date, end: date) -> tuple[int, int]:
    """The day-count fraction from ``start`` to ``end`` as ``(days, basis)``."""
    if end < start:
        raise ContractError("a period cannot end before it starts")
    if convention is DayCount.ACT_360:
        return (end - start).days, 360
    if convention is DayCount.ACT_365F:
        return (end - start).days, 365
    d1, d2 = start.day, end.day
    if d1 == 31:
        d1 = 30
    if d2 == 31 and d1 == 30:
        d2 = 30
    days = 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)
    return days, 360


def accrue(principal: int, rate: Rate, convention: DayCount, start: date, end: date) -> int:
    """Interest on ``principal`` minor units at ``rate`` over the period, rounded once."""
    if not _nat(principal) or principal > _MAX_AMOUNT:
        raise ContractError(f"a principal is 0 to {_MAX_AMOUNT} minor units")
    days, basis = day_count(convention, start, end)
    return round_half_up(principal * rate.num * days, rate.den * basis)


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """``amount`` split pro rata to ``weights``, largest remainder, summing exactly."""
    if not _nat(amount) or amount > _MAX_AMOUNT:
        raise ContractError(f"an amount to allocate is 0 to {_MAX_AMOUNT} minor units")
    if not 1 <= len(weights) <= _MAX_WEIGHTS:
        raise ContractError(f"allocate among 1 to {_MAX_WEIGHTS} weights")
    if any(not _nat(w) or w > _MAX_AMOUNT for w in weights) or sum(weights) == 0:
        raise ContractError("weights are non-negative integers, not all zero")
    total = sum(weights)
    parts = [amount * w // total for w in weights]
    remainders = [amount * w % total for w in weights]
    left = amount - sum(parts)
    # The largest remainders get one unit each; the earlier weight wins a tie.
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        parts[i] += 1
    return parts
