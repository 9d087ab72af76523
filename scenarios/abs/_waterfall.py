"""The plan's waterfall: who is paid what from a period's available funds, in order.

Pure arithmetic on integers of minor units. The lines, in order of priority:

1. ``fees`` — the period's fees (trustee, servicer), up to what is available;
2. ``senior_interest`` — one month's coupon on the senior balance, rounded half up;
3. ``senior_principal`` — while amortising, what is left, up to the senior balance;
4. ``mezzanine_interest``, 5. ``mezzanine_principal`` — the same for the mezzanine;
6. ``subordinate_principal`` — up to the subordinate balance;
7. ``subordinate_residual`` — whatever is left (the excess spread);
8. ``reinvest`` — in the revolving period no principal is paid: what is left after
   interest buys new loans instead (it stays in the plan).

Every line is at most what is left when it is reached, so the lines sum exactly to
the funds available, and no principal line exceeds its tranche's balance.
"""

from __future__ import annotations

from collections.abc import Mapping

from scenarios.kit import round_half_up

__all__ = ["LINES", "waterfall"]

LINES = (
    "fees",
    "senior_interest",
    "senior_principal",
    "mezzanine_interest",
    "mezzanine_principal",
    "subordinate_principal",
    "subordinate_residual",
    "reinvest",
)


def _coupon(balance: int, coupon_ppm: int) -> int:
    return round_half_up(balance * coupon_ppm, 12 * 1_000_000)


def waterfall(
    available: int,
    fees: int,
    balances: Mapping[str, int],
    coupons: Mapping[str, int],
    *,
    amortising: bool,
) -> list[tuple[str, int]]:
    """The period's lines, in order, summing to ``available``."""
    left = available
    out: list[tuple[str, int]] = []

    def pay(line: str, due: int) -> None:
        nonlocal left
        paid = min(left, max(due, 0))
        left -= paid
        out.append((line, paid))

    pay("fees", fees)
    pay("senior_interest", _coupon(balances["senior"], coupons["senior"]))
    pay("senior_principal", balances["senior"] if amortising else 0)
    pay("mezzanine_interest", _coupon(balances["mezzanine"], coupons["mezzanine"]))
    pay("mezzanine_principal", balances["mezzanine"] if amortising else 0)
    pay("subordinate_principal", balances["subordinate"] if amortising else 0)
    pay("subordinate_residual", left if amortising else 0)
    pay("reinvest", left)
    return out
