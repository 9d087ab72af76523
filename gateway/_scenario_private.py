"""Confidential objects at the gateway: the private store, and the parties' exchanges.

The rules are the kit's (``scenarios.kit._private``, ``_endorse``); this module keeps the
private state and moves it between the parties' gateways over mutual TLS:

- :class:`PrivateStore` (``gateway._scenario_store``) keeps the private records this
  member holds as a party or observer, each version checked against the commitment on
  its own replica before it counts as held. Nothing private is ever logged: refusals
  name versions and members, never a field.
- The peer side (:class:`PrivatePeer`, the ``Scenarios`` service): ``Endorse`` re-runs
  a proposed step on the state this member holds and signs the commitment only when it
  reaches the same one (and, for a step that needs this member's own signature, only
  with its operator's approval of the step's digest); ``DeliverPrivate`` keeps a
  committed version sent by a party, once it matches the commitment;
  ``FetchPrivate`` gives a version to another party or observer of the object.
- The member's side (:class:`PrivateAdmin`, ``ScenarioAdmin``): ``PrivateStep``
  proposes, collects endorsements (a party that refuses or is down is skipped when the
  quorum is reached without it), submits the commitment, and delivers the state to the
  parties and observers; ``SyncPrivate`` fetches what this member missed while down;
  ``PurgePrivate`` deletes state past the scenario's retention (the commitments stay).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc

from gateway._errors import DeadlineError, PermissionDeniedError, UnavailableError
from gateway._log import log_event
from gateway._pb.riskshare.scenarios.v1 import scenarios_pb2
from gateway._scenario_store import PrivateStore
from gateway._scenario_tx import Approvals, Built, decode_payload
from gateway._status import error_from_rpc
from ledger import ContractError, State, Store, encode, now_ms
from scenarios import ScenarioError, engine_for
from scenarios.kit import (
    MS_PER_DAY,
    Engine,
    Leg,
    Machine,
    PartySet,
    PrivateRecord,
    PrivateRow,
    Proposal,
    check_proposal,
    endorse,
    private_body,
    private_row,
    private_rows,
    propose,
    tx_message,
    verify_record,
)
from scenarios.kit import chain_id as chain_of

if TYPE_CHECKING:
    from gateway._node import Node
    from gateway._peers import PeerChannels

__all__ = ["PrivateAdmin", "PrivatePeer"]

_log = logging.getLogger("riskshare.gateway.private")
# A proposal's time may differ from the endorser's clock by at most the ledger's skew.
_SKEW_MS = 5 * 60 * 1000
_PEER_TIMEOUT_S = 15.0
# A party that is down costs the proposer this long (a new channel needs a moment to
# connect, so the calls wait for one); the quorum decides whether the step goes on.
_PARTY_TIMEOUT_S = 15.0  # a busy party's replica may need seconds to reach the height
_REPLICA_WAIT_S = 10.0


def _wait_height(store: Store, height: int) -> None:
    if not store.wait_for_height(height, _REPLICA_WAIT_S):
        raise DeadlineError(f"the local replica has not reached height {height}")


def _engine(contract: str) -> Engine:
    try:
        return engine_for(contract)
    except ScenarioError as exc:
        raise ContractError(str(exc)) from None


def _confidential(engine: Engine, type_: str) -> Machine:
    machine = engine.machine(type_)
    if machine.confidential is None:
        raise ContractError(f"{machine.type} objects are not confidential")
    return machine


def _approval_built(engine: Engine, chain: bytes, proposal: Proposal) -> Built:
    """The transaction an operator approves for a confidential step: the same leg and
    digest as a public step's, computed where the private state is."""
    leg = Leg(
        proposal.type,
        proposal.object_id,
        proposal.version - 1,
        proposal.transition,
        proposal.payload,
    )
    return Built(
        engine,
        f"{proposal.contract}.{proposal.transition}",
        [leg],
        tx_message(chain, proposal.contract, [leg]),
    )


