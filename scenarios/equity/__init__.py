"""Equity trade settlement: issuance, cash and atomic DvP batches (SCENARIOS.md §9)."""

from scenarios._registry import Scenario
from scenarios.equity._contract import (
    CASH_BANKS,
    CONTRACT,
    INSTRUCTIONS,
    INSTRUMENTS,
    MAX_QTY,
    NAME,
    SUPPLY,
    TRADES,
    cash_banks,
    delivery_id,
    payment_id,
)
from scenarios.equity._demo import DEMO

SCENARIO = Scenario(
    name=NAME,
    title="Equity settlement: issuance, cash and atomic DvP batches",
    spec="SCENARIOS.md §9",
    contract=CONTRACT,
    machines=(INSTRUMENTS, INSTRUCTIONS, TRADES),
    supplies=(SUPPLY,),
    demo=DEMO,
)

__all__ = [
    "CASH_BANKS",
    "CONTRACT",
    "DEMO",
    "INSTRUCTIONS",
    "INSTRUMENTS",
    "MAX_QTY",
    "NAME",
    "SCENARIO",
    "SUPPLY",
    "TRADES",
    "cash_banks",
    "delivery_id",
    "payment_id",
]
