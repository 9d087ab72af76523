"""Asset custody (SCENARIOS.md §5): the PSBC-style five roles, rules as data, checked
instructions and NAV reports, confidential to the five.

- ``product`` (``_fund``): the agreement, its rules, the portfolio and its instructions;
- ``_check``: the deterministic investment-supervision check.
"""

from scenarios._registry import Scenario
from scenarios.cust._check import RATINGS, nav, post_trade, violations
from scenarios.cust._demo import DEMO
from scenarios.cust._fund import FUNDS, ROLES, RULES
from scenarios.kit import build_contract

CONTRACT = build_contract("cust", [FUNDS])

SCENARIO = Scenario(
    name="cust",
    title="Asset custody: five roles, rules as data, checked instructions",
    spec="SCENARIOS.md §5",
    contract=CONTRACT,
    machines=(FUNDS,),
    demo=DEMO,
)

__all__ = [
    "CONTRACT",
    "FUNDS",
    "RATINGS",
    "ROLES",
    "RULES",
    "SCENARIO",
    "nav",
    "post_trade",
    "violations",
]
