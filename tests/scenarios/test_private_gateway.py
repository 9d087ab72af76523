"""The gateway's side of confidential objects, on a real chain, without the network.

``gateway._scenario_private.PrivatePeer`` is what a party's worker runs when another
party's gateway calls it; here it is called directly (the caller's member id as the
authentication interceptor would give it), over a store the embedded orderer commits
real blocks to. Checked, each refusal leaving the party's private store unchanged:

- a delivered private state that does not match the commitment on the replica is
  refused, one from a member who is neither party nor observer too, a genuine one kept;
- an endorser refuses a proposal whose commitment its own run does not reach, and
  endorses the genuine one;
- only the object's parties and observers may fetch its state.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import pytest

import scenarios
from gateway._errors import PermissionDeniedError
from gateway._pb.riskshare.scenarios.v1 import scenarios_pb2
from gateway._scenario_private import PrivatePeer
from gateway._scenario_store import PrivateStore
from ledger import ContractError, EmbeddedOrderer, Store
from scenarios.kit import (
    Engine,
    PrivateRecord,
    Proposal,
    endorse,
    private_body,
    propose,
)
from tests.ledger.helpers import T0, Net, key_for, make_net
from tests.scenarios import club_example as club

ENGINE = Engine("club", [club.LOANS])
ORIGINATE = {
    "commitments": {"m2": 60, "m3": 40},
    "regulator": "m4",
    "principal": 73_310_000_00,
    "rate_bps": 317,
    "reference": "CLUB-REF-5521",
}
PARTIES = ("m1", "m2", "m3")


class Chain:
    def __init__(self, tmp: Path) -> None:
        self.net: Net = make_net(("m1", "m2", "m3", "m4", "m5"), extra=[club.SCENARIO.contract])
        self.store: Store = self.net.store(tmp / "ledger.sqlite")
        self.orderer = EmbeddedOrderer(
            self.store, self.net.registry, member="m1", key=key_for("m1"), clock=lambda: T0
        )
        self.tmp = tmp

    def proposal(
        self, transition: str, payload: dict[str, Any], before: PrivateRecord | None
    ) -> tuple[Proposal, PrivateRecord]:
        return propose(
            ENGINE,
            self.store.state(),
            club.LOANS,
            before,
            submitter="m1",
            object_id="CLUB-7",
            transition=transition,
            payload=payload,
            endorsers=PARTIES,
            # The parties' clock (a proposal is not on the ledger; an endorser checks its
            # time against its own clock).
            time=time.time_ns() // 1_000_000,
            height=self.store.height + 1,
            key=before.key if before else os.urandom(32),
            salt=os.urandom(32),
        )

    def commit(self, proposal: Proposal, record: PrivateRecord) -> int:
        chain = self.net.chain
        signatures = {m: endorse(key_for(m), chain, proposal) for m in PARTIES}
        body = private_body(club.LOANS, record, signatures)
        answer = self.orderer.submit(self.net.tx("m1", "club.private", body).raw)
        assert answer.accepted, answer.reason
        height = self.orderer.cut()
        assert height is not None
        return height

    def peer(self, member: str) -> PrivatePeer:
        data = self.tmp / member
        data.mkdir(exist_ok=True)
        return PrivatePeer(
            member_id=member, signing_key=key_for(member), store=self.store, data_dir=data
        )

    def held(self, member: str) -> PrivateRecord | None:
        return PrivateStore(self.tmp / member).find("club", "loan", "CLUB-7")


def test_deliver_fetch_and_endorse_check_the_commitment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Registered the documented way (one more entry in SCENARIO_MODULES), as a gateway
    # running the example would have it.
    modules = (*scenarios.SCENARIO_MODULES, "tests.scenarios.club_example")
    monkeypatch.setattr(scenarios._registry, "SCENARIO_MODULES", modules)
    chain = Chain(tmp_path)
    proposal, record = chain.proposal("originate", ORIGINATE, None)
    height = chain.commit(proposal, record)
    buyer = chain.peer("m2")

    def deliver(sender: str, sent: PrivateRecord) -> None:
        request = scenarios_pb2.PrivateDelivery(record=sent.to_bytes(), height=height)
        buyer.deliver(sender, request)

    tampered = dataclasses.replace(record, obj=record.obj.evolve(attrs={"principal": 1}))
    with pytest.raises(ContractError, match="does not match its commitment"):
        deliver("m1", tampered)
    with pytest.raises(ContractError, match="does not match its commitment"):
        deliver("m1", dataclasses.replace(record, salt=os.urandom(32)))
    with pytest.raises(PermissionDeniedError, match="neither a party nor an observer"):
        deliver("m5", record)
    assert chain.held("m2") is None
    deliver("m1", record)
    assert chain.held("m2") == record

    # Fetching: the regulator (an observer) may, a non-party may not.
    ask = scenarios_pb2.PrivateFetch(contract="club", hid=record.hid, version=1)
    assert PrivateRecord.from_bytes(buyer.fetch("m4", ask)) == record
    with pytest.raises(PermissionDeniedError):
        buyer.fetch("m5", ask)

    # Endorsing the next step: the buyer re-runs it on the state it holds.
    period = {"start": "2025-01-06", "end": "2025-04-06"}
    proposal, accrued = chain.proposal("accrue", period, record)
    forged = dataclasses.replace(proposal, commitment=os.urandom(32))
    with pytest.raises(ContractError, match="not what the step leads to"):
        buyer.endorse("m1", scenarios_pb2.EndorseRequest(proposal=forged.to_bytes()))
    with pytest.raises(PermissionDeniedError, match="its own steps only"):
        buyer.endorse("m3", scenarios_pb2.EndorseRequest(proposal=proposal.to_bytes()))
    assert chain.held("m2") == record  # nothing kept from the refused proposals
    signature = buyer.endorse("m1", scenarios_pb2.EndorseRequest(proposal=proposal.to_bytes()))
    assert signature == endorse(key_for("m2"), chain.net.chain, proposal)
    chain.commit(proposal, accrued)
    assert accrued.obj.attrs["period_interest"] == 580_981_75