class PrivatePeer:
    """The ``Scenarios`` RPCs of confidential objects (consortium port, every worker)."""

    def __init__(self, *, member_id: str, signing_key: Any, store: Store, data_dir: Path) -> None:
        self._me = member_id
        self._key = signing_key
        self._store = store
        self._private = PrivateStore(data_dir)
        self._approvals = Approvals(data_dir)

    def endorse(self, peer: str, request: Any) -> bytes:
        proposal = Proposal.from_bytes(bytes(request.proposal))
        if proposal.submitter != peer:
            raise PermissionDeniedError("a member proposes its own steps only")
        if int(request.min_height) > self._store.height + 1000:
            raise ContractError("the proposer's ledger is far ahead of this replica")
        _wait_height(self._store, int(request.min_height))
        now = now_ms()
        if abs(proposal.time - now) > _SKEW_MS:
            raise ContractError("the proposal's time is too far from this member's clock")
        if self._me not in proposal.endorsers:
            raise PermissionDeniedError(f"{self._me} is not asked to endorse this step")
        engine = _engine(proposal.contract)
        machine = _confidential(engine, proposal.type)
        state = self._store.state()
        mine = self._private.latest(proposal.hid) if proposal.version > 1 else None
        if proposal.version > 1 and mine is None:
            raise ContractError(f"{self._me} holds no committed private state of this object")
        record = check_proposal(engine, state, machine, mine, proposal)
        t = machine.transitions[proposal.transition]
        consents = {
            m
            for role in t.required_signers
            if (found := record.obj.party_set(role)) is not None
            for m in found.members
        }
        if self._me in consents:
            self._approvals.require(
                self._me, _approval_built(engine, chain_of(state), proposal), now
            )
        self._private.put(record, committed=False, now_ms=now)
        return endorse(self._key, chain_of(state), proposal)

    def deliver(self, peer: str, request: Any) -> None:
        record = PrivateRecord.from_bytes(bytes(request.record))
        if int(request.height) > self._store.height + 1000:
            raise ContractError("the sender's ledger is far ahead of this replica")
        _wait_height(self._store, int(request.height))
        state = self._store.state()
        row = private_row(state, record.contract, record.hid)
        if row is None or not row.may_hold(peer) or not row.may_hold(self._me):
            raise PermissionDeniedError("neither a party nor an observer of this object")
        verify_record(state, record)
        self._private.put(record, committed=True, now_ms=now_ms())

    def fetch(self, peer: str, request: Any) -> bytes:
        state = self._store.state()
        row = private_row(state, request.contract, bytes(request.hid))
        if row is None or not row.may_hold(peer):
            raise PermissionDeniedError("neither a party nor an observer of this object")
        record = self._private.get(bytes(request.hid), int(request.version))
        if record is None:
            raise UnavailableError(f"{self._me} does not hold version {request.version}")
        return record.to_bytes()


