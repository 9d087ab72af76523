"""Confidential objects at the contract and between the parties (``club_example``).

Each party holds its own copy of the private state; a step is proposed by one, re-run
by every endorser on the copy it holds, and committed on the shared ledger as a keyed
hash, a version, a salted commitment and the endorsements. Checked here, without
gateways (``test_examples_e2e`` runs them through real ones):

- the shared ledger holds no private field (every table scanned, CBOR opened);
- creation needs every party; later steps the party set's quorum fixed at creation, and
  a transition's own stricter signers (two thirds of the lenders' commitments);
- a version is consumed once; only parties submit and endorse;
- a party refuses to endorse what it cannot reproduce, and a private state that does
  not match its commitment is refused — each refusal changes nothing.
"""

from __future__ import annotations

import os
from typing import Any

import cbor2
import pytest

from ledger import ContractError, TxContext
from scenarios.kit import (
    ANYONE,
    NEW,
    Engine,
    Leg,
    Machine,
    Mint,
    PrivateRecord,
    Proposal,
    Transition,
    check_proposal,
    commitment,
    endorse,
    object_hid,
    private_body,
    private_row,
    propose,
    verify_record,
)
from tests.scenarios import club_example as club
from tests.scenarios._net import CHAIN, Net

ENGINE = Engine("club", [club.LOANS])
PARTIES = ["seller", "buyer", "exchange"]  # the agent and two lenders
ORIGINATE = {
    "commitments": {"buyer": 60, "exchange": 40},
    "regulator": "cashbank",
    "principal": 73_310_000_00,
    "rate_bps": 317,
    "reference": "CLUB-REF-5521",
}


class Club:
    def __init__(self) -> None:
        members = dict.fromkeys([*PARTIES, "cashbank", "issuer"], "member")
        self.net = Net(members, [club.SCENARIO.contract])
        self.held: dict[str, PrivateRecord] = {}

    def proposal(
        self, submitter: str, transition: str, payload: dict[str, Any], endorsers: list[str]
    ) -> tuple[Proposal, PrivateRecord]:
        before = self.held.get(submitter)
        key = before.key if before else os.urandom(32)
        return propose(
            ENGINE,
            self.net.state,
            club.LOANS,
            before,
            submitter=submitter,
            object_id="CLUB-7",
            transition=transition,
            payload=payload,
            endorsers=tuple(endorsers),
            time=self.net.now,
            height=self.net.height + 1,
            key=key,
            salt=os.urandom(32),
        )

    def step(
        self,
        submitter: str,
        transition: str,
        payload: dict[str, Any] | None = None,
        endorsers: list[str] | None = None,
    ) -> PrivateRecord:
        endorsers = PARTIES if endorsers is None else endorsers
        proposal, record = self.proposal(submitter, transition, payload or {}, endorsers)
        signatures = {}
        for member in endorsers:
            theirs = check_proposal(
                ENGINE, self.net.state, club.LOANS, self.held.get(member), proposal
            )
            assert commitment(theirs) == commitment(record)
            signatures[member] = endorse(self.net.keys[member], CHAIN, proposal)
        self.net.submit(submitter, "club.private", private_body(club.LOANS, record, signatures))
        for member in [*endorsers, "cashbank"]:
            verify_record(self.net.state, record)
            self.held[member] = record
        return record


@pytest.fixture
def loan() -> Club:
    book = Club()
    book.step("seller", "originate", ORIGINATE)
    return book


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in (k, *_leaves(v))]
    if isinstance(value, list):
        return [x for v in value for x in _leaves(v)]
    return [value]


def test_the_ledger_holds_a_commitment_and_no_private_field(loan: Club) -> None:
    record = loan.held["seller"]
    row = private_row(loan.net.state, "club", record.hid)
    assert row is not None
    assert (row.version, row.party.members, row.observers) == (
        1,
        tuple(sorted(PARTIES)),
        ("cashbank",),
    )
    assert row.commitment == commitment(record)
    secrets = [b"CLUB-REF-5521", b"CLUB-7", b"7331000000", cbor2.dumps(73_310_000_00)]
    for table, rows in loan.net.state.tables().items():
        blob = cbor2.dumps(rows, canonical=True) + repr(rows).encode()
        leaves = {repr(v).encode() for v in _leaves(rows)}
        for secret in secrets:
            assert secret not in blob, (table, secret)
            assert not any(secret in leaf for leaf in leaves), (table, secret)
    # The keyed hash is not the id's hash: another key gives another, unlinkable one.
    assert object_hid("club", "loan", "CLUB-7", os.urandom(32)) != record.hid
    # The private state does not reach the shared tables of the loan machine either.
    assert club.LOANS.get(loan.net.state, "CLUB-7") is None


