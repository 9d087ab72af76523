"""Confidential steps between the parties: running them, proposing, endorsing.

The submitter of a confidential object's step runs it on the private state it holds
(:func:`run_private`: the kit's engine on an overlay of the shared state with the
object put in, which nothing keeps) and sends every party a :class:`Proposal` — the
step, the id key, the fresh salt, the time and height it ran at, the commitment it
reached. Each party runs the same step on the state *it* holds
(:func:`check_proposal`) and endorses (:func:`endorse`) only when it reaches the very
same commitment, so no party signs a state it cannot reproduce. The endorsements and
the commitment go to the ledger (:func:`private_body`); the state goes to the parties
and observers only (``gateway._scenario_private``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import ContractError, Overlay, State, TxContext, Value, decode, encode, get_member
from scenarios.kit._engine import Engine, Outcome
from scenarios.kit._machine import Machine
from scenarios.kit._objects import Obj
from scenarios.kit._parties import PartySet
from scenarios.kit._private import (
    Confidential,
    PrivateRecord,
    commitment,
    endorsement_message,
    object_hid,
    private_row,
)
from scenarios.kit._tx import Leg

__all__ = [
    "PROPOSAL_DOMAIN",
    "Proposal",
    "check_proposal",
    "endorse",
    "party_set_of",
    "private_body",
    "propose",
    "run_private",
]


# Running a step on private state ------------------------------------------------------------


def party_set_of(obj: Obj, confidential: Confidential) -> tuple[PartySet, list[str]]:
    """The endorsing party set (every member of a non-observer role, one vote each) and
    the observers, as a new confidential object fixes them on the ledger."""
    observers: set[str] = set()
    parties: set[str] = set()
    for role in sorted(obj.roles):
        found = obj.party_set(role)
        assert found is not None
        (observers if role in confidential.observer_roles else parties).update(found.members)
    members = tuple(sorted(parties))
    if not members:
        raise ContractError("a confidential object needs at least one party")
    return PartySet(members, (1,) * len(members), confidential.quorum), sorted(observers - parties)


def run_private(
    engine: Engine,
    state: State,
    ctx: TxContext,
    machine: Machine,
    before: PrivateRecord | None,
    object_id: str,
    transition: str,
    payload: Mapping[str, Any],
    *,
    endorsers: frozenset[str],
    strict: bool,
) -> tuple[Leg, Outcome]:
    """Run one step of a confidential object on ``before`` (None: it is created), on an
    overlay of the shared state that nothing keeps: the step's leg and its outcome."""
    if machine.confidential is None:
        raise ContractError(f"{machine.type} objects are not confidential")
    overlay = Overlay(state)
    if before is not None:
        if before.obj.id != object_id or before.obj.type != machine.type:
            raise ContractError("the private record is of another object")
        machine.write(overlay, before.obj)
    version = 0 if before is None else before.version
    leg = Leg(machine.type, object_id, version, transition, dict(payload))
    outcome = engine.run(
        overlay, ctx, [leg], {}, strict=strict, private=True, single=True, endorsers=endorsers
    )
    return leg, outcome


# Proposals: what a submitter sends, what a party checks ---------------------------------

PROPOSAL_DOMAIN = "scenario-private-proposal"


