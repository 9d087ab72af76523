"""Amounts and rates as people type them, to and from the integers the ledger keeps.

``"1,000,000.00"`` is 100 000 000 minor units (two decimals, the fen of the yuan and the
cent of the dollar); ``"4.35%"`` is 43 500 parts per million. Parsing is exact
(``Decimal``, never binary floats) and refuses anything that would need rounding.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from scenarios._errors import ScenarioError

__all__ = ["format_minor", "format_rate", "parse_minor", "parse_rate_ppm"]


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip().replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise ScenarioError(f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise ScenarioError(f"{what} {text!r} is not a number")
    return value


def parse_minor(text: str, decimals: int = 2) -> int:
    """``"1,234.56"`` → 123456; more decimals than the currency has is an error."""
    scaled = _decimal(text, "amount") * (10**decimals)
    if scaled != scaled.to_integral_value() or scaled < 0:
        raise ScenarioError(
            f"amount {text!r} must be non-negative with at most {decimals} decimals"
        )
    return int(scaled)


def format_minor(amount: int, decimals: int = 2) -> str:
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**decimals)
    return f"{sign}{whole:,}.{frac:0{decimals}d}" if decimals else f"{sign}{whole:,}"


def parse_rate_ppm(text: str) -> int:
    """``"4.35%"`` or ``"0.0435"`` → 43500 parts per million."""
    raw = text.strip()
    percent = raw.endswith("%")
    value = _decimal(raw[:-1] if percent else raw, "rate")
    ppm = value * (10_000 if percent else 1_000_000)
    if ppm != ppm.to_integral_value() or not 0 <= ppm <= 1_000_000:
        raise ScenarioError(f"rate {text!r} must be 0-100% in whole parts per million")
    return int(ppm)


def format_rate(ppm: int) -> str:
    return f"{Decimal(ppm) / Decimal(10_000):f}%"
