"""The list of scenarios this build runs: the one place a scenario is registered.

Every scenario subpackage exposes ``SCENARIO``, a :class:`Scenario` naming its contract,
the machines its steps move, and what else it keeps. The list below is explicit on
purpose: the set of contracts is a consensus rule (every replica must apply the same
kinds the same way), so it must not depend on which directories happen to exist on one
machine. Adding a scenario is one line here; everything else follows from it:

- every node's contract registry (the ledger package may not import ours, DESIGN §2,
  so whoever assembles a :class:`ledger.ContractRegistry` — the gateway, the CLI, the
  demo — adds :func:`all_contracts` to the ledger's own contracts);
- the gateways' co-signing: a gateway previews any registered transaction
  (:func:`engine_for`) on its own replica before it signs;
- the CLI: ``riskshare <name> ...``, generated from the scenario's declarations (a
  command per transition, ``show``, ``list``, ``watch``, ``authorize`` and the
  scenario's listings, calculators and pre-checks), and ``riskshare demo --scenario
  <name>`` for a scenario with a :class:`scenarios.kit.Demo`;
- the fingerprint registry pools (:func:`pooled_registries`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger import Contract
from scenarios._errors import ScenarioError

if TYPE_CHECKING:
    from scenarios.kit import (
        Calculator,
        Demo,
        Engine,
        FingerprintRegistry,
        Listing,
        Machine,
        Precheck,
        Supplies,
    )

__all__ = [
    "RESERVED_COMMANDS",
    "SCENARIO_MODULES",
    "Scenario",
    "all_contracts",
    "all_scenarios",
    "engine_for",
    "get_scenario",
    "machine_for",
    "pooled_registries",
]

# The commands every generated ``riskshare <scenario>`` group has: a transition or a
# declared command of the same name would be shadowed by one of them.
RESERVED_COMMANDS = frozenset(
    {
        "approve",
        "authorize",
        "demo",
        "list",
        "observe",
        "purge",
        "registry-init",
        "show",
        "submit",
        "sync",
        "watch",
    }
)

SCENARIO_MODULES: tuple[str, ...] = (
    "scenarios.scf",
    "scenarios.tf",
    "scenarios.syndicate",
    "scenarios.equity",
    "scenarios.abs",
    "scenarios.ins",
    "scenarios.lc",
    "scenarios.cust",
)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A registered scenario.

    - ``name``: its short name, the prefix of its kinds and its CLI group;
    - ``title``, ``spec``: what it is and where it is specified;
    - ``contract``: made with :func:`scenarios.kit.build_contract` from ``machines``;
    - ``machines``: every machine of the contract; each of its kinds must be a
      transition of one of them (gateways preview steps with them before co-signing);
    - ``registries``: its fingerprint registries (those in a pool are one registry with
      the other scenarios' of that pool);
    - ``supplies``: which instrument an object's amounts belong to (``show`` audits it);
    - ``demo``: the flow ``riskshare demo --scenario <name>`` runs, if any;
    - ``commands``: its listings, calculators and pre-checks (``scenarios.kit``), each a
      generated command;
    - ``oracle``: whether it reads observations from the member its
      ``<name>.oracle`` parameter names;
    - ``versions``: the contract versions this software carries (``_versions``).
    """

    name: str
    title: str
    spec: str
    contract: Contract
    machines: tuple[Machine, ...]
    registries: tuple[FingerprintRegistry, ...] = ()
    supplies: tuple[Supplies, ...] = ()
    demo: Demo | None = None
    commands: tuple[Listing | Calculator | Precheck, ...] = ()
    oracle: bool = False
    versions: tuple[int, ...] = (1,)

    def check(self) -> None:
        """Refuse a registration that would leave a kind without its machine, or name
        tables the contract does not own."""
        from scenarios.kit import contract_kinds

        if self.name == "all":
            raise ScenarioError("'all' names every scenario (riskshare demo --scenario all)")
        if self.contract.name != self.name:
            raise ScenarioError(f"scenario {self.name!r} registers contract {self.contract.name!r}")
        kinds = contract_kinds(self.name, self.machines, oracle=self.oracle)
        if kinds != set(self.contract.handlers):
            missing = sorted(set(self.contract.handlers) - kinds)
            raise ScenarioError(
                f"scenario {self.name!r}: every kind needs its machine in machines= "
                f"(missing {missing}, extra {sorted(kinds - set(self.contract.handlers))})"
            )
        tables = [r.table for r in self.registries]
        tables += [s.machine.objects_table for s in self.supplies]
        for table in tables:
            if table not in self.contract.tables:
                raise ScenarioError(f"{table!r} is not a table of {self.name}")
        commands = [t.cli_name for m in self.machines for t in m.transitions.values()]
        commands += [c.name for c in self.commands]
        taken = sorted({c for c in commands if c in RESERVED_COMMANDS or commands.count(c) > 1})
        if taken:
            raise ScenarioError(
                f"scenario {self.name!r}: commands {taken} are the generated group's own or "
                "named twice (name the transition's command=)"
            )
        pooled = [r.pool for r in self.registries if r.pool is not None]
        if len(pooled) != len(set(pooled)):
            raise ScenarioError(f"{self.name} has two registries in one pool")


def all_scenarios() -> tuple[Scenario, ...]:
    """Every registered scenario, in registration order."""
    found: list[Scenario] = []
    for module_name in SCENARIO_MODULES:
        scenario = getattr(importlib.import_module(module_name), "SCENARIO", None)
        if not isinstance(scenario, Scenario):
            raise ScenarioError(f"{module_name} does not expose a Scenario named SCENARIO")
        if any(s.name == scenario.name for s in found):
            raise ScenarioError(f"scenario {scenario.name!r} is registered twice")
        scenario.check()
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


_ENGINES: dict[tuple[str, tuple[int, ...]], Engine] = {}


def engine_for(contract: str) -> Engine:
    """The transaction engine of a registered scenario's contract (``scf``)."""
    from scenarios.kit import Engine

    scenario = get_scenario(contract)
    key = (contract, tuple(id(m) for m in scenario.machines))
    engine = _ENGINES.get(key)
    if engine is None:
        engine = _ENGINES[key] = Engine(contract, scenario.machines)
    return engine
