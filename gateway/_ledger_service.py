"""The ``riskshare.ledger.v1.Ledger`` service over a replica's store.

Every gateway serves the read side (head, blocks, checkpoints) from its own replica, so
a member can catch up from any peer, not only from the orderer; each receiver verifies
every block itself. The gateway that hosts the orderer also accepts transactions and
checkpoint signatures. Streams that ``follow`` wait for new blocks by polling the
store, because the writer may be another process on the same SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gateway._errors import PermissionDeniedError, UnavailableError
from gateway._interceptors import current_peer
from gateway._pb.riskshare.ledger.v1 import ledger_pb2, ledger_pb2_grpc
from ledger import Checkpoint, ContractError, Orderer, Replica, Store, decode_checkpoint

__all__ = ["LedgerService"]

_BATCH = 256
_WINDOW = 64
# Heights are uint64 on the wire but signed 64-bit in SQLite; anything above names no
# block anyway, so requests are clamped here rather than overflow in the store.
_MAX_HEIGHT = (1 << 63) - 1


def _height(value: int) -> int:
    return min(int(value), _MAX_HEIGHT)


class LedgerService(ledger_pb2_grpc.LedgerServicer):
    def __init__(
        self,
        store: Store,
        *,
        orderer: Orderer | None = None,
        replica: Replica | None = None,
        poll_seconds: float = 0.05,
        submit_timeout: float = 30.0,
    ) -> None:
        self._store = store
        self._orderer = orderer
        self._replica = replica
        self._poll = poll_seconds
        self._submit_timeout = submit_timeout
        self._closing = False

    def close(self) -> None:
        """Make following streams end before the store they read is closed."""
        self._closing = True

    def _active(self, context: Any) -> bool:
        return not self._closing and bool(context.is_active())

    def _wait(self, height: int | None) -> None:
        """Sleep until a block at ``height`` (default: the next) exists, or a poll passes."""
        try:
            target = self._store.height + 1 if height is None else height
            self._store.wait_for_height(target, self._poll)
        except Exception:
            if not self._closing:  # the store closed under a following stream: just end
                raise

    def GetHead(self, request: Any, context: Any) -> Any:
        head = self._store.head()
        if head is None:
            return ledger_pb2.Head()
        return ledger_pb2.Head(height=head.height, hash=head.hash, state_digest=head.state_digest)

    def StreamBlocks(self, request: Any, context: Any) -> Iterator[Any]:
        height = _height(request.from_height)
        while self._active(context):
            sent = 0
            for raw in self._store.blocks_from(height):
                yield ledger_pb2.BlockMessage(height=height, block=raw)
                height += 1
                sent += 1
                if sent >= _BATCH:
                    break
            if sent:
                continue
            if not request.follow:
                return
            self._wait(height)

    def SubmitTransaction(self, request: Any, context: Any) -> Any:
        if self._orderer is None:
            raise PermissionDeniedError("this gateway does not order transactions")
        sub = self._orderer.submit(bytes(request.transaction))
        if not sub.accepted:
            # The code travels as the status' reason (gateway._status): the submitter acts
            # on it, never on the text.
            raise ContractError(sub.reason, sub.code or "refused")
        if sub.height is not None:
            return ledger_pb2.SubmitResponse(tx_id=sub.tx_id, height=sub.height, committed=True)
        if not request.wait:
            return ledger_pb2.SubmitResponse(tx_id=sub.tx_id)
        remaining = context.time_remaining()
        timeout = (
            self._submit_timeout if remaining is None else min(remaining, self._submit_timeout)
        )
        try:
            commit = self._orderer.wait(sub.tx_id, timeout)
        except Exception as exc:
            raise UnavailableError(f"not committed in time: {type(exc).__name__}") from None
        if commit.height is None:
            raise ContractError(commit.reason or "dropped before any block")
        return ledger_pb2.SubmitResponse(
            tx_id=commit.tx_id, height=commit.height, committed=commit.ok, reason=commit.reason
        )

    def SubmitCheckpoint(self, request: Any, context: Any) -> Any:
        if self._replica is None:
            raise PermissionDeniedError("this gateway does not collect checkpoints")
        checkpoint = decode_checkpoint(bytes(request.encoded))
        if checkpoint.member != current_peer().id:
            raise PermissionDeniedError("a member may only submit its own checkpoints")
        self._replica.add_checkpoint(checkpoint)
        height = _height(request.height)
        signers = self._replica.signers(height) if height else []
        return ledger_pb2.CheckpointAck(
            signatures=len(signers), final=self._replica.final_height() >= height
        )

    def StreamCheckpoints(self, request: Any, context: Any) -> Iterator[Any]:
        height = _height(request.from_height)
        sent: set[tuple[int, str]] = set()
        while self._active(context):
            progressed = False
            for h in self._store.checkpointed_heights(height):
                info = self._store.block_info(h)
                if info is None:
                    continue
                for member, header_hash, signature in self._store.checkpoints(h):
                    if (h, member) in sent or header_hash != info.hash:
                        continue
                    sent.add((h, member))
                    progressed = True
                    cp = Checkpoint(info.header, info.signature, member, signature)
                    yield ledger_pb2.Checkpoint(
                        height=h,
                        header_hash=header_hash,
                        member_id=member,
                        signature=signature,
                        encoded=cp.encode(),
                    )
            if not request.follow:
                return
            # Late checkpoints for old heights are rare; rescan a window behind the
            # head and forget what fell out of it, so a long stream stays small.
            height = max(height, self._store.height - _WINDOW)
            sent = {item for item in sent if item[0] >= height}
            if not progressed:
                self._wait(None)
