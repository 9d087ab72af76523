"""Confidential objects as their parties hold them, for unit tests: each step run the
way a party's gateway runs it (``run_private`` on the shared state it has), the record
kept, a refusal checked to change nothing held or shared."""

from __future__ import annotations

import copy
import hashlib
import os
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from ledger import ContractError, TxContext
from scenarios import engine_for
from scenarios.kit import Machine, Obj, PrivateRecord, run_private
from tests.scenarios._net import Net


class Book:
    def __init__(self, net: Net, machine: Machine) -> None:
        self.net = net
        self.machine = machine
        self.held: dict[str, PrivateRecord] = {}

    def step(
        self,
        member: str,
        name: str,
        object_id: str,
        payload: Mapping[str, Any] | None = None,
        signers: Iterable[str] = (),
        machine: Machine | None = None,
    ) -> Obj:
        """Run one step as its submitter's gateway does (on ``machine``, the book's own
        unless told); keep the result."""
        machine = machine or self.machine
        contract = machine.contract
        before = self.held.get(object_id)
        self.net.height += 1
        ctx = TxContext(
            hashlib.sha256(os.urandom(16)).digest(),
            f"{contract}.private",
            member,
            "member",
            self.net.height,
            self.net.now,
            {},
            self.net.height,
            self.net.now,
        )
        _, outcome = run_private(
            engine_for(contract),
            self.net.state,
            ctx,
            machine,
            before,
            object_id,
            name,
            dict(payload or {}),
            endorsers=frozenset({member, *signers}),
            strict=True,
        )
        after = outcome.objects[0]
        key = before.key if before else os.urandom(32)
        self.held[object_id] = PrivateRecord(contract, after, key, os.urandom(32))
        return after

    def obj(self, object_id: str) -> Obj:
        return self.held[object_id].obj

    def refused(self, match: str, *args: Any, **kwargs: Any) -> ContractError:
        """A step that must be refused and change nothing held or shared."""
        held = copy.deepcopy({k: v.obj for k, v in self.held.items()})
        before = self.net.snapshot()
        with pytest.raises(ContractError, match=match) as info:
            self.step(*args, **kwargs)
        assert {k: v.obj for k, v in self.held.items()} == held
        assert self.net.snapshot() == before
        return info.value
