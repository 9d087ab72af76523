"""Trade finance: the financing registry with cross-bank duplicate detection (SCENARIOS.md §7)."""

from scenarios._registry import Scenario
from scenarios.tf._contract import (
    ACTIVE,
    ALERTS,
    ARCHIVED,
    CLEARED,
    CONTRACT,
    DUPLICATE_FLAGGED,
    EXACT,
    FINANCED,
    LAPSED,
    MAX_AMOUNT,
    OPEN,
    REGISTERED,
    REGISTRATIONS,
    SETTLED,
    SIMILAR,
    WITHDRAWN,
    alerts_of,
)
from scenarios.tf._demo import DEMO

SCENARIO = Scenario(
    name="tf",
    title="Trade finance: the financing registry",
    spec="SCENARIOS.md §7",
    contract=CONTRACT,
    machines=(REGISTRATIONS, ALERTS),
    registries=(EXACT,),
    demo=DEMO,
)

__all__ = [
    "ACTIVE",
    "ALERTS",
    "ARCHIVED",
    "CLEARED",
    "CONTRACT",
    "DUPLICATE_FLAGGED",
    "EXACT",
    "FINANCED",
    "LAPSED",
    "MAX_AMOUNT",
    "OPEN",
    "REGISTERED",
    "REGISTRATIONS",
    "SCENARIO",
    "SETTLED",
    "SIMILAR",
    "WITHDRAWN",
    "alerts_of",
]
