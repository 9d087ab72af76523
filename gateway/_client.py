"""Talking to the member's own running gateway over its admin socket.

The CLI's ``query`` and ``gateway status`` commands are thin wrappers over these
functions; they open the unix socket named by the config, which only the member's own
account can open.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc

from gateway._config import load_config
from gateway._errors import DeadlineError, GatewayError, UnavailableError
from gateway._pb.riskshare.admin.v1 import admin_pb2
from gateway._stubs import admin_stub

__all__ = ["AdminClient", "gateway_status"]


class AdminClient:
    def __init__(self, socket_path: Path, *, timeout: float = 30.0) -> None:
        if not socket_path.exists():
            raise UnavailableError(
                f"no gateway admin socket at {socket_path}; is `riskshare gateway serve` running?"
            )
        self._channel = grpc.insecure_channel(f"unix:{socket_path}")
        self._stub = admin_stub(self._channel)
        self._timeout = timeout

    @classmethod
    def from_config(cls, config_path: Path, *, timeout: float = 30.0) -> AdminClient:
        return cls(load_config(config_path).admin_socket, timeout=timeout)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, request: Any, timeout: float | None = None) -> Any:
        try:
            return getattr(self._stub, method)(request, timeout=timeout or self._timeout)
        except grpc.RpcError as exc:
            code = exc.code()
            if code == grpc.StatusCode.UNAVAILABLE:
                raise UnavailableError("the gateway is not answering on its admin socket") from None
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise DeadlineError("the gateway did not answer in time") from None
            raise GatewayError(f"{code.name}: {exc.details()}") from None

    def status(self) -> Any:
        return self._call("Status", admin_pb2.StatusRequest())

    def query(
        self,
        list_type: str,
        id_type: str,
        values: Sequence[str],
        *,
        members: Sequence[str] = (),
        purpose: str = "",
        deadline_ms: int = 0,
        bucket_mode: bool = False,
    ) -> Any:
        request = admin_pb2.QueryRequest(
            list_type=list_type,
            id_type=id_type,
            values=list(values),
            members=list(members),
            all=not members,
            purpose=purpose,
            deadline_ms=deadline_ms,
            bucket_mode=bucket_mode,
        )
        budget = (deadline_ms or 5000) / 1000 * 4 + 30
        return self._call("Query", request, timeout=budget)

    def sync(self, members: Sequence[str] = ()) -> Any:
        return self._call("SyncSnapshots", admin_pb2.SyncRequest(members=list(members)), 300)

    def reload(self) -> Any:
        return self._call("ReloadIndex", admin_pb2.ReloadRequest())


def _snapshot(row: Any) -> dict[str, Any]:
    return {
        "list_type": row.list_type,
        "epoch": row.epoch,
        "size": row.size,
        "verified": row.verified,
    }


def gateway_status(config_path: Path) -> dict[str, Any]:
    with AdminClient.from_config(config_path) as client:
        reply = client.status()
    return {
        "member_id": reply.member_id,
        "ledger_height": reply.ledger_height,
        "ledger_head": reply.ledger_head.hex(),
        "workers": reply.workers,
        "normaliser_version": reply.normaliser_version,
        "own_lists": [_snapshot(r) for r in reply.own_lists],
        "peers": [
            {
                "member_id": p.member_id,
                "address": p.address,
                "snapshots": [_snapshot(s) for s in p.snapshots],
            }
            for p in reply.peers
        ],
    }
