"""Signing this member's transactions and handing them to the orderer.

A transaction's sequence number must exceed the member's last committed one (the
ledger's replay guard), and the orderer checks it against its pending block too, so
one member's transactions must be signed in the order they are submitted. One
:class:`TxSubmitter` per process signs and submits under a lock; its numbers are
``max(last on the ledger + 1, last used here + 1, now in microseconds)``, persisted in
``gateway.sqlite``, so a restart, or another tool of the same member signing later,
keeps them increasing.

The orderer is reached either in-process (this gateway hosts it) or over the mutual-TLS
``Ledger`` service; both give the same :class:`Committed` answer.

Blocks come from the orderer too, and when it cannot be reached, from peers: every
gateway of role ``member`` serves the read side of ``Ledger`` (head, blocks,
checkpoints) on its consortium port, from its own replica. :func:`peer_block_sources`
names them, from the ledger's member registry. A peer can forge nothing: each block
is proposer-signed and replayed before it is applied (:class:`ledger.Replica`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway._errors import DeadlineError, GatewayError
from gateway._localstate import LocalState
from gateway._pb.riskshare.ledger.v1 import ledger_pb2
from gateway._peers import PeerChannels
from gateway._status import error_from_rpc
from gateway._stubs import ledger_stub
from ledger import (
    SEQ_TABLE,
    LedgerError,
    Orderer,
    Store,
    active_members,
    now_ms,
    sign_transaction,
)

__all__ = [
    "Committed",
    "LocalOrderer",
    "OrdererLink",
    "RemoteOrderer",
    "TxSubmitter",
    "peer_block_sources",
]


@dataclass(frozen=True, slots=True)
class Committed:
    """The outcome of one submission.

    ``accepted`` False: refused before any block (``reason`` says why). Accepted with
    ``height`` None: queued, not in a block yet. With ``height``: in that block, and
    ``ok`` says whether it applied (``reason`` when it did not).
    """

    tx_id: bytes
    accepted: bool
    height: int | None = None
    ok: bool = False
    reason: str = ""
    code: str = ""  # why it was refused before any block, for programs (ledger.REFUSAL_CODES)


class OrdererLink(Protocol):
    def submit(self, raw: bytes, *, wait: bool, timeout: float) -> Committed: ...

    def head_height(self, *, timeout: float) -> int:
        """The height of the last block the orderer has committed (``-1``: none)."""
        ...


class LocalOrderer:
    """The orderer of this very process."""

    def __init__(self, orderer: Orderer) -> None:
        self.orderer = orderer

    def submit(self, raw: bytes, *, wait: bool, timeout: float) -> Committed:
        sub = self.orderer.submit(raw)
        if not sub.accepted:
            return Committed(sub.tx_id, False, reason=sub.reason, code=sub.code)
        if sub.height is not None:
            return Committed(sub.tx_id, True, sub.height, True)
        if not wait:
            return Committed(sub.tx_id, True)
        try:
            commit = self.orderer.wait(sub.tx_id, timeout)
        except LedgerError as exc:
            raise DeadlineError(str(exc)) from None
        if commit.height is None:
            return Committed(commit.tx_id, False, reason=commit.reason)
        return Committed(commit.tx_id, True, commit.height, commit.ok, commit.reason)

    def head_height(self, *, timeout: float) -> int:
        return self.orderer.store.height


class RemoteOrderer:
    """The orderer's ``Ledger`` service over a mutual-TLS channel."""

    def __init__(self, channel: Any) -> None:
        self._stub = ledger_stub(channel)

    def submit(self, raw: bytes, *, wait: bool, timeout: float) -> Committed:
        try:
            reply = self._stub.SubmitTransaction(
                ledger_pb2.SubmitRequest(transaction=raw, wait=wait),
                timeout=timeout,
                wait_for_ready=True,
            )
        except grpc.RpcError as exc:
            error = error_from_rpc(exc, "the orderer")
            if error.code == "FAILED_PRECONDITION":
                reason = str(error).removeprefix("the orderer refused: ")
                return Committed(b"", False, reason=reason, code=error.reason_code)
            raise error from None
        in_block = reply.committed or bool(reply.reason)
        return Committed(
            bytes(reply.tx_id),
            True,
            reply.height if in_block else None,
            bool(reply.committed),
            reply.reason,
        )

    def head_height(self, *, timeout: float) -> int:
        try:
            head = self._stub.GetHead(
                ledger_pb2.GetHeadRequest(), timeout=timeout, wait_for_ready=True
            )
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, "the orderer") from None
        # An empty head (no genesis yet) has no hash; height 0 with a hash is block 0.
        return int(head.height) if head.hash else -1


class TxSubmitter:
    """Signs this member's transactions in sequence and submits them."""

    def __init__(
        self,
        member_id: str,
        key: Ed25519PrivateKey,
        store: Store,
        local: LocalState,
        link: OrdererLink,
    ) -> None:
        self.member_id = member_id
        self._key = key
        self._store = store
        self._local = local
        self.link = link
        self._lock = threading.Lock()

    def _next_seq(self, now_ms: int) -> int:
        last = self._store.state().get(SEQ_TABLE, self.member_id)
        floor = (last + 1) if isinstance(last, int) else 1
        return self._local.next_counter("tx_seq", max(floor, now_ms * 1000))

    def sign(self, kind: str, body: Mapping[str, Any], now_ms: int) -> bytes:
        chain = self._store.chain_id
        if chain is None:
            raise GatewayError("the local ledger has no genesis block yet")
        stx = sign_transaction(
            self._key,
            chain=chain,
            member=self.member_id,
            kind=kind,
            body=body,
            seq=self._next_seq(now_ms),
            time=now_ms,
        )
        return stx.raw

    def submit(
        self, kind: str, body: Mapping[str, Any], *, wait: bool = True, timeout: float = 15.0
    ) -> Committed:
        """Sign and submit one transaction; with ``wait``, return once it is in a block."""
        with self._lock:
            for _attempt in range(3):
                raw = self.sign(kind, body, now_ms())
                result = self.link.submit(raw, wait=False, timeout=timeout)
                # Another tool signing for this member may have used a higher number in
                # the meantime; sign again above it rather than fail.
                if result.accepted or result.code != "stale_sequence":
                    break
        if not result.accepted or result.height is not None or not wait:
            return result
        # Already queued: submitting the same bytes again only waits for its block.
        return self.link.submit(raw, wait=True, timeout=timeout)


def peer_block_sources(store: Store, peers: PeerChannels, member_id: str) -> list[tuple[str, Any]]:
    """``(member id, channel)`` of the peers a replica may pull blocks from.

    The active members of role ``member`` other than ``member_id`` (only they serve the
    consortium port), at the addresses the replica's own ledger registers, re-read on
    every call so admissions, removals and address changes apply. Ordered as a ring
    starting after ``member_id``: deterministic, and members lean on different peers.
    """
    ids = sorted(m.id for m in active_members(store.state(), "member"))
    ring = [m for m in ids if m > member_id] + [m for m in ids if m < member_id]
    out = []
    for peer in ring:
        try:
            out.append((peer, peers.channel(peer)))
        except GatewayError:
            continue  # removed between the two reads: no longer a source
    return out
