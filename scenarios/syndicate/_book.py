"""The syndicate's book arithmetic: pure functions over the facility's figures.

Every figure is an integer of minor units or of share units (``SHARE_UNITS`` is 100 %),
and every division is rounded once, by a rule fixed here, so every party's gateway
reaches the same figures when it re-runs a step to endorse it:

- Funding notices and principal distributions split an amount over the lenders by
  the largest remainder (:func:`scenarios.kit.allocate`, lenders in id order), so the
  parts sum exactly to the amount.
- Interest accrues per utilisation and interest period. The period's total to a date
  is ``outstanding × rate × days / basis`` from the period's start, rounded half up
  once (:func:`scenarios.kit.accrue`); a segment's accrual is the increase of that
  total since the last accrual, split over the lenders holding the loan during the
  segment by their funded amounts (largest remainder). An assignment only cuts a
  segment, so the period's total is the same with or without it, and the lenders'
  accruals always sum to it.
- An assignment moves a share, and with it the seller's funded amount of every
  utilisation in proportion (rounded half up; all of it when the whole share goes);
  "with accrued" also moves the seller's accrual of the open period in the same
  proportion. Moves conserve every total.
- A vote passes when the yes-votes carry at least the threshold of the shares,
  compared exactly: two thirds for the majority lenders, all of them for a sacred
  right (the amount, the margin, the maturity).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from ledger import ContractError
from scenarios.kit import DayCount, Rate, accrue, allocate, round_half_up

__all__ = [
    "MAJORITY_LENDERS",
    "SACRED",
    "SHARE_UNITS",
    "UNANIMITY",
    "accrue_to",
    "assignment_moves",
    "passes",
    "pro_rata",
    "threshold_of",
]

# 100 % of a facility, in share units (parts per million).
SHARE_UNITS = 1_000_000
MAJORITY_LENDERS = (2, 3)
UNANIMITY = (1, 1)
# Terms no lender can be made to accept against its vote.
SACRED = frozenset({"commitment", "margin", "maturity"})


def threshold_of(term: str) -> tuple[int, int]:
    return UNANIMITY if term in SACRED else MAJORITY_LENDERS


def pro_rata(amount: int, weights: Mapping[str, int]) -> dict[str, int]:
    """``amount`` split over the lenders with a positive weight, largest remainder."""
    names = sorted(m for m, w in weights.items() if w > 0)
    if not names:
        raise ContractError("no lender holds a part to allocate to")
    parts = allocate(amount, [weights[m] for m in names])
    return dict(zip(names, parts, strict=True))


def accrue_to(loan: Mapping[str, Any], to: str, daycount: DayCount) -> dict[str, Any]:
    """The loan with its open period accrued to ``to`` (see the module docstring)."""
    period = loan.get("period")
    if not isinstance(period, Mapping):
        raise ContractError("the loan has no open interest period (set its rate first)")
    if not loan["accrued_to"] <= to <= period["end"]:
        raise ContractError(
            f"accrue from {loan['accrued_to']} to a date up to the period end "
            f"{period['end']}, not {to}"
        )
    total = accrue(
        loan["outstanding"],
        Rate.ppm(period["rate_ppm"]),
        daycount,
        date.fromisoformat(period["start"]),
        date.fromisoformat(to),
    )
    accrued = dict(loan["accrued"])
    increment = total - loan["period_accrued"]
    if increment > 0:
        for lender, part in pro_rata(increment, loan["funded"]).items():
            if part:
                accrued[lender] = accrued.get(lender, 0) + part
    return {**loan, "accrued": accrued, "period_accrued": total, "accrued_to": to}


def assignment_moves(seller_share: int, share: int, seller_part: int) -> int:
    """How much of the seller's ``seller_part`` (a funded amount, an accrual) goes with
    ``share`` of its ``seller_share``: in proportion, all of it for the whole share."""
    if share == seller_share:
        return seller_part
    return round_half_up(seller_part * share, seller_share)


def passes(votes: Mapping[str, bool], shares: Mapping[str, int], term: str) -> bool:
    """Whether the yes-votes carry the term's threshold of the shares, exactly."""
    num, den = threshold_of(term)
    yes = sum(shares.get(m, 0) for m, v in votes.items() if v)
    return yes * den >= num * sum(shares.values())