def test_creation_needs_every_party_and_later_steps_the_quorum(loan: Club) -> None:
    fresh = Club()
    fresh.net.refused(
        "quorum not reached: the confidential step needs every member",
        fresh.step,
        "seller",
        "originate",
        ORIGINATE,
        ["seller", "buyer"],
    )
    period = {"start": "2025-01-06", "end": "2025-04-06"}
    loan.net.refused("quorum not reached", loan.step, "seller", "accrue", period, ["seller"])
    accrued = loan.step("seller", "accrue", period, ["seller", "buyer"])  # 2 of 3 parties
    # 73,310,000.00 × 3.17 % × 90/360 = 580,981.75
    assert accrued.obj.attrs["period_interest"] == 580_981_75
    assert private_row(loan.net.state, "club", accrued.hid).version == 2  # type: ignore[union-attr]


def test_a_transition_keeps_its_own_signers(loan: Club) -> None:
    # Repricing needs two thirds of the lenders' commitments: buyer's 60 % alone is not
    # enough, although the agent and the buyer are two thirds of the party set.
    with pytest.raises(ContractError, match="quorum not reached: reprice needs"):
        loan.proposal("seller", "reprice", {"rate_bps": 290}, ["seller", "buyer"])
    repriced = loan.step("seller", "reprice", {"rate_bps": 290}, PARTIES)
    assert repriced.obj.attrs["rate_bps"] == 290


def test_versions_parties_and_commitments_are_enforced(loan: Club) -> None:
    net = loan.net
    period = {"start": "2025-01-06", "end": "2025-02-06"}
    proposal, record = loan.proposal("seller", "accrue", period, PARTIES)
    signatures = {m: endorse(net.keys[m], CHAIN, proposal) for m in PARTIES}
    body = private_body(club.LOANS, record, signatures)
    net.refused("only a party", net.submit, "issuer", "club.private", body)
    outsider = {
        "seller": signatures["seller"],
        "buyer": signatures["buyer"],
        "issuer": endorse(net.keys["issuer"], CHAIN, proposal),
    }
    net.refused(
        "'issuer' is not a party",
        net.submit,
        "seller",
        "club.private",
        {**body, "endorsements": outsider},
    )
    forged = {**signatures, "buyer": signatures["seller"]}
    net.refused(
        "bad signature by 'buyer'",
        net.submit,
        "seller",
        "club.private",
        {**body, "endorsements": forged},
    )
    net.submit("seller", "club.private", body)
    # The same version again (a second step built on version 1): refused.
    net.refused("stale step", net.submit, "seller", "club.private", body)
    # A party holding version 1 refuses to endorse a proposal it cannot reproduce.
    tampered = Proposal(**{**_fields(proposal), "payload": {**period, "end": "2025-03-06"}})
    with pytest.raises(ContractError, match="not what the step leads to"):
        check_proposal(ENGINE, net.state, club.LOANS, loan.held["buyer"], tampered)
    # A private state that does not match the commitment on the ledger is not kept.
    changed = record.obj.evolve(attrs={"principal": 1})
    with pytest.raises(ContractError, match="does not match its commitment"):
        verify_record(net.state, PrivateRecord("club", changed, record.key, record.salt))
    with pytest.raises(ContractError, match="does not match its commitment"):
        verify_record(net.state, PrivateRecord("club", record.obj, record.key, os.urandom(32)))
    verify_record(net.state, record)


def _fields(proposal: Proposal) -> dict[str, Any]:
    return {name: getattr(proposal, name) for name in Proposal.__slots__}


def test_a_confidential_step_changes_its_own_object_only() -> None:
    fresh = Club()
    net = fresh.net
    # No plain kind exists for a confidential machine, and the engine refuses its legs
    # outside a confidential step.
    net.refused(
        "unknown transaction kind 'club.originate'",
        net.submit,
        "seller",
        "club.originate",
        {"object": "CLUB-7", "version": 0, "payload": ORIGINATE},
    )
    ctx = TxContext(b"\0" * 32, "club.tx", "seller", "member", 1, net.now, {}, 1, net.now)
    leg = Leg("loan", "CLUB-7", 0, "originate", ORIGINATE)
    with pytest.raises(ContractError, match=r"confidential: their steps go through club\.private"):
        ENGINE.run(net.state, ctx, [leg], {}, strict=True)
    # Its effects may not reach a shared table (holdings here).
    leaky = Machine(
        "club",
        "loan",
        [
            Transition(
                "leak",
                frozenset({NEW}),
                frozenset({"A"}),
                frozenset({ANYONE}),
                effect=lambda v: (Mint(1, "USD", "seller"),),
            )
        ],
        confidential=club.LOANS.confidential,
    )
    leg = Leg("loan", "L-1", 0, "leak", {})
    with pytest.raises(ContractError, match="Mint: a confidential step changes its own object"):
        Engine("club", [leaky]).run(
            net.state, ctx, [leg], {}, strict=True, private=True, endorsers=frozenset()
        )
    assert PrivateRecord.from_bytes(fresh.step("seller", "originate", ORIGINATE).to_bytes())
