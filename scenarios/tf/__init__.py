"""Trade finance: the financing registry with cross-bank duplicate detection (SCENARIOS.md §7)."""

from scenarios._registry import Scenario
from scenarios.kit import Listing, Precheck
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

ALERT_LIST = Listing(
    "alerts",
    ALERTS,
    "List the duplicate alerts you are a party to (member ids and status only).",
    key="alert",
    flags={"open": frozenset({OPEN})},
    columns={
        "state": lambda a: a.state,
        "match": lambda a: a.attrs["match"],
        "new": lambda a: a.attrs["new"],
        "existing": lambda a: a.attrs["existing"],
        "existing_status": lambda a: a.attrs["existing_status"],
        "first": lambda a: a.parties["first"],
        "second": lambda a: a.parties["second"],
    },
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
