"""A consortium for insurance unit tests: the shared registry through ``Net``, and each
confidential object (a policy, a treaty layer) as its parties hold it, every step run
the way a party's gateway runs it (``run_private`` on the shared state it has)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from ledger import ContractError
from scenarios.ins import CONTRACT, POLICIES
from scenarios.kit import Machine, Obj, sign_observation
from tests.scenarios._book import Book
from tests.scenarios._net import CHAIN, Net

INSURERS = ("insurer-a", "insurer-b")
MARKET = ("re-1", "re-2", "re-3")
MEMBERS = (*INSURERS, "broker", *MARKET, "oracle", "outsider")


def receipt_id(n: int) -> str:
    return hashlib.sha256(f"screening-{n}".encode()).hexdigest()


class Insurance:
    def __init__(self) -> None:
        self.net = Net(dict.fromkeys(MEMBERS, "member"), [CONTRACT])
        self.net.state.put("gov.params", "ins.oracle", "oracle")
        # Policies and layers alike: a step names its machine.
        self.book = Book(self.net, POLICIES)
        self._receipts = 0

    # The shared ledger -------------------------------------------------------------

    def screening(self, member: str, *, list_type: str = "transaction_fraud", at: int = 0) -> str:
        """A list query ``member`` made, as the credits contract records it (the answer
        itself never reaches the ledger)."""
        self._receipts += 1
        rid = receipt_id(self._receipts)
        row = {
            "querier": member,
            "responder": "insurer-b" if member != "insurer-b" else "insurer-a",
            "list_type": list_type,
            "id_type": "phone",
            "items": 1,
            "charge": 1000,
            "time": at or self.net.now,
            "height": self.net.height,
            "key_id": "00" * 8,
            "status": "recorded",
        }
        self.net.state.put("credits.receipts", rid, row)
        return rid

    def observe(self, series: str, as_of: str, value: int) -> None:
        signature = sign_observation(self.net.keys["oracle"], CHAIN, "ins", series, as_of, value, 0)
        body = {"series": series, "as_of": as_of, "value": value, "scale": 0}
        self.net.submit("oracle", "ins.observe", body | {"signature": signature})

    def step(
        self,
        machine: Machine,
        member: str,
        name: str,
        object_id: str,
        payload: Any = None,
        cosigners: Iterable[str] = (),
    ) -> bytes:
        return self.net.step(machine, member, name, object_id, payload or {}, cosigners)

    # Confidential objects ----------------------------------------------------------

    def private(
        self,
        machine: Machine,
        member: str,
        name: str,
        object_id: str,
        payload: Mapping[str, Any] | None = None,
        signers: Iterable[str] = (),
    ) -> Obj:
        """Run one confidential step as its submitter's gateway does; keep the result."""
        return self.book.step(member, name, object_id, payload, signers, machine=machine)

    def obj(self, object_id: str) -> Obj:
        return self.book.obj(object_id)

    def refused_private(
        self, match: str, machine: Machine, *args: Any, **kwargs: Any
    ) -> ContractError:
        """A confidential step that must be refused and change nothing held or shared."""
        return self.book.refused(match, *args, machine=machine, **kwargs)
