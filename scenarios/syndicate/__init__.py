"""Syndicated loans: a confidential shared loan book (SCENARIOS.md §8)."""

from scenarios._registry import Scenario
from scenarios.syndicate._book import (
    MAJORITY_LENDERS,
    SACRED,
    SHARE_UNITS,
    UNANIMITY,
    accrue_to,
    assignment_moves,
    passes,
    pro_rata,
    threshold_of,
)
from scenarios.syndicate._contract import CONTRACT, CURRENCY, FACILITIES, MAX_AMOUNT, NAME, TERMS
from scenarios.syndicate._demo import DEMO, Independent

SCENARIO = Scenario(
    name=NAME,
    title="Syndicated loans: a confidential shared loan book",
    spec="SCENARIOS.md §8",
    contract=CONTRACT,
    machines=(FACILITIES,),
    demo=DEMO,
)

__all__ = [
    "CONTRACT",
    "CURRENCY",
    "DEMO",
    "FACILITIES",
    "MAJORITY_LENDERS",
    "MAX_AMOUNT",
    "NAME",
    "SACRED",
    "SCENARIO",
    "SHARE_UNITS",
    "TERMS",
    "UNANIMITY",
    "Independent",
    "accrue_to",
    "assignment_moves",
    "passes",
    "pro_rata",
    "threshold_of",
]