class PrivateAdmin:
    """The ``ScenarioAdmin`` RPCs of confidential objects (the supervisor)."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._private = PrivateStore(node.config.member.data_dir)
        self._approvals = Approvals(node.config.member.data_dir)

    @property
    def _store(self) -> Store:
        return self._node.store

    @property
    def _peers(self) -> PeerChannels:
        return self._node.peers

    def approval(self, kind: str, object_id: str, payload_bytes: bytes) -> Built | None:
        """The transaction an operator approves when ``kind`` is a confidential step
        (built on the version this member holds), else None."""
        contract, _, name = kind.partition(".")
        engine = _engine(contract)
        machine = engine.machine_of(name)
        if machine.confidential is None:
            return None
        before = self._private.find(contract, machine.type, object_id)
        leg = Leg(
            machine.type,
            object_id,
            0 if before is None else before.version,
            name,
            decode_payload(payload_bytes),
        )
        chain = chain_of(self._store.state())
        return Built(engine, kind, [leg], tx_message(chain, contract, [leg]))

    def step(
        self, kind: str, object_id: str, payload_bytes: bytes
    ) -> tuple[PrivateRecord, int, bytes, list[str]]:
        """Propose, collect endorsements, commit and deliver one confidential step: the
        new record, its block's height, the transaction id and the endorsers."""
        node = self._node
        contract, _, name = kind.partition(".")
        engine = _engine(contract)
        machine = engine.machine_of(name)
        _confidential(engine, machine.type)
        head = node.submitter.link.head_height(timeout=_PEER_TIMEOUT_S)
        _wait_height(self._store, head)
        state = self._store.state()
        payload = decode_payload(payload_bytes)
        before = self._private.find(contract, machine.type, object_id)
        if before is not None:
            row = private_row(state, contract, before.hid)
            if row is None or row.version != before.version:
                raise ContractError(
                    "this member's private state of the object is behind the ledger; run sync"
                )
            endorsers = row.party.members
            policy = row.party
        else:
            # A creation: its parties are what the step names, learnt by running it.
            _, dry = self._propose(engine, state, machine, None, object_id, name, payload, ())
            from scenarios.kit import party_set_of

            assert machine.confidential is not None
            endorsers = party_set_of(dry.obj, machine.confidential)[0].members
            # Becoming a party is every party's own decision: all of them endorse.
            policy = PartySet.equal(endorsers)
        proposal, record = self._propose(
            engine, state, machine, before, object_id, name, payload, tuple(endorsers)
        )
        signatures, refusals = self._endorsements(proposal, endorsers)
        complete = policy.reached(signatures)
        if complete:
            try:
                # The transition's own signers, among those who endorsed.
                self._propose(
                    engine, state, machine, before, object_id, name, payload, tuple(signatures)
                )
            except ContractError:
                complete = False
        if not complete:
            raise (refusals[0] if refusals else ContractError("the step was not endorsed"))
        body = private_body(machine, record, signatures)
        committed = node.submitter.submit(f"{contract}.private", body, wait=True)
        if not committed.accepted or (committed.height is not None and not committed.ok):
            raise ContractError(committed.reason or "the confidential step was refused")
        if committed.height is None:
            raise DeadlineError("the step is queued but not yet in a block")
        _wait_height(self._store, committed.height)
        self._private.put(record, committed=True, now_ms=now_ms())
        self._deliver(record, committed.height)
        return record, committed.height, committed.tx_id, sorted(signatures)

    def _propose(
        self,
        engine: Engine,
        state: State,
        machine: Machine,
        before: PrivateRecord | None,
        object_id: str,
        name: str,
        payload: dict[str, Any],
        endorsers: tuple[str, ...],
    ) -> tuple[Proposal, PrivateRecord]:
        now = now_ms()
        return propose(
            engine,
            state,
            machine,
            before,
            submitter=self._node.member_id,
            object_id=object_id,
            transition=name,
            payload=payload,
            endorsers=endorsers,
            time=now,
            height=self._store.height + 1,
            key=before.key if before is not None else os.urandom(32),
            salt=os.urandom(32),
        )

    def _endorsements(
        self, proposal: Proposal, endorsers: tuple[str, ...]
    ) -> tuple[dict[str, bytes], list[Exception]]:
        node = self._node
        signatures = {
            node.member_id: endorse(
                node.credentials.signing_key, chain_of(self._store.state()), proposal
            )
        }
        refusals: list[Exception] = []
        for member in endorsers:
            if member == node.member_id:
                continue
            ask = scenarios_pb2.EndorseRequest(
                proposal=proposal.to_bytes(), min_height=max(0, self._store.height)
            )
            try:
                stub = _stub(self._peers, member)
                reply = stub.Endorse(ask, timeout=_PARTY_TIMEOUT_S, wait_for_ready=True)
                signatures[member] = bytes(reply.signature)
            except grpc.RpcError as exc:
                refusals.append(error_from_rpc(exc, member))
        return signatures, refusals

    def _deliver(self, record: PrivateRecord, height: int) -> None:
        row = private_row(self._store.state(), record.contract, record.hid)
        assert row is not None
        for member in [*row.party.members, *row.observers]:
            if member == self._node.member_id:
                continue
            delivery = scenarios_pb2.PrivateDelivery(record=record.to_bytes(), height=height)
            try:
                _stub(self._peers, member).DeliverPrivate(
                    delivery, timeout=_PARTY_TIMEOUT_S, wait_for_ready=True
                )
            except grpc.RpcError as exc:
                # A member down now fetches it later (SyncPrivate); logged without content.
                log_event(
                    _log,
                    "private_delivery_failed",
                    logging.WARNING,
                    member=member,
                    version=record.version,
                    code=exc.code().name,
                )

    def resolve(self, hid: bytes, version: int) -> tuple[str, str, str] | None:
        """A confidential object's type, id and state at ``version``, if this member
        holds it (the state is left empty when it holds only another version)."""
        record = self._private.get(hid, version)
        if record is not None:
            return record.obj.type, record.obj.id, record.obj.state
        latest = self._private.latest(hid)
        return None if latest is None else (latest.obj.type, latest.obj.id, "")

    def state_response(self, contract: str, object_id: str) -> Any:
        """A confidential object as this member holds it, missed versions fetched first."""
        engine = _engine(contract)
        self.sync(contract)
        state = self._store.state()
        for machine in engine.machines.values():
            if machine.confidential is None:
                continue
            record = self._private.find(contract, machine.type, object_id)
            if record is None:
                continue
            row = private_row(state, contract, record.hid)
            return scenarios_pb2.PrivateStateResponse(
                object=object_bytes(record),
                hid=record.hid,
                version=record.version,
                ledger_version=0 if row is None else row.version,
            )
        raise ContractError(f"this member holds no confidential {contract} object {object_id!r}")

    def sync(self, contract: str) -> tuple[int, list[str]]:
        """Fetch every committed version this member should hold and lacks."""
        me = self._node.member_id
        state = self._store.state()
        fetched, missing = 0, []
        for row in private_rows(state, contract):
            if not row.may_hold(me) or self._private.purged(row.hid):
                continue
            if self._private.get(row.hid, row.version) is not None:
                continue
            record = self._fetch(contract, row)
            if record is None:
                missing.append(row.hid.hex())
                continue
            self._private.put(record, committed=True, now_ms=now_ms())
            fetched += 1
        return fetched, missing

    def _fetch(self, contract: str, row: PrivateRow) -> PrivateRecord | None:
        me = self._node.member_id
        for member in [*row.party.members, *row.observers]:
            if member == me:
                continue
            ask = scenarios_pb2.PrivateFetch(contract=contract, hid=row.hid, version=row.version)
            try:
                reply = _stub(self._peers, member).FetchPrivate(
                    ask, timeout=_PARTY_TIMEOUT_S, wait_for_ready=True
                )
                record = PrivateRecord.from_bytes(bytes(reply.record))
                verify_record(self._store.state(), record)
            except (grpc.RpcError, ContractError) as exc:
                log_event(
                    _log,
                    "private_fetch_failed",
                    logging.WARNING,
                    member=member,
                    version=row.version,
                    error=type(exc).__name__,
                )
                continue
            return record
        return None

    def purge(self, contract: str, now_ms: int) -> int:
        """Delete what this member keeps past the scenario's retention."""
        engine = _engine(contract)
        state = self._store.state()
        purged = 0
        for row in private_rows(state, contract):
            record = self._private.latest(row.hid)
            if record is None:
                continue
            machine = _confidential(engine, record.obj.type)
            assert machine.confidential is not None
            if row.at + machine.confidential.retention_days * MS_PER_DAY <= now_ms:
                self._approvals.forget(contract, record.obj.id)
                purged += self._private.purge(row.hid, now_ms)
        return purged


def _stub(peers: PeerChannels, member: str) -> Any:
    from gateway._scenarios import scenarios_stub

    return scenarios_stub(peers.channel(member))


def object_bytes(record: PrivateRecord) -> bytes:
    from gateway._scenarios import OBJECT_DOMAIN

    return encode(OBJECT_DOMAIN, 1, record.obj.to_row())
