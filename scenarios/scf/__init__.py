"""Supply-chain finance: receivable certificates (SCENARIOS.md §3)."""

from scenarios._registry import Scenario
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

SCENARIO = Scenario(
    name="scf",
    title="Supply-chain finance: receivable certificates",
    spec="SCENARIOS.md §3",
    contract=CONTRACT,
    machines=(CERTIFICATES,),
    registries=(INVOICES,),
    supplies=(SUPPLY,),
    demo=DEMO,
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
    "REDEEMED",
    "SCENARIO",
    "SPLIT",
    "SUPPLY",
    "Pricing",
    "discount",
    "price",
]
