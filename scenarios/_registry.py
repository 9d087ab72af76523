"""The list of scenarios this build runs: the one place a scenario is registered.

Every scenario subpackage exposes ``SCENARIO``, a :class:`Scenario` naming its contract.
The list below is explicit on purpose: the set of contracts is a consensus rule (every
replica must apply the same kinds the same way), so it must not depend on which
directories happen to exist on one machine. Adding a scenario is one line here.

The ledger package may not import ours (DESIGN §2), so whoever assembles a node's
:class:`ledger.ContractRegistry` (the gateway, the CLI, the demo) adds
:func:`all_contracts` to the ledger's own contracts.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger import Contract
from scenarios._errors import ScenarioError

if TYPE_CHECKING:
    from scenarios.kit import FingerprintRegistry, Machine

__all__ = [
    "SCENARIO_MODULES",
    "Scenario",
    "all_contracts",
    "all_scenarios",
    "get_scenario",
    "machine_for",
    "pooled_registries",
]

SCENARIO_MODULES: tuple[str, ...] = (
    "scenarios.scf",
    "scenarios.tf",
)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A registered scenario: its short name (the CLI group), title, spec, contract, the
    machines whose objects its kinds move (gateways use them to preview steps), and the
    fingerprint registries its contract keeps (those in a pool are one registry with
    the other scenarios' registries of that pool)."""

    name: str
    title: str
    spec: str
    contract: Contract
    machines: tuple[Machine, ...] = ()
    registries: tuple[FingerprintRegistry, ...] = ()


def all_scenarios() -> tuple[Scenario, ...]:
    """Every registered scenario, in registration order."""
    found: list[Scenario] = []
    for module_name in SCENARIO_MODULES:
        scenario = getattr(importlib.import_module(module_name), "SCENARIO", None)
        if not isinstance(scenario, Scenario):
            raise ScenarioError(f"{module_name} does not expose a Scenario named SCENARIO")
        if any(s.name == scenario.name for s in found):
            raise ScenarioError(f"scenario {scenario.name!r} is registered twice")
        for registry in scenario.registries:
            if registry.table not in scenario.contract.tables:
                raise ScenarioError(f"{registry.table!r} is not a table of {scenario.name}")
        pooled = [r.pool for r in scenario.registries if r.pool is not None]
        if len(pooled) != len(set(pooled)):
            raise ScenarioError(f"{scenario.name} has two registries in one pool")
        found.append(scenario)
    return tuple(found)


def pooled_registries(pool: str) -> tuple[FingerprintRegistry, ...]:
    """Every registered scenario's registry in ``pool``: together, one registry.

    Derived from :data:`SCENARIO_MODULES` alone, so every replica reads the same tables.
    """
    return tuple(r for s in all_scenarios() for r in s.registries if r.pool == pool)


def all_contracts() -> tuple[Contract, ...]:
    """The shared fingerprint service, then every registered scenario's contract."""
    from scenarios.kit import FPREG

    return (FPREG, *(s.contract for s in all_scenarios()))


def get_scenario(name: str) -> Scenario:
    for scenario in all_scenarios():
        if scenario.name == name:
            return scenario
    raise ScenarioError(f"no scenario named {name!r}")


def machine_for(kind: str) -> Machine:
    """The machine whose transition ``kind`` is (``scf.transfer`` → the certificates)."""
    contract, _, name = kind.partition(".")
    for scenario in all_scenarios():
        for machine in scenario.machines:
            if machine.contract == contract and name in machine.transitions:
                return machine
    raise ScenarioError(f"{kind!r} is not a step of any registered scenario")
