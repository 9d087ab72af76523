"""A consortium for letter-of-credit unit tests: the shared ledger through ``Net`` (the
eB/L, the financing registry) and each credit as its parties hold it, every step run as
a party's gateway runs it (``run_private`` on the shared state it has)."""

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
from scenarios.lc import CONTRACT
from scenarios.tf import CONTRACT as TF
from tests.scenarios._net import Net

MEMBERS = ("bohi", "dreyfus", "ing", "socgen", "abn", "carrier", "outsider")


class Trade:
    def __init__(self) -> None:
        self.net = Net(dict.fromkeys(MEMBERS, "member"), [CONTRACT, TF])
        self.held: dict[str, PrivateRecord] = {}

    def private(
        self,
        member: str,
        name: str,
        object_id: str,
        payload: Mapping[str, Any] | None = None,
        signers: Iterable[str] = (),
        machine: Machine | None = None,
    ) -> Obj:
        from scenarios.lc import CREDITS

        before = self.held.get(object_id)
        self.net.height += 1
        ctx = TxContext(
            hashlib.sha256(os.urandom(16)).digest(),
            "lc.private",
            member,
            "member",
            self.net.height,
            self.net.now,
            {},
            self.net.height,
            self.net.now,
        )
        _, outcome = run_private(
            engine_for("lc"),
            self.net.state,
            ctx,
            machine or CREDITS,
            before,
            object_id,
            name,
            dict(payload or {}),
            endorsers=frozenset({member, *signers}),
            strict=True,
        )
        after = outcome.objects[0]
        key = before.key if before else os.urandom(32)
        self.held[object_id] = PrivateRecord("lc", after, key, os.urandom(32))
        return after

    def obj(self, object_id: str) -> Obj:
        return self.held[object_id].obj

    def refused(self, match: str, *args: Any, **kwargs: Any) -> ContractError:
        held = copy.deepcopy({k: v.obj for k, v in self.held.items()})
        before = self.net.snapshot()
        with pytest.raises(ContractError, match=match) as info:
            self.private(*args, **kwargs)
        assert {k: v.obj for k, v in self.held.items()} == held
        assert self.net.snapshot() == before
        return info.value
