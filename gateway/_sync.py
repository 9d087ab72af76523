"""Keeping the local replica current: follow blocks, co-sign them, collect checkpoints.

A follower streams blocks from the orderer's ``Ledger`` service and, while the orderer
cannot be reached (or serves a block this replica refuses), catches up from peers
(``peers``: every member gateway serves the read side on its consortium port), one
after the other, then goes back to the orderer. Each block, whatever its source, is
verified and committed through :class:`ledger.Replica` — trusting the source for
nothing: a peer's tampered block is refused and the next peer asked, and so is a block
that one of the consortium's proposers (``ledger.proposers``: the ordering service
named in consensus state) did not sign, so a member cannot fork the chain while the
orderer is away by serving a block of its own — and, when this
member votes (role ``member``), a checkpoint over each new head is signed and sent to
the orderer. A second stream brings everyone's checkpoints from the orderer — while it
cannot be reached, a pass over the peers' gateways brings each peer's own — so the
replica knows which heights are final, with or without the orderer, and can detect
equivocation. Equivocation halts the follower for
good, loudly; transport errors only pause it, and so does a block stamped further ahead
of this machine's clock than the consortium's skew (``ledger.FutureBlockError``): it is
refused, logged once, and asked for again until the clock has caught up with it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway._log import log_event
from gateway._pb.riskshare.ledger.v1 import ledger_pb2
from gateway._stubs import ledger_stub
from ledger import (
    EquivocationError,
    FutureBlockError,
    LedgerError,
    Replica,
    decode_checkpoint,
    get_member,
)

__all__ = ["LedgerFollower"]

_log = logging.getLogger("riskshare.gateway.sync")


class _Pull(Protocol):
    """Apply what ``source`` streams; False if it could not be reached (or, for blocks,
    sent one this replica refused)."""

    def __call__(self, stub: Any, source: str, *, follow: bool) -> bool: ...


class LedgerFollower:
    def __init__(
        self,
        replica: Replica,
        channel: Any,
        member_id: str,
        key: Ed25519PrivateKey,
        *,
        on_block: Callable[[int], None] | None = None,
        retry_seconds: float = 0.5,
        peers: Callable[[], list[tuple[str, Any]]] | None = None,
    ) -> None:
        self.replica = replica
        self._stub = ledger_stub(channel)
        self._peers = peers  # () -> [(member id, channel)], asked afresh each time
        self._unreachable: set[str] = set()
        self.member_id = member_id
        self._key = key
        self._on_block = on_block
        self._retry = retry_seconds
        self._stop = threading.Event()
        self._calls: list[Any] = []
        self._threads: list[threading.Thread] = []
        self.halted: str | None = None
        self._lock = threading.Lock()
        # The block from the future last logged (height, time), so that retrying it
        # logs nothing new.
        self._future: tuple[int | None, int] | None = None

    def start(self) -> None:
        self._threads = [
            threading.Thread(target=self._follow_blocks, name="ledger-follow", daemon=True),
            threading.Thread(target=self._follow_checkpoints, name="ledger-cp", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            for call in self._calls:
                call.cancel()
        for thread in self._threads:
            thread.join(timeout=5)

    def _track(self, call: Any) -> Any:
        with self._lock:
            self._calls = [c for c in self._calls if c.is_active()] + [call]
        return call

    def _votes(self) -> bool:
        member = get_member(self.replica.store.state(), self.member_id)
        return member is not None and member.active and member.role == "member"

    def _halt(self, exc: EquivocationError) -> None:
        self.halted = str(exc)
        _log.critical(
            "equivocation: replica halted",
            extra={"detail": str(exc)[:200], "member": self.member_id},
        )
        self._stop.set()

    def _follow_blocks(self) -> None:
        self._from_orderer_or_peers(self._pull, self._retry)

    def _follow_checkpoints(self) -> None:
        self._from_orderer_or_peers(self._collect, self._retry * 4)

    def _from_orderer_or_peers(self, pull: _Pull, pause: float) -> None:
        """Follow the orderer's stream with ``pull`` for as long as it lasts; while the
        orderer cannot be reached, make one pass over the peers, each from where the
        previous left (blocks: as far as the furthest reachable, honest peer;
        checkpoints: every voter holds its own, so heights already cut become final
        without the orderer); then try the orderer again."""
        while not self._stop.is_set():
            if not pull(self._stub, "orderer", follow=True) and self._peers is not None:
                for peer, channel in self._peers():
                    if self._stop.is_set():
                        return
                    pull(ledger_stub(channel), peer, follow=False)
            self._stop.wait(pause)

    def _pull(self, stub: Any, source: str, *, follow: bool) -> bool:
        """Apply ``source``'s blocks from our head on; False if it could not be reached
        or sent a block this replica refused (the caller then asks someone else)."""
        store = self.replica.store
        call = None
        try:
            call = self._track(
                stub.StreamBlocks(
                    ledger_pb2.StreamBlocksRequest(from_height=store.height + 1, follow=follow),
                    # Not waiting for the source to come up: an unreachable one fails
                    # at once, so the next can be asked.
                    wait_for_ready=False,
                )
            )
            for message in call:
                applied = self.replica.apply(bytes(message.block))
                if self._on_block is not None:
                    self._on_block(applied.height)
                if self._votes():
                    self._cosign(applied.height, deliver=source == "orderer")
            self._unreachable.discard(source)
            return True
        except EquivocationError as exc:
            self._halt(exc)
            return True
        except grpc.RpcError as exc:
            if self._stop.is_set():
                return True
            code = exc.code()
            # A source that stays down is retried every ``retry_seconds``: say so once.
            if code != grpc.StatusCode.UNAVAILABLE or source not in self._unreachable:
                log_event(
                    _log,
                    "block stream interrupted",
                    logging.WARNING,
                    source=source,
                    code=code.name,
                )
            if code == grpc.StatusCode.UNAVAILABLE:
                self._unreachable.add(source)
        except FutureBlockError as exc:
            # Refused for now, not for good: the next pass asks again.
            if self._future != (exc.height, exc.block_time):
                self._future = (exc.height, exc.block_time)
                log_event(
                    _log,
                    "block from the future",
                    logging.WARNING,
                    source=source,
                    height=exc.height,
                    ahead_ms=exc.ahead_ms,
                    detail=str(exc),
                )
        except LedgerError as exc:
            log_event(
                _log,
                "block refused",
                logging.ERROR,
                source=source,
                error=type(exc).__name__,
                detail=str(exc),
            )
        finally:
            # A stream left behind keeps a server thread of its source busy for
            # good; the next attempt opens a new one from the new head.
            if call is not None:
                call.cancel()
        return False

    def _cosign(self, height: int, *, deliver: bool = True) -> None:
        checkpoint = self.replica.checkpoint(self.member_id, self._key, height)
        if not deliver:
            # Caught up from a peer: the orderer was unreachable a moment ago, and
            # waiting on it per block would stall the catch-up. A later vote makes this
            # height final too (each header commits to its predecessor).
            return
        try:
            self._stub.SubmitCheckpoint(
                ledger_pb2.Checkpoint(
                    height=height, member_id=self.member_id, encoded=checkpoint.encode()
                ),
                timeout=10,
                wait_for_ready=True,
            )
        except grpc.RpcError as exc:
            log_event(_log, "checkpoint not delivered", logging.WARNING, code=exc.code().name)

    def _collect(self, stub: Any, source: str, *, follow: bool) -> bool:
        """Record ``source``'s checkpoints from a window behind our head on; False if it
        could not be reached (the caller then asks the peers)."""
        store = self.replica.store
        try:
            call = self._track(
                stub.StreamCheckpoints(
                    ledger_pb2.StreamCheckpointsRequest(
                        from_height=max(0, store.height - 64), follow=follow
                    ),
                    # An unreachable source fails at once, so the peers can be asked.
                    wait_for_ready=False,
                )
            )
            for message in call:
                if message.member_id == self.member_id:
                    continue
                # A checkpoint may arrive before its block; it is checked again
                # against the block when that is applied.
                try:
                    self.replica.add_checkpoint(decode_checkpoint(bytes(message.encoded)))
                except EquivocationError:
                    raise
                except LedgerError:
                    continue
            return True
        except EquivocationError as exc:
            self._halt(exc)
            return True
        except grpc.RpcError:
            return self._stop.is_set()
