"""Discount proceeds of a non-recourse financing, exactly, in integer minor units.

    proceeds = face × (1 − r × days / 360) − fee

``r`` is the annual discount rate in parts per million (4.35 % = 43 500 ppm), ``days``
the whole calendar days from the financing day to maturity, and 360 the money-market
day basis used for RMB discounting. The discount ``face × r × days / (10⁶ × 360)`` is
rounded half up to the minor unit, once, and nothing else is rounded; every term is a
non-negative integer, so the result is the same on every replica and every platform.
"""

from __future__ import annotations

from dataclasses import dataclass

from scenarios._errors import ScenarioError

__all__ = ["DAY_BASIS", "PPM", "Pricing", "discount", "price"]

PPM = 1_000_000
DAY_BASIS = 360


def discount(face: int, rate_ppm: int, days: int) -> int:
    """``face × rate_ppm × days / (PPM × DAY_BASIS)`` rounded half up."""
    if min(face, rate_ppm, days) < 0:
        raise ScenarioError("face, rate and days must be non-negative")
    num = face * rate_ppm * days
    den = PPM * DAY_BASIS
    return (2 * num + den) // (2 * den)


@dataclass(frozen=True, slots=True)
class Pricing:
    face: int
    rate_ppm: int
    days: int
    fee: int
    discount: int
    proceeds: int


def price(face: int, rate_ppm: int, days: int, fee: int) -> Pricing:
    """The full computation, so a statement can show every term."""
    if fee < 0:
        raise ScenarioError("the fee must be non-negative")
    cut = discount(face, rate_ppm, days)
    return Pricing(face, rate_ppm, days, fee, cut, face - cut - fee)
