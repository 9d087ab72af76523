"""A consortium for letter-of-credit unit tests: the shared ledger through ``Net`` (the
eB/L, the financing registry) and each credit as its parties hold it, every step run as
a party's gateway runs it (``run_private`` on the shared state it has)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ledger import ContractError
from scenarios.kit import Machine, Obj
from scenarios.lc import CONTRACT, CREDITS
from scenarios.tf import CONTRACT as TF
from tests.scenarios._book import Book
from tests.scenarios._net import Net

MEMBERS = ("bohi", "dreyfus", "ing", "socgen", "abn", "carrier", "outsider")


class Trade:
    def __init__(self) -> None:
        self.net = Net(dict.fromkeys(MEMBERS, "member"), [CONTRACT, TF])
        self.book = Book(self.net, CREDITS)

    def private(
        self,
        member: str,
        name: str,
        object_id: str,
        payload: Mapping[str, Any] | None = None,
        signers: Iterable[str] = (),
        machine: Machine | None = None,
    ) -> Obj:
        """Run one step on a credit as its submitter's gateway does; keep the result."""
        return self.book.step(member, name, object_id, payload, signers, machine=machine)

    def obj(self, object_id: str) -> Obj:
        return self.book.obj(object_id)

    def refused(self, match: str, *args: Any, **kwargs: Any) -> ContractError:
        return self.book.refused(match, *args, **kwargs)
