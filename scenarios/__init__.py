"""The other whitepaper scenarios as contracts and flows on the same gateway + ledger.

``scenarios.kit`` holds the reusable pieces; each scenario is a subpackage exposing a
``SCENARIO`` (see ``_registry``). A node's contract registry adds :func:`all_contracts`.
"""

from scenarios._errors import FingerprintError, ScenarioError
from scenarios._registry import (
    RESERVED_COMMANDS,
    SCENARIO_MODULES,
    Scenario,
    all_contracts,
    all_scenarios,
    engine_for,
    get_scenario,
    machine_for,
    pooled_registries,
)

__all__ = [
    "RESERVED_COMMANDS",
    "SCENARIO_MODULES",
    "FingerprintError",
    "Scenario",
    "ScenarioError",
    "all_contracts",
    "all_scenarios",
    "engine_for",
    "get_scenario",
    "machine_for",
    "pooled_registries",
]