@dataclass(frozen=True, slots=True)
class Proposal:
    """A confidential step as its submitter proposes it to the other parties: enough for
    each to run it on the state it holds and reach the same commitment. It travels only
    between the parties' gateways (mutual TLS), never to the ledger."""

    contract: str
    type: str
    object_id: str
    version: int
    transition: str
    payload: Mapping[str, Any]
    key: bytes = field(repr=False)
    salt: bytes = field(repr=False)
    time: int
    height: int
    submitter: str
    endorsers: tuple[str, ...]
    commitment: bytes

    def to_bytes(self) -> bytes:
        return encode(
            PROPOSAL_DOMAIN,
            1,
            {
                "contract": self.contract,
                "type": self.type,
                "object": self.object_id,
                "version": self.version,
                "transition": self.transition,
                "payload": dict(self.payload),
                "key": self.key,
                "salt": self.salt,
                "time": self.time,
                "height": self.height,
                "submitter": self.submitter,
                "endorsers": list(self.endorsers),
                "commitment": self.commitment,
            },
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Proposal:
        try:
            row = decode(PROPOSAL_DOMAIN, 1, data)
            assert isinstance(row, dict)
            return cls(
                row["contract"],
                row["type"],
                row["object"],
                row["version"],
                row["transition"],
                row["payload"],
                row["key"],
                row["salt"],
                row["time"],
                row["height"],
                row["submitter"],
                tuple(row["endorsers"]),
                row["commitment"],
            )
        except Exception:
            raise ContractError("a confidential proposal that does not decode") from None

    @property
    def hid(self) -> bytes:
        return object_hid(self.contract, self.type, self.object_id, self.key)


def _context(state: State, proposal_kind: str, member: str, time: int, height: int) -> TxContext:
    found = get_member(state, member)
    role = "" if found is None else found.role
    return TxContext(b"\0" * 32, proposal_kind, member, role, 0, time, {}, height, time)


def _record(
    engine: Engine,
    state: State,
    machine: Machine,
    before: PrivateRecord | None,
    submitter: str,
    object_id: str,
    transition: str,
    payload: Mapping[str, Any],
    *,
    key: bytes,
    salt: bytes,
    time: int,
    height: int,
    endorsers: frozenset[str],
) -> PrivateRecord:
    ctx = _context(state, f"{engine.contract}.private", submitter, time, height)
    _, outcome = run_private(
        engine,
        state,
        ctx,
        machine,
        before,
        object_id,
        transition,
        payload,
        endorsers=endorsers,
        strict=True,
    )
    log = (
        *(before.log if before else ()),
        {"version": outcome.objects[0].version, "transition": transition, "time": time},
    )
    return PrivateRecord(engine.contract, outcome.objects[0], key, salt, log)


def propose(
    engine: Engine,
    state: State,
    machine: Machine,
    before: PrivateRecord | None,
    *,
    submitter: str,
    object_id: str,
    transition: str,
    payload: Mapping[str, Any],
    endorsers: tuple[str, ...],
    time: int,
    height: int,
    key: bytes,
    salt: bytes,
) -> tuple[Proposal, PrivateRecord]:
    """The submitter's side: run the step, and the proposal the parties will re-run.

    ``key`` is the object's id key (a fresh random one at creation, the record's
    afterwards) and ``salt`` a fresh random one; the caller supplies both."""
    if before is not None and before.key != key:
        raise ContractError("a confidential object keeps its id key")
    record = _record(
        engine,
        state,
        machine,
        before,
        submitter,
        object_id,
        transition,
        payload,
        key=key,
        salt=salt,
        time=time,
        height=height,
        endorsers=frozenset(endorsers),
    )
    proposal = Proposal(
        engine.contract,
        machine.type,
        object_id,
        record.version,
        transition,
        dict(payload),
        key,
        salt,
        time,
        height,
        submitter,
        tuple(endorsers),
        commitment(record),
    )
    return proposal, record


def check_proposal(
    engine: Engine, state: State, machine: Machine, mine: PrivateRecord | None, proposal: Proposal
) -> PrivateRecord:
    """A party's side: run the proposed step on the state it holds; the new record if
    it reaches the proposed commitment, else refuse (never endorse what it cannot
    reproduce)."""
    if proposal.contract != engine.contract or proposal.type != machine.type:
        raise ContractError("the proposal is for another machine")
    if mine is None:
        if proposal.version != 1 or private_row(state, engine.contract, proposal.hid):
            raise ContractError("this member holds no private state of the object")
    elif mine.version != proposal.version - 1 or mine.key != proposal.key:
        raise ContractError(
            f"the proposal builds on version {proposal.version - 1}; this member holds "
            f"version {mine.version}"
        )
    record = _record(
        engine,
        state,
        machine,
        mine,
        proposal.submitter,
        proposal.object_id,
        proposal.transition,
        proposal.payload,
        key=proposal.key,
        salt=proposal.salt,
        time=proposal.time,
        height=proposal.height,
        endorsers=frozenset(proposal.endorsers),
    )
    if commitment(record) != proposal.commitment:
        raise ContractError("the proposed commitment is not what the step leads to")
    return record


def endorse(signing_key: Ed25519PrivateKey, chain: bytes, proposal: Proposal) -> bytes:
    message = endorsement_message(
        chain, proposal.contract, proposal.hid, proposal.version, proposal.commitment
    )
    return signing_key.sign(message)


def private_body(
    machine: Machine, record: PrivateRecord, endorsements: Mapping[str, bytes]
) -> dict[str, Value]:
    """The ``<contract>.private`` body for ``record``: keyed hash, version, commitment,
    endorsements, and at creation the party set and observers it fixes."""
    assert machine.confidential is not None
    body: dict[str, Value] = {
        "hid": record.hid,
        "version": record.version,
        "commitment": commitment(record),
        "endorsements": dict(endorsements),
    }
    if record.version == 1:
        party, observers = party_set_of(record.obj, machine.confidential)
        body.update(
            members=list(party.members),
            weights=list(party.weights),
            quorum=party.quorum.to_row(),
            observers=observers,
        )
    return body
