"""Closing the peers' channels cancels what is waiting on them, and opens no more.

A gateway stopping while its snapshot thread waits for a peer that has just gone away
(``wait_for_ready`` up to a long deadline) used to hold its shutdown for the thread's
join timeout: ``Node.stop`` now closes the peers' channels before joining its threads.
"""

from __future__ import annotations

import threading
from typing import Any

import grpc
import pytest

from gateway import UnavailableError
from gateway._localnet import free_ports
from gateway._pb.riskshare.psi.v1 import psi_pb2
from gateway._peers import PeerChannels
from gateway._stubs import psi_stub
from ledger import MEMBERS, MemoryState
from tests.gateway.conftest import Consortium


class _Replica:
    """The one method PeerChannels reads a replica through."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def state(self) -> MemoryState:
        return self._state


def test_close_cancels_a_call_waiting_for_a_peer_and_opens_no_more(
    consortium: Consortium,
) -> None:
    state = consortium.state()
    row: Any = state.get(MEMBERS, "bank-b")
    row = dict(row)
    row["address"] = f"127.0.0.1:{free_ports(1)[0]}"  # nobody listens there
    state.put(MEMBERS, "bank-b", row)
    peers = PeerChannels(consortium.credentials("bank-a"), _Replica(state))  # type: ignore[arg-type]
    stub = psi_stub(peers.channel("bank-b"))
    outcome: list[BaseException] = []
    started = threading.Event()

    def wait_for_peer() -> None:
        started.set()
        try:
            stub.GetCommitment(
                psi_pb2.GetCommitmentRequest(list_type="transaction_fraud"),
                timeout=120,
                wait_for_ready=True,
            )
        except BaseException as exc:
            outcome.append(exc)

    caller = threading.Thread(target=wait_for_peer, daemon=True)
    caller.start()
    started.wait()
    peers.close()
    caller.join(timeout=60)
    assert not caller.is_alive()
    (error,) = outcome
    # Cancelled by close(), not run out by its two-minute deadline (or, had close() come
    # before the call started, refused on the closed channel).
    cancelled = isinstance(error, grpc.RpcError) and error.code() is grpc.StatusCode.CANCELLED
    assert cancelled or (isinstance(error, ValueError) and "closed channel" in str(error))
    with pytest.raises(UnavailableError, match="stopping"):
        peers.channel("bank-b")
