"""A registered scenario's steps in process, on real contracts and a ``MemoryState``.

Steps of shared machines go through the contract as the validator applies them
(``_net.Net``); steps of confidential objects run on the kit's engine as every party's
gateway runs them (``scenarios.kit.run_private``), without the commitments and
endorsements ``test_private`` covers — what a scenario's own rules decide. For those,
:class:`LocalRun` holds the one copy of each object every party would hold.

:class:`LocalRun` implements :class:`scenarios.kit.DemoRun`, so a scenario's demo flow
runs here, with its figure checks, before it runs through real gateways.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pytest

from ledger import PARAMS, ContractError, State, TxContext
from scenarios import engine_for, get_scenario, machine_for
from scenarios.kit import Leg, Obj, PrivateRecord, day_of, run_private
from tests.scenarios._net import Net, ms


class LocalRun:
    def __init__(
        self,
        contract: str,
        members: Sequence[str],
        today: str = "2025-06-30",
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.contract = contract
        self.net = Net(dict.fromkeys(members, "member"), [get_scenario(contract).contract])
        for name, value in (params or {}).items():
            self.net.state.put(PARAMS, name, value)
        self.engine = engine_for(contract)
        self.objects: dict[str, Obj] = {}
        self.net.at(today)
        self.checks: list[tuple[str, Any, Any]] = []
        self.outcomes: list[tuple[str, str, str]] = []

    @property
    def today(self) -> date:
        return day_of(self.net.now)

    def at(self, day: str) -> None:
        self.net.now = ms(day)

    def run(
        self,
        actor: str,
        kind: str,
        object_id: str,
        payload: Mapping[str, Any],
        cosigners: Sequence[str] = (),
    ) -> Obj:
        machine = machine_for(kind)
        if machine.confidential is None:
            self.net.step(machine, actor, kind.partition(".")[2], object_id, payload, cosigners)
            return machine.load(self.net.state, object_id)
        before = self.objects.get(object_id)
        record = None if before is None else PrivateRecord(self.contract, before, b"k" * 32, b"")
        self.net.height += 1
        ctx = TxContext(
            hashlib.sha256(f"{self.net.height}".encode()).digest(),
            f"{self.contract}.private",
            actor,
            "member",
            self.net.height,
            self.net.now,
            {},
            self.net.height,
            self.net.now,
        )
        parties = set() if before is None else set(before.members())
        _, outcome = run_private(
            self.engine,
            self.net.state,
            ctx,
            machine,
            record,
            object_id,
            kind.partition(".")[2],
            payload,
            endorsers=frozenset(parties | {actor}),
            strict=True,
        )
        obj = outcome.objects[0]
        self.objects[object_id] = obj
        return obj

    def refused(
        self,
        match: str,
        actor: str,
        kind: str,
        object_id: str,
        payload: Any,
        cosigners: Sequence[str] = (),
    ) -> None:
        before = copy.deepcopy(self.objects), self.net.snapshot()
        with pytest.raises(ContractError, match=match):
            self.run(actor, kind, object_id, payload, cosigners)
        assert (self.objects, self.net.snapshot()) == before

    def tx(self, actor: str, legs: Sequence[Leg], cosigners: Sequence[str] = ()) -> None:
        """A ``<contract>.tx`` of ``legs`` (a version of -1: the object's current one)."""
        engine = self.engine
        current = []
        for leg in legs:
            if leg.version == -1:
                found = engine.machine(leg.machine).get(self.net.state, leg.object)
                leg = Leg(
                    leg.machine,
                    leg.object,
                    found.version if found else 0,
                    leg.transition,
                    leg.payload,
                )
            current.append(leg)
        self.net.tx(self.contract, actor, current, cosigners)

    # DemoRun -------------------------------------------------------------------------

    def step(
        self,
        actor: str,
        say: str,
        kind: str,
        object_id: str,
        payload: Mapping[str, Any] | None = None,
        *,
        cosigners: Sequence[str] = (),
        refused: bool = False,
    ) -> Obj | None:
        try:
            obj = self.run(actor, kind, object_id, dict(payload or {}))
        except ContractError as exc:
            self.outcomes.append((actor, say, f"refused: {exc}"))
            assert refused, (say, str(exc))
            return None
        self.outcomes.append((actor, say, "applied"))
        assert not refused, say
        return obj

    def submit(
        self, actor: str, say: str, legs: Sequence[Leg], *, refused: bool = False
    ) -> Obj | None:
        try:
            self.tx(actor, legs)
        except ContractError as exc:
            self.outcomes.append((actor, say, f"refused: {exc}"))
            assert refused, (say, str(exc))
            return None
        self.outcomes.append((actor, say, "applied"))
        assert not refused, say
        first = legs[0]
        return self.engine.machine(first.machine).load(self.net.state, first.object)

    def authorize(
        self, member: str, kind: str, object_id: str, payload: Mapping[str, Any] | None = None
    ) -> None:
        raise AssertionError("no authorisations in process")

    def authorize_tx(self, member: str, legs: Sequence[Leg]) -> None:
        raise AssertionError("no authorisations in process")

    def fingerprint(
        self, actor: str, family: str, inputs: Sequence[bytes]
    ) -> tuple[list[bytes], str]:
        raise AssertionError("no fingerprints in process")

    def document_hash(self) -> bytes:
        return hashlib.sha256(b"document").digest()

    # The flows run here (syndicate, equity) observe, screen and hold nothing; the ones
    # that do run through gateways (tests/scenarios/test_demo.py).
    def observe(self, series: str, as_of: str, value: int, scale: int) -> None:
        raise AssertionError("no oracle in process")

    def screen(self, actor: str, id_type: str, value: str) -> tuple[str, bool]:
        raise AssertionError("no risk-sharing queries in process")

    def screen_batch(
        self, actor: str, id_type: str, values: Sequence[str]
    ) -> tuple[str, list[bool]]:
        raise AssertionError("no risk-sharing queries in process")

    def held(self, member: str, object_id: str) -> Obj:
        raise AssertionError("no private stores in process")

    def state(self, member: str) -> State:
        return self.net.state

    def say(self, line: str) -> None:
        pass

    def check(self, what: str, ledger: Any, independent: Any) -> None:
        self.checks.append((what, ledger, independent))
