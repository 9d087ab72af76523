"""Supply-chain finance: receivable certificates (SCENARIOS.md §3)."""

from collections.abc import Mapping, Sequence
from typing import Any

from scenarios._registry import Scenario
from scenarios.kit import Calculator, Int, Money, Ppm, Schema
from scenarios.scf._contract import (
    ACTIVE,
    CANCELLED,
    CERTIFICATES,
    CONTRACT,
    DRAFT,
    DUE,
    FINANCED,
    FINANCING_PENDING,
    INVOICES,
    LIVE,
    MAX_FACE,
    OVERDUE,
    REDEEMED,
    SPLIT,
    SUPPLY,
)
from scenarios.scf._demo import DEMO
from scenarios.scf._pricing import DAY_BASIS, PPM, Pricing, discount, price


def _quote(p: Mapping[str, Any]) -> Sequence[tuple[str, int]]:
    q = price(p["face"], p["rate"], p["days"], p.get("fee", 0))
    return (("discount", q.discount), ("fee", q.fee), ("proceeds", q.proceeds))


QUOTE = Calculator(
    "quote",
    "Compute financing proceeds exactly, as approve-financing will.",
    Schema(
        {
            "face": Money("CNY", 1, MAX_FACE, help="Face amount."),
            "rate": Ppm(help="Annual discount rate, e.g. 4.35%."),
            "days": Int(0, 366, help="Days to maturity."),
            "fee": Money("CNY", 0, MAX_FACE, required=False, help="Fee."),
        }
    ),
    _quote,
    example="--face 100000.00 --rate 4.35% --days 120 --fee 50.00",
)

SCENARIO = Scenario(
    name="scf",
    title="Supply-chain finance: receivable certificates",
    spec="SCENARIOS.md §3",
    contract=CONTRACT,
    machines=(CERTIFICATES,),
    registries=(INVOICES,),
    supplies=(SUPPLY,),
    demo=DEMO,
    commands=(QUOTE,),
)

__all__ = [
    "ACTIVE",
    "CANCELLED",
    "CERTIFICATES",
    "CONTRACT",
    "DAY_BASIS",
    "DRAFT",
    "DUE",
    "FINANCED",
    "FINANCING_PENDING",
    "INVOICES",
    "LIVE",
    "MAX_FACE",
    "OVERDUE",
    "PPM",
    "QUOTE",
    "REDEEMED",
    "SCENARIO",
    "SPLIT",
    "SUPPLY",
    "Pricing",
    "discount",
    "price",
]
