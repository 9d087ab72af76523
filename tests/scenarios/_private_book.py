"""Confidential objects' steps, run by the kit's engine as every party's gateway runs
them (``scenarios.kit.run_private``), without the commitments and endorsements
``test_private`` covers: what a scenario's own rules decide.

:class:`PrivateBook` holds the one copy of each object every party would hold, and
implements :class:`scenarios.kit.DemoRun`, so a scenario's demo flow runs here in
process, with its figure checks, before it runs through real gateways.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pytest

from ledger import ContractError, State, TxContext
from scenarios import engine_for, get_scenario, machine_for
from scenarios.kit import Obj, PrivateRecord, day_of, run_private
from tests.scenarios._net import Net, ms


class PrivateBook:
    def __init__(self, contract: str, members: Sequence[str], today: str = "2025-06-30") -> None:
        self.contract = contract
        self.net = Net(dict.fromkeys(members, "member"), [get_scenario(contract).contract])
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

    def run(self, actor: str, kind: str, object_id: str, payload: Mapping[str, Any]) -> Obj:
        machine = machine_for(kind)
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

    def refused(self, match: str, actor: str, kind: str, object_id: str, payload: Any) -> None:
        before = copy.deepcopy(self.objects), self.net.snapshot()
        with pytest.raises(ContractError, match=match):
            self.run(actor, kind, object_id, payload)
        assert (self.objects, self.net.snapshot()) == before

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

    def authorize(
        self, member: str, kind: str, object_id: str, payload: Mapping[str, Any] | None = None
    ) -> None:
        raise AssertionError("no authorisations in process")

    def fingerprint(
        self, actor: str, family: str, inputs: Sequence[bytes]
    ) -> tuple[list[bytes], str]:
        raise AssertionError("no fingerprints in process")

    def document_hash(self) -> bytes:
        return hashlib.sha256(b"document").digest()

    def state(self, member: str) -> State:
        return self.net.state

    def say(self, line: str) -> None:
        pass

    def check(self, what: str, ledger: Any, independent: Any) -> None:
        self.checks.append((what, ledger, independent))
