"""Asset securitisation: an auto-loan ABS (SCENARIOS.md §1)."""

from scenarios._registry import Scenario
from scenarios.abs._contract import (
    CONTRACT,
    CURRENCY,
    LOANS,
    MAX_AMOUNT,
    NAME,
    PLANS,
    TRANCHES,
    breaches,
    pool_balance,
    pool_loans,
)
from scenarios.abs._demo import DEMO, Independent
from scenarios.abs._waterfall import LINES, waterfall

SCENARIO = Scenario(
    name=NAME,
    title="Asset securitisation: an auto-loan ABS",
    spec="SCENARIOS.md §1",
    contract=CONTRACT,
    machines=(LOANS, PLANS),
    demo=DEMO,
)

__all__ = [
    "CONTRACT",
    "CURRENCY",
    "DEMO",
    "LINES",
    "LOANS",
    "MAX_AMOUNT",
    "NAME",
    "PLANS",
    "SCENARIO",
    "TRANCHES",
    "Independent",
    "breaches",
    "pool_balance",
    "pool_loans",
    "waterfall",
]
