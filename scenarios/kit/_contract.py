"""A scenario's ledger contract, built from its machines.

:func:`build_contract` makes one :class:`ledger.Contract` whose kinds are:

- ``<name>.<transition>`` for every transition a member may submit (not an internal
  one, not on a confidential machine): a one-leg transaction;
- ``<name>.tx``: a transaction of several legs (``_tx``);
- ``<name>.observe`` when the scenario has an oracle (``_oracle``);
- ``<name>.private`` when a machine is confidential (``_private``).

Each handler parses its body and runs the :class:`Engine`; the writes of a refused
transaction are dropped with the engine's overlay. The contract owns its machines'
tables and the kit's tables for it (holdings, id counters, consumed fingerprint
evaluations, the feed, observations, confidential commitments), and checks the
consortium parameters it reads: its contract-version schedule and its oracle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ledger import Contract, ContractError, Handler, State, TxContext, Value
from scenarios._errors import ScenarioError
from scenarios.kit._engine import Engine
from scenarios.kit._machine import Machine
from scenarios.kit._oracle import observations_table, observe_handler
from scenarios.kit._private import private_handler, private_tables
from scenarios.kit._schema import ID_PATTERN
from scenarios.kit._tx import parse_step_body, parse_tx_body
from scenarios.kit._versions import schedule_check

__all__ = ["build_contract", "contract_kinds"]

_ANY_ROLE = frozenset({"member", "observer"})


def contract_kinds(
    name: str, machines: Iterable[Machine], *, oracle: bool = False
) -> frozenset[str]:
    """Every kind :func:`build_contract` makes for these machines."""
    kinds = {f"{name}.tx"}
    if oracle:
        kinds.add(f"{name}.observe")
    for machine in machines:
        if machine.confidential is not None:
            kinds.add(f"{name}.private")
            continue
        kinds |= {machine.kind(t.name) for t in machine.transitions.values() if not t.internal}
    return frozenset(kinds)


def _step_handler(engine: Engine, transition: str) -> Handler:
    def handle(state: State, ctx: TxContext) -> None:
        object_id, version, payload, cosigs = parse_step_body(ctx.body)
        leg = engine.leg(transition, object_id, version, payload)
        engine.run(state, ctx, [leg], cosigs, strict=True, single=True).overlay.commit()

    handle.__name__ = f"{engine.contract}_{transition}"
    return handle


def _tx_handler(engine: Engine) -> Handler:
    def handle(state: State, ctx: TxContext) -> None:
        legs, cosigs = parse_tx_body(ctx.body)
        engine.run(state, ctx, legs, cosigs, strict=True).overlay.commit()

    handle.__name__ = f"{engine.contract}_tx"
    return handle


def build_contract(
    name: str,
    machines: Iterable[Machine],
    extra_tables: Iterable[str] = (),
    param_check: Callable[[Mapping[str, Value]], None] | None = None,
    *,
    versions: Iterable[int] = (1,),
    oracle: bool = False,
) -> Contract:
    """A :class:`ledger.Contract` applying the machines' transactions."""
    machines = tuple(machines)
    engine = Engine(name, machines)
    handlers: dict[str, Handler] = {f"{name}.tx": _tx_handler(engine)}
    roles: dict[str, frozenset[str]] = {}
    members: dict[str, tuple[str, ...]] = {}
    tables: set[str] = set(extra_tables) | set(engine.tables)
    for machine in machines:
        if machine.confidential is not None:
            fingerprinted = [t.name for t in machine.transitions.values() if t.fingerprint_fields]
            if fingerprinted:
                # Consuming a fingerprint evaluation writes a shared table.
                raise ScenarioError(
                    f"confidential {machine.type} transitions take no fingerprints: {fingerprinted}"
                )
            continue
        for t in machine.transitions.values():
            members[t.name] = t.member_fields
            if t.internal:
                continue
            kind = machine.kind(t.name)
            handlers[kind] = _step_handler(engine, t.name)
            if t.consortium_roles is not None:
                roles[kind] = t.consortium_roles
    if oracle:
        handlers[f"{name}.observe"] = observe_handler(name)
        roles[f"{name}.observe"] = _ANY_ROLE
        tables.add(observations_table(name))
    if any(m.confidential is not None for m in machines):
        handlers[f"{name}.private"] = private_handler(name)
        roles[f"{name}.private"] = frozenset({"member"})
        tables |= private_tables(name)
    schedule = schedule_check(name, versions)

    def check(params: Mapping[str, Value]) -> None:
        schedule(params)
        named = params.get(f"{name}.oracle")
        if named is not None and not (isinstance(named, str) and ID_PATTERN.fullmatch(named)):
            raise ContractError(f"{name}.oracle must name a member id")
        if param_check is not None:
            param_check(params)

    def parties(kind: str, body: Mapping[str, Any]) -> list[str]:
        found: set[str] = set()
        if kind == f"{name}.private":
            named = body.get("members")
            endorsers = body.get("endorsements")
            found = set(named) if isinstance(named, list) else set()
            found |= set(endorsers) if isinstance(endorsers, Mapping) else set()
            return sorted(m for m in found if isinstance(m, str))
        if kind == f"{name}.tx":
            legs = body.get("legs")
            pairs = [
                (leg.get("transition"), leg.get("payload"))
                for leg in (legs if isinstance(legs, list) else [])
                if isinstance(leg, Mapping)
            ]
        else:
            pairs = [(kind.partition(".")[2], body.get("payload"))]
        for transition, payload in pairs:
            if isinstance(payload, Mapping) and isinstance(transition, str):
                named_fields = members.get(transition, ())
                found |= {v for f in named_fields if isinstance(v := payload.get(f), str)}
        cosigs = body.get("cosigs", {})
        if isinstance(cosigs, Mapping):
            found |= {m for m in cosigs if isinstance(m, str)}
        return sorted(found)

    return Contract(name, frozenset(tables), handlers, roles, check, parties=parties)
