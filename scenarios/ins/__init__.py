"""Insurance (SCENARIOS.md §2): the claim-fingerprint registry, policies with a sale-time
check, claims (parametric flight delay among them) and reinsurance treaty layers.

- ``registration`` and ``alert`` (``_claims``): the claim registry on the shared
  ledger — fingerprints of losses, duplicate flags and review alerts between insurers;
- ``policy`` (``_policy``): an insurer's policy and its claims, confidential to it;
- ``layer`` (``_treaty``): a reinsurance treaty layer, confidential to its cedent,
  broker and reinsurers.
"""

from scenarios._registry import Scenario
from scenarios.ins._claims import (
    ACTIVE,
    ALERTS,
    CLAIMS_POOL,
    CLEARED,
    DENIED,
    DUPLICATE_FLAGGED,
    DUPLICATES,
    EXACT,
    OPEN,
    PAID,
    REGISTERED,
    REGISTRATIONS,
    SIMILAR,
    WITHDRAWN,
    alerts_of,
)
from scenarios.ins._demo import DEMO
from scenarios.ins._policy import (
    CHECKED,
    ISSUED,
    POLICIES,
    QUOTED,
    REVIEW,
    SCREENING_DAYS,
    cap,
    paid_total,
)
from scenarios.ins._treaty import LAYERS, WHOLE
from scenarios.kit import build_contract

CONTRACT = build_contract(
    "ins", [REGISTRATIONS, ALERTS, POLICIES, LAYERS], EXACT.tables | SIMILAR.tables, oracle=True
)

ALERT_LIST = DUPLICATES.listing(
    "List the duplicate-claim alerts you are a party to (member ids and status only)."
)

SCENARIO = Scenario(
    name="ins",
    title="Insurance: claim registry, policies, parametric claims, reinsurance treaties",
    spec="SCENARIOS.md §2",
    contract=CONTRACT,
    machines=(REGISTRATIONS, ALERTS, POLICIES, LAYERS),
    registries=(EXACT,),
    demo=DEMO,
    commands=(ALERT_LIST,),
    oracle=True,
)

__all__ = [
    "ACTIVE",
    "ALERTS",
    "ALERT_LIST",
    "CHECKED",
    "CLAIMS_POOL",
    "CLEARED",
    "CONTRACT",
    "DENIED",
    "DUPLICATE_FLAGGED",
    "EXACT",
    "ISSUED",
    "LAYERS",
    "OPEN",
    "PAID",
    "POLICIES",
    "QUOTED",
    "REGISTERED",
    "REGISTRATIONS",
    "REVIEW",
    "SCENARIO",
    "SCREENING_DAYS",
    "SIMILAR",
    "WHOLE",
    "WITHDRAWN",
    "alerts_of",
    "cap",
    "paid_total",
]
