"""Trade finance: the financing registry with cross-bank duplicate detection (SCENARIOS.md §7)."""

from scenarios._registry import Scenario
from scenarios.kit import Precheck
from scenarios.tf._contract import (
    ACTIVE,
    ALERTS,
    ARCHIVED,
    CLEARED,
    CONTRACT,
    DUPLICATE_FLAGGED,
    DUPLICATES,
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

ALERT_LIST = DUPLICATES.listing(
    "List the duplicate alerts you are a party to (member ids and status only)."
)
CHECK = Precheck(
    "check",
    "Pre-check an invoice: which registrations hold it exactly or partly (one metered "
    "registry evaluation; nothing is registered).",
    transition="register",
    field="invoice",
    registry=EXACT,
    similar=SIMILAR,
    keys=("registration", "financier", "status"),
)

SCENARIO = Scenario(
    name="tf",
    title="Trade finance: the financing registry",
    spec="SCENARIOS.md §7",
    contract=CONTRACT,
    machines=(REGISTRATIONS, ALERTS),
    registries=(EXACT,),
    demo=DEMO,
    commands=(ALERT_LIST, CHECK),
)

__all__ = [
    "ACTIVE",
    "ALERTS",
    "ALERT_LIST",
    "ARCHIVED",
    "CHECK",
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
