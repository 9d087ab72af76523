"""Contract versions chosen by governance at a height, on a real chain.

The DvP example carries two contract versions: version 2 adds the rule that a trade
settles only against an oracle observation. The consortium schedules version 2 from a
height with ``gov.propose set_params`` approved by more than two thirds of the voters
(the real ``gov`` contract, blocks cut by the embedded orderer). Checked:

- before that height a settlement without an observation applies (version 1); from it
  on, the same settlement is refused until the oracle observes the price;
- a schedule naming a version this software lacks is refused when it would execute;
- the chain verifies from genesis (every block re-executed, state digests equal), so
  history re-executed under the version in force at each height reaches the same state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ledger import (
    EmbeddedOrderer,
    approve_body,
    propose_body,
    verify_chain,
)
from scenarios.kit import Leg, contract_version, cosign, day_of, sign_observation
from tests.ledger.helpers import T0, Net, key_for, make_net
from tests.scenarios import dvp_example as dvp

DAY = day_of(T0).isoformat()


class Chain:
    def __init__(self, tmp: Path) -> None:
        self.net: Net = make_net(params={"dvp.oracle": "m3"}, extra=[dvp.SCENARIO.contract])
        self.store = self.net.store(tmp / "ledger.sqlite")
        self.orderer = EmbeddedOrderer(
            self.store, self.net.registry, member="m1", key=key_for("m1"), clock=lambda: T0
        )

    def send(self, member: str, kind: str, body: dict[str, Any]) -> str:
        """Submit and cut a block; the refusal reason, or "" when it applied."""
        stx = self.net.tx(member, kind, body)
        answer = self.orderer.submit(stx.raw)
        self.orderer.cut()
        return "" if answer.accepted else answer.reason

    def ok(self, member: str, kind: str, body: dict[str, Any]) -> None:
        assert self.send(member, kind, body) == "", kind

    def step(self, member: str, name: str, obj: str, payload: dict[str, Any] | None = None) -> None:
        machine = next(m for m in dvp.SCENARIO.machines if name in m.transitions)
        current = machine.get(self.store.state(), obj)
        version = 0 if current is None else current.version
        self.ok(
            member, f"dvp.{name}", {"object": obj, "version": version, "payload": payload or {}}
        )

    def version(self) -> int:
        return contract_version(self.store.state(), "dvp", self.store.height + 1)

    def trade(self, name: str) -> None:
        trade = {
            "buyer": "m2",
            "security": "ACME",
            "qty": 10,
            "cash": "USD",
            "price": 100,
            "trade_date": DAY,
            "tolerance_bps": 0,
        }
        self.step("m1", "propose", name, trade)
        self.step("m2", "match", name)
        self.step(
            "m1",
            "instruct",
            f"{name}-D",
            {"receiver": "m2", "instrument": "ACME", "qty": 10, "trade": name},
        )
        self.step(
            "m2",
            "instruct",
            f"{name}-P",
            {"receiver": "m1", "instrument": "USD", "qty": 1000, "trade": name},
        )
        self.step("m1", "allocate", f"{name}-D")
        self.step("m2", "allocate", f"{name}-P")

    def settle(self, name: str) -> str:
        state = self.store.state()
        legs = [
            Leg(
                "trade",
                name,
                dvp.TRADES.load(state, name).version,
                "settle",
                {"delivery": f"{name}-D", "payment": f"{name}-P"},
            ),
            Leg(
                "instruction",
                f"{name}-D",
                dvp.INSTRUCTIONS.load(state, f"{name}-D").version,
                "settle_instruction",
                {},
            ),
            Leg(
                "instruction",
                f"{name}-P",
                dvp.INSTRUCTIONS.load(state, f"{name}-P").version,
                "settle_instruction",
                {},
            ),
        ]
        body = {
            "legs": [leg.to_row() for leg in legs],
            "cosigs": {"m1": cosign(key_for("m1"), self.net.chain, "dvp", legs)},
        }
        return self.send("m2", "dvp.tx", body)

    def schedule(self, versions: dict[str, int]) -> str:
        body = propose_body("set_params", {"set": {"dvp.versions": versions}})
        stx = self.net.tx("m1", "gov.propose", body)
        assert self.orderer.submit(stx.raw).accepted
        self.orderer.cut()
        self.ok("m2", "gov.approve", approve_body(stx.tx_id.hex()))
        return self.send("m3", "gov.approve", approve_body(stx.tx_id.hex()))


def test_governance_chooses_the_version_at_a_height_and_history_replays(tmp_path: Path) -> None:
    chain = Chain(tmp_path)
    chain.step("m3", "create", "ACME")
    chain.step("m3", "issue", "ACME", {"to": "m1", "qty": 100})
    chain.step("m3", "create", "USD")
    chain.step("m3", "issue", "USD", {"to": "m2", "qty": 10_000})
    chain.trade("T1")
    chain.trade("T2")
    assert chain.version() == 1
    assert chain.settle("T1") == ""  # version 1: no observation needed

    refused = chain.schedule({"3": chain.store.height + 5})
    assert "dvp contract versions [3] are not in this software" in refused
    start = chain.store.height + 5
    assert chain.schedule({"2": start}) == ""
    while chain.store.height + 1 < start:
        assert chain.version() == 1
        chain.ok("m1", "gov.propose", propose_body("set_params", {"set": {"dvp.pad": 1}}))
    assert chain.version() == 2
    assert "price_observed: the oracle has no price" in chain.settle("T2")
    signature = sign_observation(key_for("m3"), chain.net.chain, "dvp", "ACME", DAY, 100, 0)
    chain.ok(
        "m3",
        "dvp.observe",
        {"series": "ACME", "as_of": DAY, "value": 100, "scale": 0, "signature": signature},
    )
    assert chain.settle("T2") == ""

    report = verify_chain(chain.store, chain.net.registry)
    assert report.height == chain.store.height
    state = chain.store.state()
    assert [dvp.TRADES.load(state, t).state for t in ("T1", "T2")] == ["SETTLED", "SETTLED"]
